//go:build seed

package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"gatehouse"
)

// Built only with -tags seed, like the seeder it needs:
// go test -tags seed ./internal/store -run X -bench AuditSearch -benchtime 300x -timeout 30m

// BenchmarkAuditSearch measures the p95 of searches by operation and time
// range over 1,000,000 records on SQLite, against a primary-key lookup of
// one record as the baseline, in the same run. Seeding takes a few minutes;
// run it with -bench AuditSearch -benchtime 200x.
func BenchmarkAuditSearch(b *testing.B) {
	ctx := context.Background()
	s, raw := benchStore(b)
	const n = 1_000_000
	span := 30 * 24 * time.Hour
	start := time.Now().Add(-span)
	ops := []string{gatehouse.OpFileAccessed, gatehouse.OpFileDownloaded, gatehouse.OpFileUploaded, gatehouse.OpUserLoggedIn,
		gatehouse.OpSecureLinkUsed, gatehouse.OpPasscodeSent, gatehouse.OpFolderCreated, gatehouse.OpFileDeleted}
	step := span / n
	t0 := time.Now()
	if err := s.SeedAudit(ctx, n, func(i int, r *gatehouse.Record) {
		r.CreationTime = start.Add(time.Duration(i) * step)
		r.Operation = ops[i%len(ops)]
		r.UserID = fmt.Sprintf("user%d@example.com", i%500)
		r.UserType = gatehouse.UserTypeMember
		r.ObjectID = fmt.Sprintf("https://files.example.com/v1.0/drives/d/items/i%d", i%20000)
		r.ItemType = "File"
		r.SourceFileName = fmt.Sprintf("file-%d.txt", i%20000)
	}); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d records in %s", n, time.Since(t0).Round(time.Second))

	p95 := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)*95/100]
	}
	searches := make([]time.Duration, 0, b.N)
	lookups := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		from := start.Add(time.Duration(rand.Int64N(int64(span - 24*time.Hour))))
		f := gatehouse.AuditFilter{Operation: ops[i%len(ops)], Since: from, Until: from.Add(24 * time.Hour), Limit: 100}
		t := time.Now()
		recs, _, err := s.SearchAudit(ctx, f, nil)
		searches = append(searches, time.Since(t))
		if err != nil || len(recs) != 100 {
			b.Fatalf("search: %d records, %v", len(recs), err)
		}
		seq := rand.Int64N(n) + 1
		t = time.Now()
		var id string
		if err := raw.QueryRow(`SELECT id FROM audit_records WHERE seq = ?`, seq).Scan(&id); err != nil {
			b.Fatal(err)
		}
		lookups = append(lookups, time.Since(t))
	}
	b.StopTimer()
	sp, lp := p95(searches), p95(lookups)
	b.ReportMetric(float64(sp.Microseconds())/1000, "search-p95-ms")
	b.ReportMetric(float64(lp.Microseconds())/1000, "pk-lookup-p95-ms")
}
