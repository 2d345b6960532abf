package web

import (
	"net/http"
	"strings"
	"testing"

	"gatehouse"
)

// TestNoRoutePages: a path no route takes is a styled 404 page, and a path
// that is a route for other methods a styled 405 with Allow, on the UI and
// on a link's pages; under /v1.0/ the API keeps its Graph errors.
func TestNoRoutePages(t *testing.T) {
	e := newShareEnv(t)
	l := e.share(e.putFile(e.owner, "", "report.txt", "r"), gatehouse.RoleRead, "ext@partner.test")
	c := e.client()
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
		heading      string
	}{
		{"GET", "/no/such/page", http.StatusNotFound, "", "Page not found"},
		{"GET", "/s/" + l.Token + "/nothing", http.StatusNotFound, "", "Page not found"},
		{"POST", "/files", http.StatusMethodNotAllowed, "GET, HEAD", "This page can't do that"},
		{"DELETE", "/s/" + l.Token + "/passcode", http.StatusMethodNotAllowed, "GET, HEAD, POST", "This page can't do that"},
		{"PUT", "/s/" + l.Token, http.StatusMethodNotAllowed, "GET, HEAD", "This page can't do that"},
	} {
		req, err := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		resp, body := c.do(req)
		if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, "<h1>"+strings.ReplaceAll(tc.heading, "'", "&#39;")+"</h1>") || !strings.Contains(body, `<link rel="stylesheet"`) {
			t.Errorf("%s %s: got %d Allow %q %s, want a styled %d page headed %q with Allow %q\n%s",
				tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), resp.Header.Get("Content-Type"), tc.status, tc.heading, tc.allow, body)
		}
	}
	// The API's own answer to a path that is no route stays Graph's JSON.
	resp, body := c.get("/v1.0/no/such/route")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(body, `"error"`) {
		t.Errorf("/v1.0/ unknown path: got %d %s %s, want the API's JSON error", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}
