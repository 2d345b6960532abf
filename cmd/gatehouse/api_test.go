package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/testenv"
)

// apiClient calls the API as one user.
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

// do sends a request and returns the status and body; body may be a string,
// []byte, io.Reader or a value to encode as JSON.
func (c *apiClient) do(method, path string, body any, hdr ...string) (int, http.Header, []byte) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// json sends a request, checks the status and decodes the answer.
func (c *apiClient) json(method, path string, body any, want int) map[string]any {
	c.t.Helper()
	got, _, out := c.do(method, path, body)
	if got != want {
		c.t.Fatalf("%s %s: got status %d, want %d: %s", method, path, got, want, out)
	}
	var m map[string]any
	if len(out) > 0 {
		if err := json.Unmarshal(out, &m); err != nil {
			c.t.Fatalf("%s %s: answer is not JSON: %s", method, path, out)
		}
	}
	return m
}

// errorCode checks a Graph error answer and returns its code.
func (c *apiClient) errorCode(method, path string, body any, want int) string {
	c.t.Helper()
	m := c.json(method, path, body, want)
	e, ok := m["error"].(map[string]any)
	if !ok || e["message"] == "" {
		c.t.Fatalf("%s %s: no Graph error in %v", method, path, m)
	}
	return e["code"].(string)
}

