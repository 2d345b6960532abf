package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// TestRecycleBinFlow: a verified recipient of a folder link reads a file in
// it; the owner deletes the folder above it; the recipient's page and file
// answer 404 at once, stay so after the owner restores it, and open again
// only once the owner turns the link on. The records tell the story.
func TestRecycleBinFlow(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			owner := s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", false)
			admin := s.addUser("ada@example.com", "Ada Admin", "correct horse battery", true)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			a := &apiClient{t: t, base: s.URL, token: s.token(admin)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			work := o.json("POST", items+root+"/children", map[string]any{"name": "Work", "folder": map[string]any{}}, 201)["id"].(string)
			project := o.json("POST", items+work+"/children", map[string]any{"name": "Project", "folder": map[string]any{}}, 201)["id"].(string)
			content := []byte("the plan\n")
			plan := o.json("PUT", items+project+":/plan.txt:/content", content, 201)["id"].(string)

			ext := "ext@partner.test"
			perm := o.json("POST", items+project+"/invite", map[string]any{
				"recipients": []any{map[string]any{"email": ext}}, "roles": []string{"read"},
				"requireSignIn": true, "sendInvitation": true,
			}, 200)["value"].([]any)[0].(map[string]any)
			webURL, permID := perm["link"].(map[string]any)["webUrl"].(string), perm["id"].(string)
			smtp.WaitFor(t, ext, 10*time.Second)
			rc := newRecipient(t)
			rc.call("POST", webURL+"/passcode", map[string]string{"email": ext})
			code := mailtest.Code(t, smtp.WaitFor(t, ext, 10*time.Second))
			if status, _, body := rc.call("POST", webURL+"/verify", map[string]any{"email": ext, "code": code}); status != 200 {
				t.Fatalf("verify: %d %s", status, body)
			}
			file := webURL + "/items/" + plan + "/content"
			opens := func(what string, want int) {
				t.Helper()
				status, _, body := rc.call("GET", file, nil)
				if status != want || want == 200 && !bytes.Equal(body, content) {
					t.Errorf("%s: file through the link %d %q, want %d", what, status, body, want)
				}
				if status, _, body := rc.call("GET", webURL, nil); status != want {
					t.Errorf("%s: link page %d %.200s, want %d", what, status, body, want)
				}
			}
			opens("before the delete", 200)

			// The owner deletes the folder above the shared one.
			if status, _, body := o.do("DELETE", items+work, nil); status != 204 {
				t.Fatalf("DELETE Work: %d %s", status, body)
			}
			opens("after the delete", 404)
			if status, _, body := rc.call("GET", webURL+"/items/"+project+"/children", nil); status != 404 {
				t.Errorf("children through the link after the delete: %d %s", status, body)
			}
			if status, _, body := rc.call("POST", webURL+"/passcode", map[string]string{"email": ext}); status != 404 {
				t.Errorf("asking a code for a dormant link: %d %s", status, body)
			}
			bin := o.json("GET", "/v1.0/drives/"+d+"/recycleBin/items", nil, 200)["value"].([]any)
			if len(bin) != 1 || bin[0].(map[string]any)["name"] != "Work" {
				t.Fatalf("bin: %v", bin)
			}

			restored := o.json("POST", items+work+"/restore", nil, 200)
			if restored["name"] != "Work" || restored["parentReference"].(map[string]any)["id"] != root {
				t.Errorf("restored: %v", restored)
			}
			opens("after the restore", 404)
			p := o.json("GET", items+project+"/permissions/"+permID, nil, 200)
			if p["dormant"] != true {
				t.Errorf("permission after restore: dormant %v", p["dormant"])
			}
			p = o.json("PATCH", items+project+"/permissions/"+permID, map[string]any{"dormant": false}, 200)
			if p["dormant"] != false {
				t.Errorf("permission after PATCH: dormant %v", p["dormant"])
			}
			opens("after the link is on again", 200)

			var ops []string
			for _, r := range a.json("GET", "/v1.0/auditLog/records?$top=200", nil, 200)["value"].([]any) {
				m := r.(map[string]any)
				switch op := m["Operation"].(string); op {
				case "FolderDeleted", "FolderRestored", "SecureLinkUpdated", "FileDownloaded":
					ops = append(ops, op)
				}
			}
			// Newest first.
			if got := strings.Join(ops, ","); got != "FileDownloaded,SecureLinkUpdated,FolderRestored,FolderDeleted,FileDownloaded" {
				t.Errorf("records, newest first: %s", got)
			}
		})
	}
}
