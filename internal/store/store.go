// Package store keeps Gatehouse's state in SQLite or PostgreSQL. Each public
// method is one transaction that also appends the audit records it owes.
package store

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	mathrand "math/rand/v2"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"gatehouse"
	"gatehouse/internal/blob"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the database and the content it describes.
type Store struct {
	read     *sql.DB // all reads
	write    *sql.DB // transactions that change state
	postgres bool
	blobs    *blob.Store

	accessMu   sync.RWMutex   // guards access against Close
	access     chan accessReq // see accessWriter; nil once closed
	accessDone chan struct{}
	stmts      sync.Map       // query text → *sql.Stmt on read (and on write, on PostgreSQL's one pool)
	wstmts     sync.Map       // the same on SQLite's writer: no key built per call
	preparing  sync.Map       // write statements being cached
	bg         sync.WaitGroup // those background preparations, awaited by Close

	view       view // remembered access facts; view.go
	lastHead   atomic.Pointer[chainHead]
	codeKey    atomic.Pointer[[]byte]
	auditKey   []byte      // HMAC key of the chain; nil hashes without a key (tests)
	tokenAEAD  cipher.AEAD // seals stored link tokens; nil stores them as they are (tests)
	outboxWake chan struct{}

	opt Options
}

// Options configure a store. Open takes them once; nothing is set on a
// store afterwards.
type Options struct {
	// Now is the clock; tests pass one they move by hand instead of
	// sleeping. Nil is time.Now.
	Now func() time.Time
	// BaseURL is the server's public address: it prefixes the ObjectId of
	// audit records and the links in mail.
	BaseURL string
	// MailFrom is the sender of every message; empty is
	// gatehouse.DefaultMailFrom.
	MailFrom string
	// AuditKey makes every new record's hash an HMAC under it, and derives
	// the passcode key and the key that seals stored secrets; Open refuses
	// a key the log was not begun with. Nil (tests only) hashes without a
	// key and keeps secrets unsealed.
	AuditKey []byte
	// ReauthDays is the e-mail attestation period the sharing settings
	// start with (--passcode-reauth-days); 0 is the default.
	ReauthDays int
	// OrgDomains are the organization's email domains (--org-domains):
	// gatehouse.InOrganization decides with them who is inside.
	OrgDomains []string
	// OrgName names the organization in invitations (--org-name).
	OrgName string
}

// Now reads the store's clock.
func (s *Store) Now() time.Time { return s.opt.Now() }

// MailFrom is the sender of the store's mail.
func (s *Store) MailFrom() string { return s.opt.MailFrom }

// Open connects to dsn, which is a postgres:// URL or a SQLite file path,
// applies pending migrations and, with opt.AuditKey, checks the key against
// the log.
func Open(ctx context.Context, dsn string, blobs *blob.Store, opt Options) (*Store, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MailFrom == "" {
		opt.MailFrom = gatehouse.DefaultMailFrom
	}
	s := &Store{blobs: blobs, opt: opt, outboxWake: make(chan struct{}, 1)}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		s.read, s.write, s.postgres = db, db, true
	} else {
		path := strings.TrimPrefix(dsn, "sqlite://")
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		// The path goes into a file: URI, where these three mean something.
		path = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
		q := url.Values{}
		// synchronous=FULL: WAL's NORMAL may lose the last commits on power
		// loss, and with them access records of content already served.
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)"} {
			q.Add("_pragma", p)
		}
		// One writer connection whose transactions begin IMMEDIATE: SQLite
		// allows one writer anyway, and taking the lock up front avoids
		// deadlocked upgrades from read to write. The command line tools
		// wait on busy_timeout while a server holds it.
		w, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode()+"&_txlock=immediate")
		if err != nil {
			return nil, err
		}
		w.SetMaxOpenConns(1)
		r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, err
		}
		r.SetMaxOpenConns(8)
		r.SetMaxIdleConns(8)
		s.read, s.write = r, w
	}
	if err := s.write.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := s.loadPasscodeKey(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("load the passcode key: %w", err)
	}
	if opt.AuditKey != nil {
		if err := s.setAuditKey(ctx, opt.AuditKey); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.access, s.accessDone = make(chan accessReq, 1024), make(chan struct{})
	go s.accessWriter(s.access)
	return s, nil
}

