package store_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/blob"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// ReferencedBlobs answers for current content and for versions, and leaves
// out keys nothing uses.
func TestReferencedBlobs(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ada@example.com")
			v1 := e.file(by, d, d.RootID, "a.txt", "one")
			v2 := e.file(by, d, d.RootID, "a.txt", "two") // v1's content becomes a version
			other := e.file(by, d, d.RootID, "b.txt", "three")
			if v1.BlobKey == v2.BlobKey {
				t.Fatalf("a new version kept the content key %s", v1.BlobKey)
			}
			unknown := "00000000000000000000000000000000"
			got, err := e.ReferencedBlobs(ctx, []string{v1.BlobKey, v2.BlobKey, other.BlobKey, unknown})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{v1.BlobKey: true, v2.BlobKey: true, other.BlobKey: true}
			if len(got) != len(want) {
				t.Errorf("ReferencedBlobs = %v, want %v", got, want)
			}
			for k := range want {
				if !got[k] {
					t.Errorf("ReferencedBlobs left out %s (version or current content)", k)
				}
			}
			if got[unknown] {
				t.Errorf("ReferencedBlobs says the unused key %s is used", unknown)
			}
			if got, err := e.ReferencedBlobs(ctx, nil); err != nil || len(got) != 0 {
				t.Errorf("ReferencedBlobs(nil) = %v, %v; want empty", got, err)
			}
		})
	}
}

// The sweep's lookup reads both tables through an index on blob_key, not a
// scan per key: 25,000 blobs took 70 s before the index.
func TestReferencedBlobsUsesIndex(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			db := e.DB().db
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			explain := `EXPLAIN QUERY PLAN `
			if e.Postgres() {
				// Tiny tables are cheaper to scan; ask what the planner could do.
				if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
					t.Fatal(err)
				}
				explain = `EXPLAIN `
			}
			for _, table := range []string{"items", "item_versions"} {
				rows, err := conn.QueryContext(ctx, explain+`SELECT blob_key FROM `+table+` WHERE blob_key IN ('a', 'b', 'c')`)
				if err != nil {
					t.Fatal(err)
				}
				var plan []string
				for rows.Next() {
					cols, _ := rows.Columns()
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						t.Fatal(err)
					}
					plan = append(plan, fmt.Sprint(vals...))
				}
				rows.Close()
				p := strings.Join(plan, "\n")
				if !strings.Contains(p, table+"_blob_key") {
					t.Errorf("%s: the plan does not use %s_blob_key:\n%s", table, table, p)
				}
			}
		})
	}
}

// BenchmarkSweep100k measures the start-up sweep over 100,000 content files,
// half current content and half versions, one in a hundred an orphan. Run
// with -benchtime=1x; setup takes longer than the sweep.
func BenchmarkSweep100k(b *testing.B) {
	const total, orphanEvery = 100_000, 100
	for _, be := range testenv.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			dir := b.TempDir()
			dsn := be.DSN(b, dir)
			blobs, err := blob.Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			s, err := store.Open(ctx, dsn, blobs, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			u, err := s.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: "ada@example.com", DisplayName: "Ada", Password: password})
			if err != nil {
				b.Fatal(err)
			}
			d, err := s.DriveByOwner(ctx, u.ID)
			if err != nil {
				b.Fatal(err)
			}
			old := time.Now().Add(-2 * time.Hour)
			keys := make([]string, total)
			for i := range keys {
				keys[i] = fmt.Sprintf("%032x", i+1)
				p := blobs.Path(keys[i])
				if i < 256 {
					os.MkdirAll(filepath.Dir(p), 0o700)
				}
				if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
					b.Fatal(err)
				}
				os.Chtimes(p, old, old)
			}
			// References by multi-row inserts: half items, half versions.
			var itemRows, versionRows [][]any
			for i, k := range keys {
				switch {
				case i%orphanEvery == 0:
				case i%2 == 0:
					itemRows = append(itemRows, []any{fmt.Sprintf("it%d", i), d.ID, d.RootID, fmt.Sprintf("f%d", i), fmt.Sprintf("f%d", i),
						false, 1, "", k, "", 1, 1, 1, "bench", "bench"})
				default:
					owner := i - 1
					if owner%orphanEvery == 0 {
						owner = i + 1
					}
					versionRows = append(versionRows, []any{fmt.Sprintf("v%d", i), fmt.Sprintf("it%d", owner), 1, 1, "", k, 1, "bench"})
				}
			}
			raw := &rawDB{postgres: s.Postgres()}
			if raw.postgres {
				raw.db, err = sql.Open("pgx", dsn)
			} else {
				raw.db, err = sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)")
			}
			if err != nil {
				b.Fatal(err)
			}
			defer raw.db.Close()
			insert := func(q string, rows [][]any) {
				for len(rows) > 0 {
					n := min(len(rows), 200)
					ph := make([]string, n)
					var args []any
					for i := range n {
						ph[i] = "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rows[i])), ", ") + ")"
						args = append(args, rows[i]...)
					}
					if _, err := raw.db.ExecContext(ctx, raw.rebind(q+strings.Join(ph, ", ")), args...); err != nil {
						b.Fatal(err)
					}
					rows = rows[n:]
				}
			}
			insert(`INSERT INTO items (id, drive_id, parent_id, name, name_key, is_folder, size, sha256, blob_key, mime_type, version, created_at, modified_at, created_by, modified_by) VALUES `, itemRows)
			insert(`INSERT INTO item_versions (id, item_id, version, size, sha256, blob_key, created_at, created_by) VALUES `, versionRows)
			if raw.postgres {
				raw.db.ExecContext(ctx, `ANALYZE items`)
				raw.db.ExecContext(ctx, `ANALYZE item_versions`)
			}
			orphans := total / orphanEvery
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i > 0 {
					b.StopTimer()
					for j := 0; j < total; j += orphanEvery {
						p := blobs.Path(keys[j])
						os.WriteFile(p, []byte("x"), 0o600)
						os.Chtimes(p, old, old)
					}
					b.StartTimer()
				}
				start := time.Now()
				removed, err := blobs.Sweep(ctx, time.Now(), s.ReferencedBlobs)
				if err != nil || removed != orphans {
					b.Fatalf("Sweep removed %d, %v; want %d", removed, err, orphans)
				}
				b.Logf("%s: swept %d blobs (%d orphans) in %v", be.Name, total, orphans, time.Since(start).Round(time.Millisecond))
			}
		})
	}
}
