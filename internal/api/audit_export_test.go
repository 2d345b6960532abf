package api_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/testenv"
)

// seedAccess records n FileAccessed records by email, concurrently so the
// store's group commit writes them in few transactions.
func seedAccess(t *testing.T, e *adminEnv, email, agent string, n int) {
	t.Helper()
	by := gatehouse.Actor{Principal: gatehouse.Principal{Kind: gatehouse.KindMember, Email: email}, Origin: gatehouse.Origin{ClientIP: "192.0.2.1", UserAgent: agent}}
	it := &gatehouse.Item{ID: "item-1", DriveID: "drive-1", Name: "report.pdf"}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 20 {
				if err := e.s.RecordAccess(ctx, by, gatehouse.OpFileAccessed, it); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("RecordAccess: %v", err)
	}
}

// export GETs the export as the administrator and checks the headers.
func (e *adminEnv) export(query string) string {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.url+"/v1.0/auditLog/records/export?"+query, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&b); err != nil {
		e.t.Fatalf("export %s: reading the body: %v", query, err)
	}
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("export %s: got %d, want 200: %s", query, resp.StatusCode, b.String())
	}
	format, _ := url.ParseQuery(query)
	wantType := map[string]string{"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}[format.Get("format")]
	if got := resp.Header.Get("Content-Type"); got != wantType {
		e.t.Errorf("export %s: Content-Type %q, want %q", query, got, wantType)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="audit-`) ||
		!strings.HasSuffix(cd, "."+format.Get("format")+`"`) {
		e.t.Errorf("export %s: Content-Disposition %q, want an attachment named audit-….%s", query, cd, format.Get("format"))
	}
	return b.String()
}

// exportCSV returns the rows of a CSV export after checking its header.
func (e *adminEnv) exportCSV(query string) []map[string]string {
	e.t.Helper()
	rows, err := csv.NewReader(strings.NewReader(e.export("format=csv&" + query))).ReadAll()
	if err != nil || len(rows) == 0 {
		e.t.Fatalf("export %s: not CSV with a header (%v)", query, err)
	}
	want := []string{"Id", "CreationTime", "Operation", "UserId", "UserType", "ClientIP", "UserAgent", "ObjectId", "ItemType",
		"SourceFileName", "SourceRelativeUrl", "TargetUserOrGroupName", "TargetUserOrGroupType", "UniqueSharingId", "EventData", "ResultStatus"}
	if !slices.Equal(rows[0], want) {
		e.t.Fatalf("export %s: header %v, want the Microsoft 365 names %v", query, rows[0], want)
	}
	var out []map[string]string
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, k := range rows[0] {
			m[k] = row[i]
		}
		out = append(out, m)
	}
	return out
}

// exportJSONL returns the records of a JSON-lines export, one per line.
func (e *adminEnv) exportJSONL(query string) []map[string]any {
	e.t.Helper()
	body := e.export("format=jsonl&" + query)
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if line == "" && body == "" {
			break
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			e.t.Fatalf("export %s: line %d is not one JSON record: %q", query, i+1, line)
		}
		out = append(out, m)
	}
	return out
}

func TestAuditExport(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			// More than one page of the export (1,000), and a second user
			// the filters must leave out.
			const n = 1200
			seedAccess(t, e, "seed@example.com", "=HYPERLINK(\"http://evil.example\")", n)
			e.clock.Advance(time.Hour)
			seedAccess(t, e, "other@example.com", "agent", 3)

			// Members may not export; a format is required.
			e.wantStatus(e.member, "GET", "/v1.0/auditLog/records/export?format=csv", http.StatusForbidden)
			for _, q := range []string{"", "format=xml", "format=CSV", "format=csv&start=yesterday",
				"format=csv&userIdStartsWith=%FF", "format=jsonl&userIdStartsWith=a%00", "format=jsonl&operation=%00&userId=%FF"} {
				status, body := e.do(e.admin, "GET", "/v1.0/auditLog/records/export?"+q)
				var er struct {
					Error struct{ Code, Message string }
				}
				json.Unmarshal([]byte(body), &er)
				if status != http.StatusBadRequest || !strings.HasSuffix(er.Error.Message, ".") {
					t.Errorf("export ?%s: got %d %s, want 400 with a sentence", q, status, body)
				}
			}

			// CSV: every record of the user, newest first, none twice
			// across the page boundary, formulas defused.
			rows := e.exportCSV("userId=seed@example.com")
			if len(rows) != n {
				t.Fatalf("CSV of seed: got %d rows, want %d", len(rows), n)
			}
			seen := map[string]bool{}
			var last time.Time
			for i, r := range rows {
				if seen[r["Id"]] {
					t.Fatalf("CSV row %d: Id %s twice", i, r["Id"])
				}
				seen[r["Id"]] = true
				ct, err := time.Parse(time.RFC3339Nano, r["CreationTime"])
				if err != nil || (i > 0 && ct.After(last)) {
					t.Fatalf("CSV row %d: CreationTime %q not a time or not newest first", i, r["CreationTime"])
				}
				last = ct
				if r["UserId"] != "seed@example.com" || r["Operation"] != "FileAccessed" || r["SourceFileName"] != "report.pdf" ||
					r["UserAgent"] != `'=HYPERLINK("http://evil.example")` {
					t.Fatalf("CSV row %d: got %v", i, r)
				}
			}

			// JSON lines, with the prefix filter, case-insensitive.
			recs := e.exportJSONL("userIdStartsWith=SEED%40")
			if len(recs) != n {
				t.Fatalf("JSONL of seed@: got %d lines, want %d", len(recs), n)
			}
			if r := recs[0]; r["UserId"] != "seed@example.com" || r["UserAgent"] != `=HYPERLINK("http://evil.example")` || r["ObjectId"] == "" {
				t.Errorf("JSONL first record: got %v", r)
			}
			if got := len(e.exportJSONL("userIdStartsWith=se")); got != n {
				t.Errorf("JSONL of se…: got %d, want %d", got, n)
			}
			if got := len(e.exportJSONL("userIdStartsWith=seed%40example.comx")); got != 0 {
				t.Errorf("JSONL of a longer prefix: got %d, want 0", got)
			}

			// The other filters: operation, sharing ID, time range.
			added := e.exportCSV("operation=AddedToSecureLink")
			if len(added) != 1 || added[0]["TargetUserOrGroupName"] != e.guest || added[0]["UniqueSharingId"] != e.link.ShareID {
				t.Errorf("CSV of AddedToSecureLink: got %v, want the guest's record with its target", added)
			}
			for _, r := range e.exportJSONL("uniqueSharingId=" + url.QueryEscape(e.link.ShareID)) {
				if r["UniqueSharingId"] != e.link.ShareID {
					t.Errorf("JSONL by sharing ID: got %v", r)
				}
			}
			since := e.clock.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
			other := e.exportCSV("start=" + url.QueryEscape(since))
			if len(other) != 3 || other[0]["UserId"] != "other@example.com" {
				t.Errorf("CSV since the last hour: got %d rows, want other's 3", len(other))
			}
			if got := e.exportCSV("end=2000-01-01T00:00:00Z"); len(got) != 0 {
				t.Errorf("CSV before 2000: got %d rows, want the header alone", len(got))
			}
			if got := e.exportJSONL("end=2000-01-01T00:00:00Z"); len(got) != 0 {
				t.Errorf("JSONL before 2000: got %d lines, want none", len(got))
			}
			all := e.exportJSONL("")
			if len(all) < n+3 {
				t.Errorf("JSONL of everything: got %d, want at least %d", len(all), n+3)
			}
		})
	}
}
