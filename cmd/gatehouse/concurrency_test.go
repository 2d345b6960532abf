package main

// The concurrency suite: parallel clients against the real HTTP server, on
// both backends, each case asserting the invariant that a lost write or a
// surfaced deadlock would break. SQLite has one writer, so most defects show
// on PostgreSQL only; the cases run on both so neither regresses.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// racer sends parallel requests to one server, as its owner or anyone.
type racer struct {
	t     *testing.T
	s     *server
	hc    *http.Client
	owner *gatehouse.User
	token string // the owner's bearer token
	drive string
	root  string
	db    *sql.DB
	pg    bool
}

func newRacer(t *testing.T, b testenv.Backend) *racer {
	t.Helper()
	s := startServer(t, b, func(c *Config) { c.MaxUpload = 1 << 20 })
	// One connection per parallel request, kept between rounds.
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	r := &racer{t: t, s: s, hc: &http.Client{Transport: tr}, pg: s.Store.Postgres()}
	r.owner = s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", false)
	r.token = s.token(r.owner)
	d := r.must(r.token, "GET", "/v1.0/me/drive", nil, 200)
	r.drive, r.root = d["id"].(string), d["root"].(map[string]any)["id"].(string)
	return r
}

// result is one answer; err is a transport failure.
type result struct {
	status int
	body   []byte
	err    error
}

func (res result) String() string {
	if res.err != nil {
		return res.err.Error()
	}
	b := res.body
	if len(b) > 200 {
		b = b[:200]
	}
	return fmt.Sprintf("%d %s", res.status, b)
}

// decode returns the answer as a JSON object, or nil.
func (res result) decode() map[string]any {
	var m map[string]any
	json.Unmarshal(res.body, &m)
	return m
}

// do sends one request and never fails the test, so goroutines may call it.
// body is nil, a string or []byte (sent as is) or a value sent as JSON.
func (r *racer) do(token, method, path string, body any) result {
	var rd io.Reader
	jsonBody := false
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd, jsonBody = bytes.NewReader(j), true
	}
	req, err := http.NewRequest(method, r.s.URL+path, rd)
	if err != nil {
		return result{err: err}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	if jsonBody {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return result{err: fmt.Errorf("%s %s: %w", method, path, err)}
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: out, err: err}
}

// must sends one request from the test goroutine and checks its status.
func (r *racer) must(token, method, path string, body any, want int) map[string]any {
	r.t.Helper()
	res := r.do(token, method, path, body)
	if res.err != nil || res.status != want {
		r.t.Fatalf("%s %s: got %v, want status %d", method, path, res, want)
	}
	return res.decode()
}

func (r *racer) items() string { return "/v1.0/drives/" + r.drive + "/items/" }

// folder creates a folder and returns its id.
func (r *racer) folder(parent, name string) string {
	r.t.Helper()
	return r.must(r.token, "POST", r.items()+parent+"/children", map[string]any{"name": name, "folder": map[string]any{}}, 201)["id"].(string)
}

// file uploads a new file and returns its id.
func (r *racer) file(parent, name, content string) string {
	r.t.Helper()
	return r.must(r.token, "PUT", r.items()+parent+":/"+name+":/content", content, 201)["id"].(string)
}

// objectID is the audit ObjectId of an item of the owner's drive.
func (r *racer) objectID(id string) string {
	return r.s.Config.BaseURL + "/v1.0/drives/" + r.drive + "/items/" + id
}

