package main

import (
	"encoding/json"
	"strings"
	"testing"

	"gatehouse/internal/testenv"
)

// TestDownloadRecords checks that exactly the answers that carry content
// are recorded as downloads: 200 and 206, the latter with its range; HEAD,
// 304 revalidations and unsatisfiable ranges are not.
func TestDownloadRecords(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startServer(t, b)
			o := &apiClient{t: t, base: s.URL, token: s.token(s.addUser("olivia@example.com", "Olivia", "correct horse battery", false))}
			a := &apiClient{t: t, base: s.URL, token: s.token(s.addUser("ada@example.com", "Ada", "correct horse battery", true))}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			content := strings.Repeat("0123456789", 100)
			f := o.json("PUT", "/v1.0/drives/"+d+"/items/"+root+":/numbers.txt:/content", content, 201)
			url := "/v1.0/drives/" + d + "/items/" + f["id"].(string) + "/content"
			etag := f["eTag"].(string)

			downloads := func() []map[string]any {
				t.Helper()
				page := a.json("GET", "/v1.0/auditLog/records?operation=FileDownloaded", nil, 200)
				var out []map[string]any
				for _, v := range page["value"].([]any) {
					out = append(out, v.(map[string]any))
				}
				return out
			}
			steps := []struct {
				name   string
				method string
				hdr    []string
				status int
				added  int
				event  map[string]string // EventData of the new record
			}{
				{"full download", "GET", nil, 200, 1, nil},
				{"one range", "GET", []string{"Range", "bytes=0-99"}, 206, 1, map[string]string{"range": "bytes=0-99", "served": "bytes 0-99/1000"}},
				{"open-ended range", "GET", []string{"Range", "bytes=990-"}, 206, 1, map[string]string{"range": "bytes=990-", "served": "bytes 990-999/1000"}},
				{"two ranges", "GET", []string{"Range", "bytes=0-1,5-6"}, 206, 1, map[string]string{"range": "bytes=0-1,5-6"}},
				{"revalidation", "GET", []string{"If-None-Match", etag}, 304, 0, nil},
				{"HEAD", "HEAD", nil, 200, 0, nil},
				{"HEAD with a range", "HEAD", []string{"Range", "bytes=0-9"}, 206, 0, nil},
				{"unsatisfiable range", "GET", []string{"Range", "bytes=5000-"}, 416, 0, nil},
				{"stale If-Range gets it all", "GET", []string{"Range", "bytes=0-9", "If-Range", `"other"`}, 200, 1, nil},
			}
			before := len(downloads())
			if before != 0 {
				t.Fatalf("download records before any download: %d", before)
			}
			for _, st := range steps {
				status, _, body := o.do(st.method, url, nil, st.hdr...)
				if status != st.status {
					t.Fatalf("%s: status %d, want %d: %s", st.name, status, st.status, body)
				}
				recs := downloads()
				if got := len(recs) - before; got != st.added {
					t.Errorf("%s (%d): %d new download records, want %d", st.name, status, got, st.added)
				}
				before = len(recs)
				if st.added == 0 {
					continue
				}
				var ev map[string]string
				if s, _ := recs[0]["EventData"].(string); s != "" {
					if err := json.Unmarshal([]byte(s), &ev); err != nil {
						t.Fatalf("%s: EventData %q is not a JSON object", st.name, s)
					}
				}
				if len(ev) != len(st.event) {
					t.Errorf("%s: EventData %v, want %v", st.name, ev, st.event)
				}
				for k, v := range st.event {
					if ev[k] != v {
						t.Errorf("%s: EventData[%s] = %q, want %q", st.name, k, ev[k], v)
					}
				}
			}
		})
	}
}
