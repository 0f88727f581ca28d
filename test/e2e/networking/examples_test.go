package networking

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
)

// The walk-through of docs/networking.md with the manifests of examples/networking: HTTP
// servers on 127.18.0.1:8081 and 127.18.0.2:8081 stand in for the pods (the doc uses
// python3 -m http.server), and requests to the load balancer reach both.
func TestExampleManifests(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	for i := 1; i <= 2; i++ {
		name := fmt.Sprintf("member-%d", i)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.18.0.%d:8081", i))
		g.Expect(err).NotTo(HaveOccurred())
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, name) })}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { srv.Close() })
	}
	dir := filepath.Join("..", "..", "..", "examples", "networking")
	for _, m := range []string{"member-1", "member-2", "member-3"} {
		apply(t, m, filepath.Join(dir, "namespace.yaml"))
	}
	apply(t, "member-1", filepath.Join(dir, "hello-member-1.yaml"))
	apply(t, "member-2", filepath.Join(dir, "hello-member-2.yaml"))
	apply(t, "member-1", filepath.Join(dir, "multiclusterservice.yaml"))

	var url string
	g.Eventually(func(g Gomega) {
		m := &networkingv1alpha1.MultiClusterService{}
		g.Expect(members["member-1"].Get(ctx, client.ObjectKey{Namespace: "demo", Name: "hello"}, m)).To(Succeed())
		g.Expect(m.Status.LoadBalancer.Ingress).To(HaveLen(1))
		url = "http://" + net.JoinHostPort(m.Status.LoadBalancer.Ingress[0].IP, "8080") + "/"
	}, timeout, 200*time.Millisecond).Should(Succeed())
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	g.Eventually(func(g Gomega) {
		got := map[string]int{}
		for i := 0; i < 10; i++ {
			resp, err := hc.Get(url)
			g.Expect(err).NotTo(HaveOccurred())
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got[strings.TrimSpace(string(body))]++
		}
		g.Expect(got).To(Equal(map[string]int{"member-1": 5, "member-2": 5}))
	}, timeout, 200*time.Millisecond).Should(Succeed())
}

// apply creates every object of a manifest file on a member.
func apply(t *testing.T, member, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			t.Fatalf("%s: %v", path, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := members[member].Create(context.Background(), u); err != nil {
			t.Fatalf("%s: creating %s %s on %s: %v", path, u.GetKind(), u.GetName(), member, err)
		}
	}
}