// race runs fn(0..n-1) in parallel, released together, and returns the
// answers in order.
func race(n int, fn func(i int) result) []result {
	out := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// noServerErrors fails on transport errors and 5xx answers, and on any
// status not in allowed when allowed is given.
func noServerErrors(t *testing.T, what string, res []result, allowed ...int) {
	t.Helper()
	bad := 0
	for i, x := range res {
		if x.err != nil || x.status >= 500 || (len(allowed) > 0 && !slices.Contains(allowed, x.status)) {
			if bad < 5 {
				t.Errorf("%s, request %d: %v", what, i, x)
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d answers were errors or unexpected (first 5 shown)", what, bad, len(res))
	}
}

// sqlDB opens the server's database directly, to read what no API shows.
func (r *racer) sqlDB() *sql.DB {
	r.t.Helper()
	if r.db != nil {
		return r.db
	}
	var err error
	if r.pg {
		r.db, err = sql.Open("pgx", r.s.Config.Database)
	} else {
		r.db, err = sql.Open("sqlite", "file:"+filepath.Join(r.s.Config.Data, "gatehouse.db")+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { r.db.Close() })
	return r.db
}

// query runs q, with ? placeholders, and returns every row as strings.
func (r *racer) query(q string, args ...any) [][]string {
	r.t.Helper()
	if r.pg {
		var b strings.Builder
		n := 0
		for _, c := range q {
			if c == '?' {
				n++
				b.WriteString("$" + strconv.Itoa(n))
				continue
			}
			b.WriteRune(c)
		}
		q = b.String()
	}
	rows, err := r.sqlDB().QueryContext(context.Background(), q, args...)
	if err != nil {
		r.t.Fatalf("query %s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			r.t.Fatalf("query %s: %v", q, err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		r.t.Fatalf("query %s: %v", q, err)
	}
	return out
}

// count runs a COUNT query.
func (r *racer) count(q string, args ...any) int {
	r.t.Helper()
	n, _ := strconv.Atoi(r.query(q, args...)[0][0])
	return n
}

// blob reads stored content by key.
func (r *racer) blob(key string) (string, error) {
	f, err := r.s.Blobs.Open(key)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

// checkVersions asserts that every acknowledged body of a file is
// retrievable as its current content or as one of its versions, that no
// version number repeats, and that the current version is wantCurrent.
func (r *racer) checkVersions(itemID string, acked []string, wantCurrent int) {
	r.t.Helper()
	cur := r.query(`SELECT version, blob_key FROM items WHERE id = ?`, itemID)
	if len(cur) != 1 {
		r.t.Fatalf("item %s: %d rows", itemID, len(cur))
	}
	rows := append(r.query(`SELECT version, blob_key FROM item_versions WHERE item_id = ?`, itemID), cur[0])
	seen := map[string]int{}
	held := map[string]bool{}
	for _, row := range rows {
		seen[row[0]]++
		c, err := r.blob(row[1])
		if err != nil {
			r.t.Errorf("version %s of the file: content %s is unreadable: %v", row[0], row[1], err)
		}
		held[c] = true
	}
	for v, n := range seen {
		if n > 1 {
			r.t.Errorf("version number %s is used %d times", v, n)
		}
	}
	lost := 0
	for _, body := range acked {
		if !held[body] {
			lost++
		}
	}
	if lost > 0 {
		r.t.Errorf("%d of %d acknowledged uploads are neither the current content nor a version", lost, len(acked))
	}
	if cur[0][0] != strconv.Itoa(wantCurrent) {
		r.t.Errorf("current version = %s, want %d", cur[0][0], wantCurrent)
	}
	if len(rows) != wantCurrent {
		r.t.Errorf("%d versions are kept (current included), want %d", len(rows), wantCurrent)
	}
}

// records returns every audit record matching f, newest first.
func (r *racer) records(f gatehouse.AuditFilter) []*gatehouse.Record {
	r.t.Helper()
	var out []*gatehouse.Record
	var after *store.AuditCursor
	for {
		page, next, err := r.s.Store.SearchAudit(context.Background(), f, after)
		if err != nil {
			r.t.Fatalf("SearchAudit: %v", err)
		}
		out = append(out, page...)
		if next == nil {
			return out
		}
		after = next
	}
}

// ops counts the records of an item by operation.
func (r *racer) ops(itemID string) map[string]int {
	r.t.Helper()
	n := map[string]int{}
	for _, rec := range r.records(gatehouse.AuditFilter{ObjectID: r.objectID(itemID)}) {
		n[rec.Operation]++
	}
	return n
}

// verifyAudit asserts that the audit chain is intact.
func (r *racer) verifyAudit() {
	r.t.Helper()
	n, brk, err := r.s.Store.VerifyAudit(context.Background())
	if err != nil || brk != nil {
		r.t.Errorf("audit verify after %d records: break %+v, err %v", n, brk, err)
	}
}

// eventData decodes a record's EventData.
func eventData(rec *gatehouse.Record) map[string]any {
	m := map[string]any{}
	json.Unmarshal([]byte(rec.EventData), &m)
	return m
}

func TestConcurrencyUploadExisting(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			id := r.file(r.root, "doc.bin", "original")
			const n = 16
			bodies := make([]string, n)
			for i := range n {
				bodies[i] = fmt.Sprintf("body %d of %d, %s", i, n, gatehouse.NewID())
			}
			res := race(n, func(i int) result {
				return r.do(r.token, "PUT", r.items()+r.root+":/doc.bin:/content", bodies[i])
			})
			noServerErrors(t, "PUT to an existing file", res, 200)
			for _, x := range res {
				if m := x.decode(); x.status == 200 && m["id"] != id {
					t.Errorf("an upload answered for item %v, want %s", m["id"], id)
				}
			}
			r.checkVersions(id, append(bodies, "original"), n+1)
			// Each acknowledged upload has its record, each naming its own version.
			versions := map[float64]bool{}
			for _, rec := range r.records(gatehouse.AuditFilter{ObjectID: r.objectID(id), Operation: gatehouse.OpFileModified}) {
				v, _ := eventData(rec)["version"].(float64)
				if versions[v] {
					t.Errorf("two FileModified records name version %v", v)
				}
				versions[v] = true
			}
			if len(versions) != n {
				t.Errorf("%d FileModified records with distinct versions, want %d", len(versions), n)
			}
		})
	}
}

func TestConcurrencyUploadNew(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			const n = 16
			bodies := make([]string, n)
			for i := range n {
				bodies[i] = fmt.Sprintf("new body %d, %s", i, gatehouse.NewID())
			}
			res := race(n, func(i int) result {
				return r.do(r.token, "PUT", r.items()+r.root+":/new.bin:/content", bodies[i])
			})
			noServerErrors(t, "PUT of a new name", res, 200, 201)
			created := 0
			ids := map[any]bool{}
			for _, x := range res {
				if x.status == 201 {
					created++
				}
				ids[x.decode()["id"]] = true
			}
			if created != 1 {
				t.Errorf("%d of %d parallel creates answered 201, want exactly 1", created, n)
			}
			if len(ids) != 1 {
				t.Errorf("the answers name %d items, want one", len(ids))
			}
			rows := r.query(`SELECT id FROM items WHERE parent_id = ? AND name_key = ?`, r.root, gatehouse.NameKey("new.bin"))
			if len(rows) != 1 {
				t.Fatalf("%d items named new.bin, want 1", len(rows))
			}
			r.checkVersions(rows[0][0], bodies, n)
			ops := r.ops(rows[0][0])
			if ops[gatehouse.OpFileUploaded] != 1 || ops[gatehouse.OpFileModified] != n-1 {
				t.Errorf("audit: %d FileUploaded and %d FileModified, want 1 and %d", ops[gatehouse.OpFileUploaded], ops[gatehouse.OpFileModified], n-1)
			}
		})
	}
}

