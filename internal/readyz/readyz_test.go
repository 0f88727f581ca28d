package readyz

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		wantErr bool
	}{
		{"ok", http.StatusOK, "ok", false},
		{"ok with a newline", http.StatusOK, "ok\n", false},
		{"a check failing", http.StatusInternalServerError, "[-]etcd failed: reason withheld\nreadyz check failed", true},
		{"another answer than ok", http.StatusOK, "starting", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/readyz" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			err = Check(context.Background(), cs.Discovery().RESTClient(), 5*time.Second)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Check = %v, want an error: %v", err, tc.wantErr)
			}
		})
	}
}