func TestAPI(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startServer(t, b, func(c *Config) { c.MaxUpload = 1 << 20 })
			admin := s.addUser("ada@example.com", "Ada Admin", "correct horse battery", true)
			bob := s.addUser("bob@example.com", "Bob Member", "correct horse battery", false)
			a := &apiClient{t: t, base: s.URL, token: s.token(admin)}
			bc := &apiClient{t: t, base: s.URL, token: s.token(bob)}
			anon := &apiClient{t: t, base: s.URL}

			if got, _, _ := anon.do("GET", "/healthz", nil); got != 200 {
				t.Fatalf("healthz: got %d", got)
			}
			if code := anon.errorCode("GET", "/v1.0/me", nil, 401); code != "unauthenticated" {
				t.Errorf("no token: code %q", code)
			}
			anon.token = "gh_forged"
			anon.errorCode("GET", "/v1.0/me", nil, 401)

			me := a.json("GET", "/v1.0/me", nil, 200)
			for k, want := range map[string]string{"displayName": "Ada Admin", "mail": "ada@example.com", "userPrincipalName": "ada@example.com", "userType": "Member", "id": admin.ID} {
				if me[k] != want {
					t.Errorf("me.%s = %v, want %q", k, me[k], want)
				}
			}
			drive := a.json("GET", "/v1.0/me/drive", nil, 200)
			d := drive["id"].(string)
			root := a.json("GET", "/v1.0/me/drive/root", nil, 200)
			rootID := root["id"].(string)
			if root["root"] == nil || root["folder"] == nil {
				t.Errorf("root lacks root/folder facets: %v", root)
			}
			items := "/v1.0/drives/" + d + "/items/"

			// Folders.
			docs := a.json("POST", items+rootID+"/children", map[string]any{"name": "Docs", "folder": map[string]any{}}, 201)
			docsID := docs["id"].(string)
			if code := a.errorCode("POST", items+rootID+"/children", map[string]any{"name": "docs", "folder": map[string]any{}}, 409); code != "nameAlreadyExists" {
				t.Errorf("duplicate folder: code %q", code)
			}
			for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "a:b", "a*b", "a?b", `a"b`, "a<b", "a>b", "a|b", "a\x01b", strings.Repeat("x", 256)} {
				if code := a.errorCode("POST", items+rootID+"/children", map[string]any{"name": bad, "folder": map[string]any{}}, 400); code != "invalidRequest" {
					t.Errorf("name %q: code %q", bad, code)
				}
			}
			a.errorCode("POST", items+rootID+"/children", `{"name": "x", "folder": {}, "bogus": 1}`, 400)
			a.errorCode("POST", items+rootID+"/children", `{"name": `, 400)

			// Upload, replace, download.
			content := bytes.Repeat([]byte("gatehouse "), 1000)
			up := a.json("PUT", items+docsID+":/report.txt:/content", content, 201)
			fileID := up["id"].(string)
			if up["size"].(float64) != float64(len(content)) {
				t.Errorf("size = %v, want %d", up["size"], len(content))
			}
			hashes := up["file"].(map[string]any)["hashes"].(map[string]any)
			if h := hashes["sha256Hash"].(string); len(h) != 64 {
				t.Errorf("sha256Hash = %q", h)
			}
			content2 := append(content, "v2"...)
			up2 := a.json("PUT", items+docsID+":/report.txt:/content", content2, 200)
			if up2["id"] != fileID {
				t.Errorf("replacement changed the id: %v vs %v", up2["id"], fileID)
			}
			status, hdr, body := a.do("GET", items+fileID+"/content", nil)
			if status != 200 || !bytes.Equal(body, content2) {
				t.Fatalf("download: status %d, %d bytes", status, len(body))
			}
			if cd := hdr.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, "report.txt") {
				t.Errorf("Content-Disposition = %q", cd)
			}
			if hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff on download")
			}
			anon.errorCode("GET", items+fileID+"/content", nil, 401) // a forged token, on the download path
			etag := hdr.Get("ETag")
			if status, _, _ := a.do("GET", items+fileID+"/content", nil, "If-None-Match", etag); status != 304 {
				t.Errorf("If-None-Match: status %d, want 304", status)
			}
			status, hdr, body = a.do("GET", items+fileID+"/content", nil, "Range", "bytes=10-19")
			if status != 206 || string(body) != string(content2[10:20]) || hdr.Get("Content-Range") == "" {
				t.Errorf("Range: status %d body %q", status, body)
			}
			// Over the upload limit, and over the JSON limit.
			if code := a.errorCode("PUT", items+docsID+":/big.bin:/content", bytes.Repeat([]byte("x"), 1<<20+1), 413); code != "requestTooLarge" {
				t.Errorf("big upload: code %q", code)
			}
			a.errorCode("PUT", items+docsID+":/big.bin:/content", io.LimitReader(zeros{}, 1<<20+10), 413) // chunked, no length
			a.errorCode("POST", items+rootID+"/children", `{"name":"`+strings.Repeat("y", 1<<20)+`","folder":{}}`, 413)

			// Listing with paging.
			for i := 0; i < 5; i++ {
				a.json("PUT", fmt.Sprintf("%s%s:/f%d.txt:/content", items, docsID, i), "x", 201)
			}
			var names []string
			next := items + docsID + "/children?$top=2"
			for next != "" {
				page := a.json("GET", strings.TrimPrefix(next, s.URL), nil, 200)
				for _, v := range page["value"].([]any) {
					names = append(names, v.(map[string]any)["name"].(string))
				}
				next, _ = page["@odata.nextLink"].(string)
			}
			if got := strings.Join(names, ","); got != "f0.txt,f1.txt,f2.txt,f3.txt,f4.txt,report.txt" {
				t.Errorf("children = %s", got)
			}

			// Rename and move.
			archive := a.json("POST", items+rootID+"/children", map[string]any{"name": "Archive", "folder": map[string]any{}}, 201)
			ren := a.json("PATCH", items+fileID, map[string]any{"name": "final.txt"}, 200)
			if ren["name"] != "final.txt" {
				t.Errorf("rename: %v", ren["name"])
			}
			mv := a.json("PATCH", items+fileID, map[string]any{"parentReference": map[string]any{"id": archive["id"]}}, 200)
			if p := mv["parentReference"].(map[string]any)["path"]; p != "/drive/root:/Archive" {
				t.Errorf("moved path = %v", p)
			}
			a.errorCode("PATCH", items+docsID, map[string]any{"name": "Archive"}, 409)

			// Another member's drive and items are invisible.
			bc.errorCode("GET", items+fileID, nil, 404)
			bc.errorCode("GET", items+fileID+"/content", nil, 404)
			bc.errorCode("PUT", items+docsID+":/x.txt:/content", "x", 404)
			bc.errorCode("DELETE", items+fileID, nil, 404)
			bc.errorCode("PATCH", items+fileID, map[string]any{"name": "stolen"}, 404)
			bobDrive := bc.json("GET", "/v1.0/me/drive", nil, 200)["id"].(string)
			a.errorCode("GET", "/v1.0/drives/"+bobDrive+"/items/"+fileID, nil, 404)

			// Delete.
			if status, _, _ := a.do("DELETE", items+docsID, nil); status != 204 {
				t.Errorf("delete: status %d", status)
			}
			a.errorCode("GET", items+docsID, nil, 404)

			// Users, admin only.
			bc.errorCode("GET", "/v1.0/users", nil, 403)
			bc.errorCode("GET", "/v1.0/auditLog/records", nil, 403)
			created := a.json("POST", "/v1.0/users", map[string]any{"displayName": "Cy", "mail": "cy@example.com",
				"passwordProfile": map[string]any{"password": "long enough password"}}, 201)
			a.errorCode("POST", "/v1.0/users", map[string]any{"displayName": "Cy", "mail": "CY@example.com",
				"passwordProfile": map[string]any{"password": "long enough password"}}, 409)
			cyID := created["id"].(string)
			a.json("PATCH", "/v1.0/users/"+cyID, map[string]any{"accountEnabled": false}, 204)
			if got := a.json("GET", "/v1.0/users/"+cyID, nil, 200)["accountEnabled"]; got != false {
				t.Errorf("accountEnabled after disable = %v", got)
			}
			list := a.json("GET", "/v1.0/users?$top=2", nil, 200)
			if len(list["value"].([]any)) != 2 || list["@odata.nextLink"] == nil {
				t.Errorf("users page: %v", list)
			}
			if status, _, _ := a.do("DELETE", "/v1.0/users/"+cyID, nil); status != 204 {
				t.Errorf("delete user: %d", status)
			}
			bc.json("GET", "/v1.0/users/"+bob.ID, nil, 200)
			bc.errorCode("GET", "/v1.0/users/"+admin.ID, nil, 403)
			bc.errorCode("GET", "/v1.0/users/nobody@example.com", nil, 403) // not 404: existence stays hidden

			// The audit log: each change is there at once, filtered and paged.
			ops := map[string]bool{}
			next = "/v1.0/auditLog/records?$top=3&userId=ada@example.com"
			for next != "" {
				page := a.json("GET", next, nil, 200)
				for _, v := range page["value"].([]any) {
					r := v.(map[string]any)
					ops[r["Operation"].(string)] = true
					if r["UserId"] != "ada@example.com" {
						t.Errorf("userId filter let through %v", r["UserId"])
					}
				}
				next, _ = page["@odata.nextLink"].(string)
				next = strings.TrimPrefix(next, s.URL)
			}
			for _, op := range []string{"FolderCreated", "FileUploaded", "FileModified", "FileDownloaded", "FileRenamed", "FileMoved", "FolderDeleted", "UserAdded", "UserUpdated", "UserDeleted"} {
				if !ops[op] {
					t.Errorf("audit has no %s record", op)
				}
			}
			since := url.QueryEscape(time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))
			dl := a.json("GET", "/v1.0/auditLog/records?operation=FileDownloaded&start="+since, nil, 200)["value"].([]any)
			if len(dl) < 2 {
				t.Errorf("FileDownloaded records = %d, want ≥ 2", len(dl))
			}
			for _, v := range dl {
				r := v.(map[string]any)
				if r["Operation"] != "FileDownloaded" || r["ObjectId"] != s.URL+items+fileID || r["SourceFileName"] == "" || r["ItemType"] != "File" {
					t.Errorf("download record: %v", r)
				}
			}
			a.errorCode("GET", "/v1.0/auditLog/records?start=yesterday", nil, 400)
		})
	}
}

// zeros is an endless reader, for a body with no Content-Length.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