// A rename, a move and an upload of one item, for 16 items at once: all
// three changes must stand, whatever order they commit in.
func TestConcurrencyRenameMoveUpload(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			from, to := r.folder(r.root, "From"), r.folder(r.root, "To")
			const n = 16
			ids := make([]string, n)
			for i := range n {
				ids[i] = r.file(from, fmt.Sprintf("f%02d.txt", i), "before")
			}
			res := race(3*n, func(k int) result {
				i, id := k/3, ids[k/3]
				switch k % 3 {
				case 0:
					return r.do(r.token, "PATCH", r.items()+id, map[string]any{"name": fmt.Sprintf("g%02d.txt", i)})
				case 1:
					return r.do(r.token, "PATCH", r.items()+id, map[string]any{"parentReference": map[string]any{"id": to}})
				default:
					return r.do(r.token, "PUT", r.items()+id+"/content", fmt.Sprintf("after %d", i))
				}
			})
			noServerErrors(t, "rename, move and upload of one item", res, 200)
			for k := 2; k < len(res); k += 3 {
				if res[k].status == 201 {
					t.Errorf("item %d: the upload to it by id created a new file (%v) instead of replacing its content", k/3, res[k].decode()["id"])
				}
			}
			for i, id := range ids {
				it := r.must(r.token, "GET", r.items()+id, nil, 200)
				name, parent := it["name"], it["parentReference"].(map[string]any)["id"]
				if name != fmt.Sprintf("g%02d.txt", i) || parent != to {
					t.Errorf("item %d: name %v in folder %v, want g%02d.txt in To (%s): an acknowledged change was lost", i, name, parent, i, to)
				}
				got := r.do(r.token, "GET", r.items()+id+"/content", nil)
				if string(got.body) != fmt.Sprintf("after %d", i) {
					t.Errorf("item %d: content %q, want the acknowledged upload", i, got.body)
				}
				ops := r.ops(id)
				if ops[gatehouse.OpFileRenamed] != 1 || ops[gatehouse.OpFileMoved] != 1 || ops[gatehouse.OpFileModified] != 1 {
					t.Errorf("item %d: audit %v, want one FileRenamed, FileMoved and FileModified", i, ops)
				}
			}
			// The upload went to the item, not to a new file at its old path.
			if got := r.count(`SELECT COUNT(*) FROM items WHERE parent_id IN (?, ?)`, from, to); got != n {
				t.Errorf("%d files in From and To, want %d", got, n)
			}
		})
	}
}

