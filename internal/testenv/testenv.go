// Package testenv finds the real services tests run against: PostgreSQL and
// Chromium. On a bare machine those tests skip and say why; CI sets the
// variables that make them required.
package testenv

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"gatehouse"
)

// Backend is a database a test runs against.
type Backend struct {
	Name string
	// DSN returns the address of a fresh, empty database for one test.
	DSN func(t testing.TB, dataDir string) string
}

// Backends returns SQLite, and PostgreSQL when GATEHOUSE_TEST_POSTGRES is
// set. Run the test body once per backend with t.Run(b.Name, …).
func Backends() []Backend {
	bs := []Backend{{Name: "sqlite", DSN: func(t testing.TB, dir string) string { return dir + "/gatehouse.db" }}}
	bs = append(bs, Backend{Name: "postgres", DSN: func(t testing.TB, _ string) string { return PostgresDSN(t) }})
	return bs
}

// PostgresDSN returns a DSN for a new schema in the database named by
// GATEHOUSE_TEST_POSTGRES, dropped when the test ends. It skips the test
// when the variable is unset.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if base == "" {
		t.Skip("skipping PostgreSQL: set GATEHOUSE_TEST_POSTGRES=postgres://user@127.0.0.1:5432/test to run it (.ci/run does)")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	schema := "t_" + strings.ToLower(gatehouse.NewID())
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("PostgreSQL at GATEHOUSE_TEST_POSTGRES is required but did not answer: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Chromium returns the path of a Chromium binary. Without one it skips the
// test, unless GATEHOUSE_TEST_BROWSER=1 makes browser tests required.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GATEHOUSE_TEST_BROWSER") == "1" {
		t.Fatal("GATEHOUSE_TEST_BROWSER=1 but no Chromium was found; install it (apt-get install -y chromium) or set GATEHOUSE_CHROMIUM")
	}
	t.Skip("skipping browser test: no Chromium found (apt-get install -y chromium; .ci/run does)")
	return ""
}
