package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/blob"
	"gatehouse/internal/store"
)

// benchStore opens a SQLite store for a benchmark with a direct connection.
func benchStore(b *testing.B) (*store.Store, *sql.DB) {
	dir := b.TempDir()
	blobs, err := blob.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "gatehouse.db")
	s, err := store.Open(context.Background(), path, blobs, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { raw.Close() })
	return s, raw
}

var codeRE = regexp.MustCompile(`\b\d{8}\b`)

// BenchmarkPasscodeVerify measures passcode verifications per second on
// SQLite with 10,000 links and 100,000 recipients loaded, against a
// baseline of the smallest write transaction the store makes (a token
// revocation) in the same run.
func BenchmarkPasscodeVerify(b *testing.B) {
	ctx := context.Background()
	s, raw := benchStore(b)
	u, err := s.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: "owner@example.com", DisplayName: "Owner", Password: "correct horse battery"})
	if err != nil {
		b.Fatal(err)
	}
	d, _ := s.DriveByOwner(ctx, u.ID)
	by := gatehouse.UserActor(u, "127.0.0.1", "bench")
	folder, err := s.CreateFolder(ctx, by, d.ID, d.RootID, "Shared")
	if err != nil {
		b.Fatal(err)
	}

	// 10,000 links with 10 recipients each, loaded directly.
	const links, perLink = 10000, 10
	tokens := make([]string, links)
	tx, _ := raw.Begin()
	now := time.Now().UnixMicro()
	for i := range links {
		tokens[i] = fmt.Sprintf("benchtoken%040d", i)
		sum := sha256.Sum256([]byte(tokens[i]))
		id := fmt.Sprintf("link%06d", i)
		if _, err := tx.Exec(`INSERT INTO links (id, share_id, token, token_hash, item_id, drive_id, created_by, scope, role, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'users', 'read', ?, ?)`, id, gatehouse.NewUUID(), tokens[i], hex.EncodeToString(sum[:]),
			folder.ID, d.ID, u.ID, now, now); err != nil {
			b.Fatal(err)
		}
		for j := range perLink {
			if _, err := tx.Exec(`INSERT INTO link_recipients (link_id, email, added_at, added_by) VALUES (?, ?, ?, ?)`,
				id, fmt.Sprintf("r%d@partner%d.test", j, i), now, u.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}

	// One live code per pair to redeem, read from the outbox as mailed.
	type pair struct{ token, email, code string }
	pairs := make([]pair, b.N)
	for i := range b.N {
		l := (i * 7919) % links // distinct pairs, spread over the links
		email := fmt.Sprintf("r%d@partner%d.test", (i/links)%perLink, l)
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		if err := s.SendPasscode(ctx, tokens[l], email, ip, "bench"); err != nil {
			b.Fatal(err)
		}
		var text string
		if err := raw.QueryRow(`SELECT text_body FROM outbox WHERE to_addr = ? ORDER BY created_at DESC LIMIT 1`, email).Scan(&text); err != nil {
			b.Fatal(err)
		}
		pairs[i] = pair{tokens[l], email, codeRE.FindString(text)}
	}

	run := func(name string, n int, fn func(i int) error) float64 {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					if err := fn(i); err != nil {
						b.Errorf("%s %d: %v", name, i, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(n) / time.Since(start).Seconds()
	}
	b.ResetTimer()
	verified := run("verify", b.N, func(i int) error {
		p := pairs[i]
		_, err := s.VerifyPasscode(ctx, p.token, p.email, p.code, false, "10.9.9.9", "bench")
		return err
	})
	b.StopTimer()
	tokenIDs := make([]string, b.N)
	for i := range b.N {
		t, _, err := s.CreateToken(ctx, u.ID, "bench")
		if err != nil {
			b.Fatal(err)
		}
		tokenIDs[i] = t.ID
	}
	baseline := run("baseline", b.N, func(i int) error { return s.RevokeToken(ctx, tokenIDs[i]) })
	b.ReportMetric(verified, "verifications/s")
	b.ReportMetric(baseline, "baseline-tx/s")
	b.ReportMetric(verified/baseline, "ratio")
}