// A move out of a shared folder racing a rename: the item must end outside,
// where the link no longer reaches, as the audit log says.
func TestConcurrencyMoveOutOfShare(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			shared, outside := r.folder(r.root, "Shared"), r.folder(r.root, "Outside")
			perm := r.must(r.token, "POST", r.items()+shared+"/invite", map[string]any{
				"recipients": []any{map[string]any{"email": "ext@partner.test"}}, "roles": []string{"read"}, "sendInvitation": false}, 200)
			shareID := perm["value"].([]any)[0].(map[string]any)["shareId"].(string)
			const n = 16
			ids := make([]string, n)
			for i := range n {
				ids[i] = r.file(shared, fmt.Sprintf("x%02d.txt", i), "secret")
			}
			res := race(2*n, func(k int) result {
				id := ids[k/2]
				if k%2 == 0 {
					return r.do(r.token, "PATCH", r.items()+id, map[string]any{"parentReference": map[string]any{"id": outside}})
				}
				return r.do(r.token, "PATCH", r.items()+id, map[string]any{"name": fmt.Sprintf("y%02d.txt", k/2)})
			})
			noServerErrors(t, "move out of a shared folder racing a rename", res, 200)
			l, err := r.s.Store.LinkByShareID(context.Background(), shareID)
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range ids {
				it := r.must(r.token, "GET", r.items()+id, nil, 200)
				if p := it["parentReference"].(map[string]any)["id"]; p != outside {
					t.Errorf("item %d is in %v after an acknowledged move to Outside (%s)", i, p, outside)
				}
				if it["name"] != fmt.Sprintf("y%02d.txt", i) {
					t.Errorf("item %d is named %v after an acknowledged rename to y%02d.txt", i, it["name"], i)
				}
				if err := r.linkReaches(l, id); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
					t.Errorf("item %d: the shared folder's link still reaches it (%v) after the audited move out", i, err)
				}
				moves := r.records(gatehouse.AuditFilter{ObjectID: r.objectID(id), Operation: gatehouse.OpFileMoved})
				if len(moves) != 1 || eventData(moves[0])["to"] != "/Outside/" {
					t.Errorf("item %d: move records %d, newest to %v; want one, to /Outside/", i, len(moves), firstTo(moves))
				}
			}
		})
	}
}

func firstTo(recs []*gatehouse.Record) any {
	if len(recs) == 0 {
		return nil
	}
	return eventData(recs[0])["to"]
}

