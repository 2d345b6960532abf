package store_test

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// TestRecordAccessBatches sends more parallel access records than one
// multi-row INSERT holds, so group commits of many sizes are written in
// chunks: every record is there once, with its own fields, in one
// unbroken chain.
func TestRecordAccessBatches(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ann@example.com")
			f := e.file(by, d, d.RootID, "a.txt", "a")
			before := e.auditCount()
			const n = 301
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a := gatehouse.Actor{Principal: gatehouse.RecipientPrincipal(fmt.Sprintf("r%03d@example.org", i)),
						Origin: gatehouse.Origin{ClientIP: fmt.Sprintf("198.51.100.%d", i%250), UserAgent: fmt.Sprint("agent ", i)}}
					if err := e.RecordAccessData(ctx, a, gatehouse.OpFileDownloaded, f, map[string]any{"i": i}); err != nil {
						t.Errorf("RecordAccessData %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			if got := e.auditCount() - before; got != n {
				t.Fatalf("%d records after %d parallel downloads", got, n)
			}
			seen := map[string]bool{}
			for _, r := range e.records(gatehouse.AuditFilter{Operation: gatehouse.OpFileDownloaded, Limit: 1000}) {
				var i int
				fmt.Sscanf(r.UserID, "r%03d@example.org", &i)
				if r.UserAgent != fmt.Sprint("agent ", i) || r.EventData != fmt.Sprintf(`{"i":%d}`, i) || r.ObjectID != e.objectID(f) {
					t.Errorf("record of %s: agent %q, data %s", r.UserID, r.UserAgent, r.EventData)
				}
				if seen[r.UserID] {
					t.Errorf("two records of %s", r.UserID)
				}
				seen[r.UserID] = true
			}
			if len(seen) != n {
				t.Errorf("%d distinct downloaders recorded, want %d", len(seen), n)
			}
			if m, brk, err := e.VerifyAudit(ctx); err != nil || brk != nil || int(m) != e.auditCount() {
				t.Errorf("VerifyAudit: %d, %+v, %v; want %d and no break", m, brk, err, e.auditCount())
			}
		})
	}
}

// Two nodes appending access records and changes at once keep one chain:
// each node's access writer guesses the head it last saw commit, and a
// guess the other node has overtaken must write nothing.
func TestAccessBatchesOfTwoNodes(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			other := e.open(t.TempDir())
			u, by, d := e.member("ann@example.com")
			f := e.file(by, d, d.RootID, "a.txt", "a")
			before := e.auditCount()
			const n = 16
			var wg sync.WaitGroup
			for i := range n {
				for _, s := range []*store.Store{e.Store, other} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for j := range 20 {
							if err := s.RecordAccess(ctx, by, gatehouse.OpFileDownloaded, f); err != nil {
								t.Errorf("RecordAccess %d/%d: %v", i, j, err)
								return
							}
						}
					}()
				}
			}
			// Changes in between raise the epoch and move the head.
			for j := range 10 {
				if _, _, err := other.CreateToken(ctx, u.ID, fmt.Sprint("t", j)); err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprint("Ann ", j)
				if _, err := other.UpdateUser(ctx, by, u.ID, store.UserUpdate{DisplayName: &name}); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			if got, want := e.auditCount()-before, 2*n*20+10; got != want {
				t.Errorf("%d records, want %d (640 downloads, 10 user updates)", got, want)
			}
			if m, brk, err := e.VerifyAudit(ctx); err != nil || brk != nil || int(m) != e.auditCount() {
				t.Errorf("VerifyAudit: %d, %+v, %v; want %d and no break", m, brk, err, e.auditCount())
			}
		})
	}
}

// BenchmarkRecordAccess is the group commit under 32 parallel downloads:
// wall time per record, and the process's CPU per record (the database's
// own processes left out on PostgreSQL).
//
//	go test ./internal/store -run X -bench RecordAccess -benchtime 20000x
func BenchmarkRecordAccess(b *testing.B) {
	for _, be := range testenv.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be)
			_, by, d := e.member("ann@example.com")
			f := e.file(by, d, d.RootID, "a.txt", "a")
			guest := gatehouse.Actor{Principal: gatehouse.RecipientPrincipal("guest@example.org"),
				Origin: gatehouse.Origin{ClientIP: "203.0.113.5", UserAgent: "bench", ShareID: gatehouse.NewUUID()}}
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			b.SetParallelism(16) // 32 on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := e.RecordAccess(ctx, guest, gatehouse.OpFileDownloaded, f); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) + syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
