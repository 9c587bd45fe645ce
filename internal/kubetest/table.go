package kubetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// Table lists the resources at path (such as
// "/apis/rackboot.io/v1alpha1/namespaces/ns/machines") as cluster admin,
// asking for the server-side table that kubectl get prints. It fails t
// when the API server does not answer one.
func (cp *ControlPlane) Table(t testing.TB, path string) metav1.Table {
	t.Helper()
	hc, err := rest.HTTPClientFor(cp.Admin)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, cp.Server+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	var table metav1.Table
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	if err == nil {
		err = json.Unmarshal(body, &table)
	}
	if err != nil {
		t.Fatalf("GET %s as a Table: %v\n%s", path, err, body)
	}
	return table
}