// Close closes the database connections.
func (s *Store) Close() error {
	s.accessMu.Lock()
	if s.access != nil {
		close(s.access)
		s.access = nil
		<-s.accessDone
	}
	s.accessMu.Unlock()
	s.bg.Wait()
	s.stmts.Range(func(k, v any) bool { v.(*sql.Stmt).Close(); return true })
	s.wstmts.Range(func(k, v any) bool { v.(*sql.Stmt).Close(); return true })
	err := s.write.Close()
	if s.read != s.write {
		if e := s.read.Close(); err == nil {
			err = e
		}
	}
	return err
}

// SetSQLiteSynchronous sets SQLite's synchronous mode on the writer
// connection. Production keeps FULL, so a committed access record survives
// a power loss; the download benchmark uses it to price FULL against NORMAL
// in one run. It does nothing on PostgreSQL.
func (s *Store) SetSQLiteSynchronous(ctx context.Context, mode string) error {
	if s.postgres {
		return nil
	}
	if mode != "FULL" && mode != "NORMAL" {
		return fmt.Errorf("synchronous mode %q: want FULL or NORMAL", mode)
	}
	_, err := s.write.ExecContext(ctx, "PRAGMA synchronous = "+mode)
	return err
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.read.PingContext(ctx) }

// Postgres reports whether the store runs on PostgreSQL.
func (s *Store) Postgres() bool { return s.postgres }

