package web

import (
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"sigs.k8s.io/yaml"
)

// paramPattern matches a path parameter of a route or a document.
var paramPattern = regexp.MustCompile(`\{[^}]*\}`)

// apiRouteSet returns "METHOD /path" of every API route the server
// registers, parameters written "{}", the callback included.
func apiRouteSet(t *testing.T) map[string]bool {
	t.Helper()
	r := chi.NewRouter()
	newEnv(t).srv.apiRoutes(r)
	r.Post("/api/v1/machines/{mac}/callback", http.NotFound)
	out := map[string]bool{}
	err := chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.TrimSuffix(route, "/")
		out[method+" "+paramPattern.ReplaceAllString(route, "{}")] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// adminOnly are the /api/v1/ routes the admin listener serves itself,
// outside apiRoutes.
var adminOnly = map[string]bool{"GET /api/v1/session": true, "GET /api/v1/status": true}

// TestOpenAPIDocumentsEveryRoute checks docs/openapi.yaml against the
// routes: each route is documented, and each documented /api/ route
// exists.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	raw, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			if method == "parameters" || method == "servers" {
				continue
			}
			documented[strings.ToUpper(method)+" "+paramPattern.ReplaceAllString(path, "{}")] = true
		}
	}
	routes := apiRouteSet(t)
	for _, r := range sortedKeys(routes) {
		if !documented[r] {
			t.Errorf("route %s is not in docs/openapi.yaml", r)
		}
	}
	for _, d := range sortedKeys(documented) {
		if strings.Contains(d, " /api/v1/") && !adminOnly[d] && !routes[d] {
			t.Errorf("docs/openapi.yaml documents %s, which the server does not serve", d)
		}
	}
}

// TestAPIDocMentionsEveryRoute checks that docs/api.md names every route.
func TestAPIDocMentionsEveryRoute(t *testing.T) {
	raw, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	text := paramPattern.ReplaceAllString(string(raw), "{}")
	for _, r := range sortedKeys(apiRouteSet(t)) {
		method, path, _ := strings.Cut(r, " ")
		mention := regexp.MustCompile(method + " " + regexp.QuoteMeta(path) + "[`?) ]")
		if !mention.MatchString(text) {
			t.Errorf("docs/api.md does not mention %s", r)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