// permissions lists an item's links.
func (r *racer) permissions(id string) []map[string]any {
	r.t.Helper()
	var out []map[string]any
	for _, v := range r.must(r.token, "GET", r.items()+id+"/permissions", nil, 200)["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// grantees returns the sorted addresses on a permission.
func grantees(p map[string]any) []string {
	var out []string
	for _, g := range p["grantedToIdentitiesV2"].([]any) {
		out = append(out, g.(map[string]any)["user"].(map[string]any)["email"].(string))
	}
	slices.Sort(out)
	return out
}

func TestConcurrencyInvite(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			id := r.file(r.root, "plan.txt", "x")
			const n = 16
			var want []string
			for i := range n {
				want = append(want, fmt.Sprintf("r%02d@partner.test", i))
			}
			res := race(n, func(i int) result {
				return r.do(r.token, "POST", r.items()+id+"/invite", map[string]any{
					"recipients": []any{map[string]any{"email": want[i]}}, "roles": []string{"read"}})
			})
			noServerErrors(t, "parallel invites", res, 200)
			perms := r.permissions(id)
			if len(perms) != 1 {
				t.Fatalf("%d links after %d parallel invites with one role and no expiry, want 1", len(perms), n)
			}
			if got := grantees(perms[0]); !slices.Equal(got, want) {
				t.Errorf("the link holds %d recipients %v, want all %d", len(got), got, n)
			}
			ops := r.ops(id)
			if ops[gatehouse.OpSecureLinkCreated] != 1 || ops[gatehouse.OpAddedToSecureLink] != n {
				t.Errorf("audit: %d SecureLinkCreated and %d AddedToSecureLink, want 1 and %d", ops[gatehouse.OpSecureLinkCreated], ops[gatehouse.OpAddedToSecureLink], n)
			}
		})
	}
}

// Invites with different expiries on one item and role: each expiry gets a
// link of its own, and a repeat with the same expiry joins that link.
func TestConcurrencyInviteExpiry(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			id := r.file(r.root, "plan.txt", "x")
			base := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
			const kinds, n = 4, 16
			expiry := func(k int) time.Time { return base.Add(time.Duration(k) * 24 * time.Hour) }
			want := map[time.Time][]string{}
			for i := range n {
				want[expiry(i%kinds)] = append(want[expiry(i%kinds)], fmt.Sprintf("e%02d@partner.test", i))
			}
			invite := func(email string, exp time.Time) result {
				return r.do(r.token, "POST", r.items()+id+"/invite", map[string]any{
					"recipients": []any{map[string]any{"email": email}}, "roles": []string{"read"},
					"expirationDateTime": exp.Format(time.RFC3339), "sendInvitation": false})
			}
			res := race(n, func(i int) result { return invite(fmt.Sprintf("e%02d@partner.test", i), expiry(i%kinds)) })
			noServerErrors(t, "parallel invites with different expiries", res, 200)
			for i, x := range res {
				if x.status != 200 {
					continue
				}
				p := x.decode()["value"].([]any)[0].(map[string]any)
				if got := expiryOf(p["expirationDateTime"]); !got.Equal(expiry(i % kinds)) {
					t.Errorf("invite %d asked for expiry %s and got a link expiring %v", i, expiry(i%kinds).Format(time.RFC3339), p["expirationDateTime"])
				}
			}
			check := func(when string) {
				t.Helper()
				got := map[time.Time][]string{}
				for _, p := range r.permissions(id) {
					exp := expiryOf(p["expirationDateTime"])
					if _, dup := got[exp]; dup {
						t.Errorf("%s: two links expire at %v", when, p["expirationDateTime"])
					}
					got[exp] = grantees(p)
				}
				if len(got) != len(want) {
					t.Errorf("%s: %d links, want one per expiry, %d", when, len(got), len(want))
				}
				for exp, emails := range want {
					slices.Sort(emails)
					if !slices.Equal(got[exp], emails) {
						t.Errorf("%s: the link expiring %s holds %v, want %v", when, exp.Format(time.RFC3339), got[exp], emails)
					}
				}
			}
			check("after the parallel invites")
			if x := invite("again@partner.test", expiry(0)); x.status != 200 {
				t.Fatalf("repeat invite: %v", x)
			}
			want[expiry(0)] = append(want[expiry(0)], "again@partner.test")
			check("after a repeat with the first expiry")
		})
	}
}

