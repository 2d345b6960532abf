package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/blob"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

var ctx = context.Background()

// password is the password every test user gets.
const password = "correct horse battery"

// clock is an injectable time that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a store with what tests need to look behind it: the data directory,
// the DSN for direct SQL, and the clock.
type env struct {
	*store.Store
	t     testing.TB
	dir   string
	dsn   string
	clock *clock
	raw   *rawDB
	key   []byte // the audit key, as production sets from its key file
}

// newStore opens a fresh store on backend b in a temp dir.
func newStore(t *testing.T, b testenv.Backend) *store.Store {
	return newEnv(t, b).Store
}

// newEnv opens a fresh store on backend b with a clock set to a fixed time.
// Like production, it sets a random audit key, so tests run the keyed
// chain, sealed link tokens and the derived passcode key.
func newEnv(t testing.TB, b testenv.Backend) *env {
	t.Helper()
	dir := t.TempDir()
	dsn := b.DSN(t, dir)
	key := make([]byte, 32)
	rand.Read(key)
	e := &env{t: t, dir: dir, dsn: dsn, key: key, clock: &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}}
	e.Store = e.open(dir)
	return e
}

// open opens another store on the env's database, with the env's key and
// clock, as a second node or a restart would; blobDir holds its content.
func (e *env) open(blobDir string) *store.Store {
	e.t.Helper()
	blobs, err := blob.Open(blobDir)
	if err != nil {
		e.t.Fatalf("blob.Open: %v", err)
	}
	s, err := store.Open(ctx, e.dsn, blobs, store.Options{Now: e.clock.Now, BaseURL: "https://files.example.com", AuditKey: e.key})
	if err != nil {
		e.t.Fatalf("store.Open: %v", err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

// rawDB is a second, direct connection to the store's database, for reading
// what the store does not expose and for tampering.
type rawDB struct {
	db       *sql.DB
	postgres bool
}

// DB opens (once) a direct database/sql connection to the env's database.
func (e *env) DB() *rawDB {
	e.t.Helper()
	if e.raw != nil {
		return e.raw
	}
	var db *sql.DB
	var err error
	if e.Postgres() {
		db, err = sql.Open("pgx", e.dsn)
	} else {
		db, err = sql.Open("sqlite", "file:"+e.dsn+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		e.t.Fatalf("open database directly: %v", err)
	}
	e.t.Cleanup(func() { db.Close() })
	e.raw = &rawDB{db: db, postgres: e.Postgres()}
	return e.raw
}

func (r *rawDB) rebind(q string) string {
	if !r.postgres {
		return q
	}
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
	return b.String()
}

func (e *env) exec(q string, args ...any) int64 {
	e.t.Helper()
	r := e.DB()
	res, err := r.db.ExecContext(ctx, r.rebind(q), args...)
	if err != nil {
		e.t.Fatalf("exec %s: %v", q, err)
	}
	n, _ := res.RowsAffected()
	return n
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	r := e.DB()
	var n int
	if err := r.db.QueryRowContext(ctx, r.rebind(q), args...).Scan(&n); err != nil {
		e.t.Fatalf("query %s: %v", q, err)
	}
	return n
}

// files lists the regular files under the data directory's sub folder.
func (e *env) files(sub string) []string {
	e.t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(e.dir, sub), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, filepath.Base(p))
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("walk %s: %v", sub, err)
	}
	return out
}

// user creates a member with the shared test password.
func (e *env) user(email string) *gatehouse.User {
	e.t.Helper()
	u, err := e.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: email, DisplayName: "User " + email, Password: password})
	if err != nil {
		e.t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

// member creates a member and returns it, an actor for it and its drive.
func (e *env) member(email string) (*gatehouse.User, gatehouse.Actor, *gatehouse.Drive) {
	e.t.Helper()
	u := e.user(email)
	d, err := e.DriveByOwner(ctx, u.ID)
	if err != nil {
		e.t.Fatalf("DriveByOwner(%s): %v", email, err)
	}
	return u, gatehouse.UserActor(u, "192.0.2.10", "test-agent/1.0"), d
}

func (e *env) folder(by gatehouse.Actor, d *gatehouse.Drive, parentID, name string) *gatehouse.Item {
	e.t.Helper()
	it, err := e.CreateFolder(ctx, by, d.ID, parentID, name)
	if err != nil {
		e.t.Fatalf("CreateFolder(%s): %v", name, err)
	}
	return it
}

func (e *env) file(by gatehouse.Actor, d *gatehouse.Drive, parentID, name, content string) *gatehouse.Item {
	e.t.Helper()
	it, _, err := e.PutFile(ctx, by, d.ID, parentID, name, strings.NewReader(content), 1<<20)
	if err != nil {
		e.t.Fatalf("PutFile(%s): %v", name, err)
	}
	return it
}

// records returns every audit record matching f, newest first, paging
// through SearchAudit.
func (e *env) records(f gatehouse.AuditFilter) []*gatehouse.Record {
	e.t.Helper()
	var out []*gatehouse.Record
	var after *store.AuditCursor
	for {
		page, next, err := e.SearchAudit(ctx, f, after)
		if err != nil {
			e.t.Fatalf("SearchAudit: %v", err)
		}
		out = append(out, page...)
		if next == nil {
			return out
		}
		after = next
	}
}

// last returns the newest audit record.
func (e *env) last() *gatehouse.Record {
	e.t.Helper()
	page, _, err := e.SearchAudit(ctx, gatehouse.AuditFilter{Limit: 1}, nil)
	if err != nil || len(page) != 1 {
		e.t.Fatalf("SearchAudit for the last record: got %d records, %v", len(page), err)
	}
	return page[0]
}

// auditCount returns how many audit records exist.
func (e *env) auditCount() int {
	e.t.Helper()
	return e.count(`SELECT COUNT(*) FROM audit_records`)
}

// wantAudit checks the newest record against want's non-empty fields.
func (e *env) wantAudit(want gatehouse.Record) *gatehouse.Record {
	e.t.Helper()
	got := e.last()
	check := func(field, g, w string) {
		if w != "" && g != w {
			e.t.Errorf("audit %s %s: got %q, want %q", want.Operation, field, g, w)
		}
	}
	check("Operation", got.Operation, want.Operation)
	check("UserId", got.UserID, want.UserID)
	check("UserType", got.UserType, want.UserType)
	check("ClientIP", got.ClientIP, want.ClientIP)
	check("UserAgent", got.UserAgent, want.UserAgent)
	check("ObjectId", got.ObjectID, want.ObjectID)
	check("ItemType", got.ItemType, want.ItemType)
	check("SourceFileName", got.SourceFileName, want.SourceFileName)
	check("SourceRelativeUrl", got.SourceRelativeURL, want.SourceRelativeURL)
	check("TargetUserOrGroupName", got.TargetUserOrGroupName, want.TargetUserOrGroupName)
	check("UniqueSharingId", got.UniqueSharingID, want.UniqueSharingID)
	check("ResultStatus", got.ResultStatus, want.ResultStatus)
	return got
}

// objectID is the audit ObjectId of an item.
func (e *env) objectID(it *gatehouse.Item) string {
	return "https://files.example.com/v1.0/drives/" + it.DriveID + "/items/" + it.ID
}

// wantCode fails the test unless err has the code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := gatehouse.ErrorCode(err); got != code {
		t.Errorf("%s: got code %q (%v), want %q", what, got, err, code)
	}
}
