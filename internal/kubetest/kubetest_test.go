package kubetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestStart(t *testing.T) {
	cp := Start(t, Options{})
	ctx := context.Background()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)

	v, err := admin.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != Version {
		t.Errorf("server version = %s, want %s", v.GitVersion, Version)
	}
	if !strings.HasPrefix(cp.Server, "https://127.0.0.1:") {
		t.Errorf("server = %s, want loopback", cp.Server)
	}
	r, err := admin.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := r.Status.UserInfo; u.Username != "admin" || !slices.Contains(u.Groups, "system:masters") {
		t.Errorf("admin identity = %s %v, want admin in system:masters", u.Username, u.Groups)
	}

	stranger := rest.CopyConfig(cp.Admin)
	stranger.BearerToken = "not-a-token"
	_, err = kubernetes.NewForConfigOrDie(stranger).CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("listing namespaces with a wrong token = %v, want 401", err)
	}
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	p := &process{log: dir + "/x.log"}
	tests := []struct {
		name, content string
		n             int
		want          string
	}{
		{name: "short", content: "a\nb\n", n: 3, want: "a\nb"},
		{name: "exact", content: "a\nb\nc\n", n: 3, want: "a\nb\nc"},
		{name: "long", content: "a\nb\nc\nd\n", n: 2, want: "c\nd"},
		{name: "no final newline", content: "a\nb\nc", n: 1, want: "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := writeFiles(dir, map[string][]byte{"x.log": []byte(tt.content)}); err != nil {
				t.Fatal(err)
			}
			if got := p.tail(tt.n); got != tt.want {
				t.Errorf("tail(%q, %d) = %q, want %q", tt.content, tt.n, got, tt.want)
			}
		})
	}
}

// TestStartReportsExit starts an API server with a flag it does not know:
// the error must say which component died and show its log.
func TestStartReportsExit(t *testing.T) {
	bin, err := binDir()
	if errors.Is(err, errSkip) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	cp := &ControlPlane{Dir: t.TempDir()}
	defer cp.stop(t)

	err = cp.start(bin, Options{APIServerArgs: []string{"--no-such-flag"}})
	if err == nil || !strings.Contains(err.Error(), "kube-apiserver exited") ||
		!strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("start with a bad API server flag = %v, want kube-apiserver's exit and log", err)
	}
}
