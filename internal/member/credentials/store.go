package credentials

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Store is where the agent's hub token lives between renewals: the file a kubeconfig's
// tokenFile names, or a Secret on the member cluster. A renewed token is saved there, so a
// restarted agent starts with it.
type Store interface {
	// Load reads the stored token.
	Load(ctx context.Context) (string, error)
	// Save replaces the stored token.
	Save(ctx context.Context, token string) error
	// String names the store, for logs.
	String() string
}

// FileStore keeps the token in a file, as a kubeconfig's tokenFile: client-go reads the
// file again by itself, so a saved token takes effect without a restart.
type FileStore struct {
	Path string
}

// Load reads the file.
func (s FileStore) Load(_ context.Context) (string, error) {
	data, err := os.ReadFile(s.Path)
	if err != nil {
		return "", fmt.Errorf("reading the hub token: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

// Save writes the file atomically (a reader never sees half a token), mode 0600.
func (s FileStore) Save(_ context.Context, token string) error {
	tmp, err := os.CreateTemp(filepath.Dir(s.Path), "."+filepath.Base(s.Path)+".*")
	if err != nil {
		return fmt.Errorf("saving the hub token: %w", err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename; only a failed write leaves it
	if _, err := tmp.WriteString(token); err != nil {
		tmp.Close() //nolint:errcheck,gosec // the write error is the one to report
		return fmt.Errorf("saving the hub token: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close() //nolint:errcheck,gosec // the chmod error is the one to report
		return fmt.Errorf("saving the hub token: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving the hub token: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.Path); err != nil {
		return fmt.Errorf("saving the hub token: %w", err)
	}
	return nil
}

func (s FileStore) String() string { return "file " + s.Path }

// Keys of the hub credentials Secret that `flotilla member join` writes on the member.
const (
	SecretServerKey = "server"
	SecretCAKey     = "ca.crt"
	SecretTokenKey  = "token"
)

// SecretStore keeps the token in the hub credentials Secret on the member cluster. It also
// holds the token in memory for the agent's hub client (see Transport): a Secret is not a
// file that client-go reads again.
type SecretStore struct {
	Member    kubernetes.Interface
	Namespace string
	Name      string

	mu      sync.RWMutex
	current string
}

// Load reads the Secret and makes its token the one the hub client sends.
func (s *SecretStore) Load(ctx context.Context) (string, error) {
	data, err := s.load(ctx)
	if err != nil {
		return "", err
	}
	return string(data[SecretTokenKey]), nil
}

// load reads the whole Secret (the hub address and CA too), and takes its token.
func (s *SecretStore) load(ctx context.Context) (map[string][]byte, error) {
	secret, err := s.Member.CoreV1().Secrets(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the hub credentials Secret %s/%s on the member: %w", s.Namespace, s.Name, err)
	}
	token := strings.TrimSpace(string(secret.Data[SecretTokenKey]))
	if token == "" {
		return nil, fmt.Errorf("the hub credentials Secret %s/%s has no %q key: run `flotilla member join` again to issue one", s.Namespace, s.Name, SecretTokenKey)
	}
	s.set(token)
	secret.Data[SecretTokenKey] = []byte(token)
	return secret.Data, nil
}

// Save writes the token into the Secret, then sends it from now on.
func (s *SecretStore) Save(ctx context.Context, token string) error {
	secret, err := s.Member.CoreV1().Secrets(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("saving the hub token: %w", err)
	}
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	secret.Data[SecretTokenKey] = []byte(token)
	if _, err := s.Member.CoreV1().Secrets(s.Namespace).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("saving the hub token in Secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	s.set(token)
	return nil
}

func (s *SecretStore) String() string {
	return "Secret " + s.Namespace + "/" + s.Name + " on the member"
}

func (s *SecretStore) set(token string) {
	s.mu.Lock()
	s.current = token
	s.mu.Unlock()
}

// Token is the token the hub client sends now.
func (s *SecretStore) Token() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.current
}