// expiryOf reads an expirationDateTime; null is the zero time.
func expiryOf(v any) time.Time {
	s, _ := v.(string)
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// Deleting shared folders while their files are renamed, 60 rounds, four
// folders at a time: no deadlock may surface as a 500.
func TestConcurrencyDeleteSharedFolder(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			const rounds, perBatch, files = 60, 4, 3
			var all []result
			for batch := range rounds / perBatch {
				type job struct{ folder, file string }
				var jobs []job
				for f := range perBatch {
					folder := r.folder(r.root, fmt.Sprintf("S%d-%d", batch, f))
					r.must(r.token, "POST", r.items()+folder+"/invite", map[string]any{
						"recipients": []any{map[string]any{"email": "ext@partner.test"}}, "roles": []string{"read"}, "sendInvitation": false}, 200)
					jobs = append(jobs, job{folder: folder})
					for i := range files {
						fid := r.file(folder, fmt.Sprintf("f%d.txt", i), "x")
						if i == 0 { // a link inside the folder goes with it too
							r.must(r.token, "POST", r.items()+fid+"/invite", map[string]any{
								"recipients": []any{map[string]any{"email": "in@partner.test"}}, "roles": []string{"write"}, "sendInvitation": false}, 200)
						}
						jobs = append(jobs, job{file: fid})
					}
				}
				res := race(len(jobs), func(k int) result {
					if j := jobs[k]; j.folder != "" {
						return r.do(r.token, "DELETE", r.items()+j.folder, nil)
					}
					return r.do(r.token, "PATCH", r.items()+jobs[k].file, map[string]any{"name": fmt.Sprintf("renamed-%d.txt", k)})
				})
				all = append(all, res...)
				for k, j := range jobs {
					if j.folder == "" || res[k].status != 204 {
						continue
					}
					if x := r.do(r.token, "GET", r.items()+j.folder, nil); x.status != 404 {
						t.Errorf("batch %d: a folder whose deletion was acknowledged answers %v", batch, x)
					}
					if n := r.count(`SELECT COUNT(*) FROM items WHERE id = ? AND deleted_at > 0`, j.folder); n != 1 {
						t.Errorf("batch %d: a folder whose deletion was acknowledged is not in the recycle bin", batch)
					}
				}
			}
			noServerErrors(t, "deleting shared folders while renaming their files", all, 200, 204, 404)
			// A deleted folder is in the recycle bin: its parent is
			// 'recycled/' and its own id, nothing else hangs outside the
			// tree, and every link under it is dormant.
			if n := r.count(`SELECT COUNT(*) FROM items WHERE parent_id IS NOT NULL AND parent_id NOT IN (SELECT id FROM items)
				AND (parent_id <> 'recycled/' || id OR deleted_at = 0)`); n != 0 {
				t.Errorf("%d items hang outside the tree and the recycle bin", n)
			}
			if n := r.count(`WITH RECURSIVE sub (id) AS (SELECT id FROM items WHERE deleted_at > 0
				UNION SELECT i.id FROM items i JOIN sub ON i.parent_id = sub.id)
				SELECT COUNT(*) FROM links JOIN sub ON sub.id = links.item_id WHERE NOT links.dormant`); n != 0 {
				t.Errorf("%d links in the recycle bin still work", n)
			}
			if n := r.count(`SELECT COUNT(*) FROM links WHERE item_id NOT IN (SELECT id FROM items)`); n != 0 {
				t.Errorf("%d links outlived their deleted items", n)
			}
			r.verifyAudit()
		})
	}
}