func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.postgres {
		// Several nodes may start at once; one migrates, the others wait.
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7226354)`); err != nil {
			return err
		}
		defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7226354)`)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)`); err != nil {
		return err
	}
	if !s.postgres {
		// A migration may rebuild a table, which SQLite does with foreign
		// keys off (they cannot change inside a transaction); each one is
		// checked with foreign_key_check before it commits.
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return err
		}
		defer conn.ExecContext(context.Background(), `PRAGMA foreign_keys = ON`)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		// name.sqlite.sql and name.postgres.sql hold what only one of the
		// two databases can say; plain name.sql is for both.
		if other := ".sqlite.sql"; s.postgres && strings.HasSuffix(name, other) || !s.postgres && strings.HasSuffix(name, ".postgres.sql") {
			continue
		}
		var n int
		if err := conn.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE name = ?`), name).Scan(&n); err != nil {
			return err
		} else if n != 0 {
			continue
		}
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			return err
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s: %w", name, err)
		}
		if !s.postgres {
			if err := foreignKeyCheck(ctx, tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (name) VALUES (?)`), name); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// foreignKeyCheck fails if any row of SQLite's database breaks a foreign key.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var fk int
		rows.Scan(&table, &rowid, &parent, &fk)
		return fmt.Errorf("a row of %s refers to a missing row of %s", table, parent)
	}
	return rows.Err()
}

// rebind turns ? placeholders into PostgreSQL's $n. Queries here never hold a
// literal question mark.
func (s *Store) rebind(q string) string {
	if !s.postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Tx is a write transaction with its clock reading and chain head.
type Tx struct {
	*sql.Tx
	s   *Store
	ctx context.Context
	now time.Time

	records []*gatehouse.Record // appended to the chain in Commit

	// keepEpoch marks a transaction that changes nothing an access
	// decision reads (the access writer's batches, mail delivery, link code
	// requests, passcode verifications), so its commit leaves the access epoch as it is. The
	// head is read once and kept here.
	keepEpoch, headRead bool
	headSeq, epoch      int64
	// readEpoch is the access epoch read without the head's lock (on
	// PostgreSQL, for accessEpoch), when epochRead.
	readEpoch int64
	epochRead bool
	headHash  string
}

// begin starts a write transaction.
func (s *Store) begin(ctx context.Context) (*Tx, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{Tx: tx, s: s, ctx: ctx, now: s.Now().UTC().Truncate(time.Microsecond)}, nil
}

// inTx runs fn in a write transaction and commits it. PostgreSQL aborts a
// transaction that loses a deadlock or a serialization race, and fn may ask
// for another go with errRetry after losing a race for a unique key; fn then
// runs again from the start, so callers see neither. fn must not act outside
// the transaction.
func (s *Store) inTx(ctx context.Context, fn func(tx *Tx) error) error {
	for attempt := 1; ; attempt++ {
		tx, err := s.begin(ctx)
		if err != nil {
			return err
		}
		err = fn(tx)
		if err == nil {
			err = tx.Commit()
		}
		if err == nil {
			return nil
		}
		tx.Rollback()
		if !retryable(err) {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		// Back off with jitter so the losers do not collide again at once.
		d := time.Duration(attempt*attempt) * time.Millisecond
		d += time.Duration(mathrand.Int64N(int64(d)))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

const maxAttempts = 12

// errRetry asks inTx to run the transaction again: it lost a race that a
// fresh start resolves, such as two creates of one name.
var errRetry = errors.New("store: retry the transaction")

// retryable reports whether err is a transient conflict between
// transactions: a deadlock (40P01), a serialization failure (40001), or
// errRetry.
func retryable(err error) bool {
	if errors.Is(err, errRetry) {
		return true
	}
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

// lockDrive makes this transaction the only writer of a drive's tree until
// it ends, on PostgreSQL; SQLite has one writer anyway. Structural changes
// (create, upload, rename, move, delete, share) take it first, so each sees
// the tree as the last one left it, and locks are taken in one order.
func (tx *Tx) lockDrive(driveID string) error {
	if !tx.s.postgres {
		return nil
	}
	var id string
	err := tx.queryRow(`SELECT id FROM drives WHERE id = ? FOR UPDATE`, driveID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("The drive")
	}
	return err
}

// stmt returns q prepared on db, preparing it once per process. The set of
// query texts is fixed by the code, so the cache stays small.
func (s *Store) stmt(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	cache := s.stmtCache(db)
	if st, ok := cache.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, s.rebind(q))
	if err != nil {
		return nil, err
	}
	if prev, loaded := cache.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (s *Store) stmtCache(db *sql.DB) *sync.Map {
	if db == s.write && s.write != s.read {
		return &s.wstmts
	}
	return &s.stmts
}

// stmt returns q prepared for this transaction's connection. A statement
// not yet cached is prepared on the transaction alone, and cached in the
// background: preparing on the pool needs a connection, and SQLite's only
// writer connection is the one this transaction holds.
func (tx *Tx) stmt(q string) (*sql.Stmt, error) {
	if st, ok := tx.s.stmtCache(tx.s.write).Load(q); ok {
		return tx.StmtContext(tx.ctx, st.(*sql.Stmt)), nil
	}
	key := q
	if tx.s.write != tx.s.read {
		key = "w:" + q
	}
	if _, loaded := tx.s.preparing.LoadOrStore(key, true); !loaded {
		tx.s.bg.Add(1)
		go func() {
			defer tx.s.bg.Done()
			tx.s.stmt(context.Background(), tx.s.write, q)
		}()
	}
	return tx.PrepareContext(tx.ctx, tx.s.rebind(q))
}

func (tx *Tx) exec(q string, args ...any) (sql.Result, error) {
	st, err := tx.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(tx.ctx, args...)
}

func (tx *Tx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := tx.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(tx.ctx, args...)
}

func (tx *Tx) queryRow(q string, args ...any) *sql.Row {
	st, err := tx.stmt(q)
	if err != nil {
		return tx.QueryRowContext(tx.ctx, tx.s.rebind(q), args...) // reports err on Scan
	}
	return st.QueryRowContext(tx.ctx, args...)
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, s.read, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := s.stmt(ctx, s.read, q)
	if err != nil {
		return s.read.QueryRowContext(ctx, s.rebind(q), args...) // reports err on Scan
	}
	return st.QueryRowContext(ctx, args...)
}

// micros and fromMicros convert times to and from their column encoding.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

// isUniqueViolation reports whether err is a unique constraint failure on
// either database.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

func notFound(what string) error {
	return gatehouse.Errorf(gatehouse.ENOTFOUND, "%s was not found.", what)
}