// Deleting a member while they upload, share and rename: no 5xx, and
// nothing of theirs is left behind.
func TestConcurrencyDeleteUser(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			admin := r.s.addUser("ada@example.com", "Ada Admin", "correct horse battery", true)
			adminToken := r.s.token(admin)
			const rounds, n = 6, 16
			var all []result
			for round := range rounds {
				u := r.s.addUser(fmt.Sprintf("victim%d@example.com", round), "Victim", "correct horse battery", false)
				tok := r.s.token(u)
				d := r.must(tok, "GET", "/v1.0/me/drive", nil, 200)
				items := "/v1.0/drives/" + d["id"].(string) + "/items/"
				root := d["root"].(map[string]any)["id"].(string)
				file := r.must(tok, "PUT", items+root+":/a.txt:/content", "x", 201)["id"].(string)
				folder := r.must(tok, "POST", items+root+"/children", map[string]any{"name": "F", "folder": map[string]any{}}, 201)["id"].(string)
				r.must(tok, "POST", items+folder+"/invite", map[string]any{
					"recipients": []any{map[string]any{"email": "ext@partner.test"}}, "roles": []string{"read"}, "sendInvitation": false}, 200)
				res := race(n, func(i int) result {
					switch i % 4 {
					case 0:
						if i == 0 {
							return r.do(adminToken, "DELETE", "/v1.0/users/"+u.ID, nil)
						}
						return r.do(tok, "PATCH", items+folder, map[string]any{"name": fmt.Sprintf("F%d", i)})
					case 1:
						return r.do(tok, "PUT", items+folder+":/"+fmt.Sprintf("n%d.txt", i)+":/content", "new")
					case 2:
						return r.do(tok, "POST", items+file+"/invite", map[string]any{
							"recipients": []any{map[string]any{"email": fmt.Sprintf("p%d@partner.test", i)}}, "roles": []string{"read"}})
					default:
						return r.do(tok, "PUT", items+file+"/content", fmt.Sprintf("v%d", i))
					}
				})
				all = append(all, res...)
				if res[0].status != 204 {
					continue // counted among the errors below
				}
				if got := r.count(`SELECT COUNT(*) FROM items WHERE drive_id = ?`, d["id"]); got != 0 {
					t.Errorf("round %d: %d items of the deleted user remain", round, got)
				}
				if got := r.count(`SELECT COUNT(*) FROM links WHERE drive_id = ?`, d["id"]); got != 0 {
					t.Errorf("round %d: %d links of the deleted user remain", round, got)
				}
			}
			noServerErrors(t, "DeleteUser racing the user's writes", all)
			r.verifyAudit()
		})
	}
}

// Sending passcodes while the link is deleted: every answer is a clear
// success or a 4xx, never a 500.
func TestConcurrencyPasscodeLinkDelete(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			const rounds, n = 6, 16
			var all []result
			for round := range rounds {
				id := r.file(r.root, fmt.Sprintf("p%d.txt", round), "x")
				var rcps []any
				for i := 1; i < n; i++ {
					rcps = append(rcps, map[string]any{"email": fmt.Sprintf("r%d-%d@partner.test", round, i)})
				}
				perm := r.must(r.token, "POST", r.items()+id+"/createLink", map[string]any{"type": "view", "scope": "users", "recipients": rcps}, 201)
				webURL := perm["link"].(map[string]any)["webUrl"].(string)
				path := strings.TrimPrefix(webURL, r.s.URL)
				res := race(n, func(i int) result {
					if i == 0 {
						return r.do(r.token, "DELETE", r.items()+id+"/permissions/"+perm["id"].(string), nil)
					}
					return r.do("", "POST", path+"/passcode", map[string]string{"email": fmt.Sprintf("r%d-%d@partner.test", round, i)})
				})
				all = append(all, res...)
				if res[0].status != 204 {
					continue // counted among the errors below
				}
				if got := r.count(`SELECT COUNT(*) FROM passcodes WHERE link_id = ?`, perm["id"]); got != 0 {
					t.Errorf("round %d: %d passcodes outlived their link", round, got)
				}
			}
			noServerErrors(t, "passcode sends racing link deletion", all)
			r.verifyAudit()
		})
	}
}

// linkReaches asks the access decision whether the link's owner, reading
// through the link, reaches the item: ENOTFOUND outside the share.
func (r *racer) linkReaches(l *gatehouse.Link, id string) error {
	ctx := context.Background()
	p := gatehouse.UserPrincipal(r.owner)
	_, f, err := r.s.Store.UserLink(ctx, l.Token, p)
	if err != nil {
		return err
	}
	if _, f, err = r.s.Store.LinkedItem(ctx, l, f, id); err != nil {
		return err
	}
	return gatehouse.Authorize(p, gatehouse.ActRead, f)
}
