package store_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/blob"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

func TestRecordAccess(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ann@example.com")
			f := e.file(by, d, d.RootID, "a.txt", "a")
			sharing := gatehouse.NewUUID()
			guest := gatehouse.Actor{Principal: gatehouse.RecipientPrincipal("guest@example.org"), Origin: gatehouse.Origin{ClientIP: "203.0.113.5", UserAgent: "curl", ShareID: sharing}}
			if err := e.RecordAccess(ctx, guest, gatehouse.OpFileDownloaded, f); err != nil {
				t.Fatalf("RecordAccess: %v", err)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFileDownloaded, UserID: "guest@example.org", UserType: gatehouse.UserTypeAdHoc,
				ClientIP: "203.0.113.5", ObjectID: e.objectID(f), ItemType: "File", SourceFileName: "a.txt", UniqueSharingID: sharing})

			// Many at once: each call returns after its own record is in.
			before := e.auditCount()
			var wg sync.WaitGroup
			errs := make(chan error, 40)
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a := guest
					a.ClientIP = fmt.Sprintf("203.0.113.%d", i)
					errs <- e.RecordAccess(ctx, a, gatehouse.OpFileAccessed, f)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("parallel RecordAccess: %v", err)
				}
			}
			if got := e.auditCount() - before; got != 40 {
				t.Errorf("records after 40 parallel RecordAccess: got %d, want 40", got)
			}
			if n, brk, err := e.VerifyAudit(ctx); err != nil || brk != nil || int(n) != e.auditCount() {
				t.Errorf("VerifyAudit: got %d, %+v, %v; want %d and no break", n, brk, err, e.auditCount())
			}
		})
	}
}

// TestRecordAccessAfterClose checks that a late access during shutdown gets
// an error instead of crashing the process.
func TestRecordAccessAfterClose(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dir := t.TempDir()
			dsn := b.DSN(t, dir)
			blobs, err := blob.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			s, err := store.Open(ctx, dsn, blobs, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("RecordAccess after Close panicked: %v; want an error", p)
				}
			}()
			it := &gatehouse.Item{ID: "i", DriveID: "d", Name: "a.txt"}
			if err := s.RecordAccess(ctx, gatehouse.SystemActor(), gatehouse.OpFileAccessed, it); err == nil {
				t.Errorf("RecordAccess after Close: got nil, want an error")
			}
		})
	}
}

func TestSearchAudit(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			start := e.clock.Now()
			_, ann, annDrive := e.member("ann@example.com")
			_, bob, bobDrive := e.member("bob@example.com")
			// Several records share a time, so the order falls back to seq
			// and pages split inside one instant.
			var folders []*gatehouse.Item
			for i := range 4 {
				e.clock.Advance(time.Minute)
				folders = append(folders, e.folder(ann, annDrive, annDrive.RootID, fmt.Sprintf("a%d", i)))
				e.folder(bob, bobDrive, bobDrive.RootID, fmt.Sprintf("b%d", i))
				e.folder(ann, annDrive, folders[i].ID, "inner")
			}
			e.clock.Advance(time.Minute)
			f := e.file(ann, annDrive, annDrive.RootID, "shared.txt", "x")
			share1, share2 := gatehouse.NewUUID(), gatehouse.NewUUID()
			guest := gatehouse.Actor{Principal: gatehouse.RecipientPrincipal("guest@example.org"), Origin: gatehouse.Origin{ClientIP: "203.0.113.5"}}
			for _, s := range []string{share1, share1, share2} {
				e.clock.Advance(time.Second)
				guest.ShareID = s
				if err := e.RecordAccess(ctx, guest, gatehouse.OpFileDownloaded, f); err != nil {
					t.Fatal(err)
				}
			}
			total := e.auditCount()

			all := e.records(gatehouse.AuditFilter{})
			if len(all) != total {
				t.Fatalf("SearchAudit with no filter: got %d records, want %d", len(all), total)
			}
			for i := 1; i < len(all); i++ {
				p, c := all[i-1], all[i]
				if c.CreationTime.After(p.CreationTime) || (c.CreationTime.Equal(p.CreationTime) && c.Seq >= p.Seq) {
					t.Errorf("order: record %d (seq %d, %v) after record %d (seq %d, %v), want newest first", i, c.Seq, c.CreationTime, i-1, p.Seq, p.CreationTime)
				}
			}

			// Paging with every page size returns each record exactly once.
			for _, limit := range []int{1, 2, 3, 5, 7, total - 1, total, total + 1} {
				var got []int64
				var after *store.AuditCursor
				for pages := 0; ; pages++ {
					if pages > total+1 {
						t.Fatalf("limit %d: paging does not end", limit)
					}
					page, next, err := e.SearchAudit(ctx, gatehouse.AuditFilter{Limit: limit}, after)
					if err != nil {
						t.Fatal(err)
					}
					if len(page) > limit {
						t.Fatalf("limit %d: got a page of %d", limit, len(page))
					}
					for _, r := range page {
						got = append(got, r.Seq)
					}
					if next == nil {
						break
					}
					after = next
				}
				var want []int64
				for _, r := range all {
					want = append(want, r.Seq)
				}
				if !slices.Equal(got, want) {
					t.Errorf("paging with limit %d: got seqs %v, want %v", limit, got, want)
				}
			}

			seqs := func(rs []*gatehouse.Record) []int64 {
				var out []int64
				for _, r := range rs {
					out = append(out, r.Seq)
				}
				return out
			}
			// expect filters all with a predicate: the store's answer must
			// equal the matching subset of the full log, in order.
			expect := func(name string, f gatehouse.AuditFilter, match func(r *gatehouse.Record) bool, wantN int) {
				t.Helper()
				var want []*gatehouse.Record
				for _, r := range all {
					if match(r) {
						want = append(want, r)
					}
				}
				if len(want) != wantN {
					t.Fatalf("%s: the test data has %d matches, want %d", name, len(want), wantN)
				}
				f.Limit = 2
				got := e.records(f)
				if !slices.Equal(seqs(got), seqs(want)) {
					t.Errorf("SearchAudit %s: got seqs %v, want %v", name, seqs(got), seqs(want))
				}
			}
			expect("operation", gatehouse.AuditFilter{Operation: gatehouse.OpFolderCreated},
				func(r *gatehouse.Record) bool { return r.Operation == gatehouse.OpFolderCreated }, 12)
			expect("user", gatehouse.AuditFilter{UserID: "bob@example.com"},
				func(r *gatehouse.Record) bool { return r.UserID == "bob@example.com" }, 4)
			expect("user in another case", gatehouse.AuditFilter{UserID: "Bob@Example.com"},
				func(r *gatehouse.Record) bool { return r.UserID == "bob@example.com" }, 4)
			expect("operation and user", gatehouse.AuditFilter{Operation: gatehouse.OpFolderCreated, UserID: "ann@example.com"},
				func(r *gatehouse.Record) bool {
					return r.Operation == gatehouse.OpFolderCreated && r.UserID == "ann@example.com"
				}, 8)
			expect("object", gatehouse.AuditFilter{ObjectID: e.objectID(f)},
				func(r *gatehouse.Record) bool { return r.ObjectID == e.objectID(f) }, 4)
			expect("sharing id", gatehouse.AuditFilter{UniqueSharingID: share1},
				func(r *gatehouse.Record) bool { return r.UniqueSharingID == share1 }, 2)
			expect("sharing id in another case", gatehouse.AuditFilter{UniqueSharingID: strings.ToUpper(share1)},
				func(r *gatehouse.Record) bool { return r.UniqueSharingID == share1 }, 2)
			since, until := start.Add(2*time.Minute), start.Add(4*time.Minute)
			expect("since and until", gatehouse.AuditFilter{Since: since, Until: until},
				func(r *gatehouse.Record) bool { return !r.CreationTime.Before(since) && r.CreationTime.Before(until) }, 6)
			expect("since", gatehouse.AuditFilter{Since: start.Add(5 * time.Minute)},
				func(r *gatehouse.Record) bool { return !r.CreationTime.Before(start.Add(5 * time.Minute)) }, 4)
			expect("until", gatehouse.AuditFilter{Until: start.Add(time.Minute)},
				func(r *gatehouse.Record) bool { return r.CreationTime.Before(start.Add(time.Minute)) }, 2)
			expect("nothing", gatehouse.AuditFilter{Operation: gatehouse.OpUserDeleted},
				func(r *gatehouse.Record) bool { return false }, 0)

			// Records round-trip: what SearchAudit returns hashes to itself.
			for i := len(all) - 1; i > 0; i-- {
				if all[i-1].Seq == all[i].Seq+1 && all[i-1].PrevHash != all[i].Hash {
					t.Errorf("record %d: PrevHash %s, want the hash of record %d", all[i-1].Seq, all[i-1].PrevHash, all[i].Seq)
				}
			}
			for _, r := range all {
				if got := gatehouse.KeyedChainHash(e.key, r.PrevHash, r); got != r.Hash {
					t.Errorf("record %d from SearchAudit does not hash to its Hash", r.Seq)
				}
			}
		})
	}
}

// auditRow is an audit_records row as stored, for tampering.
type auditRow struct {
	seq  int64
	cols []any // every column after seq, in auditCols order
}

const auditCols = `id, creation_time, operation, user_id, user_type, client_ip, user_agent, object_id, item_type,
	source_file_name, source_relative_url, target_user_or_group_name, target_user_or_group_type, unique_sharing_id,
	event_data, result_status, prev_hash, hash`

func (e *env) auditRow(seq int64) auditRow {
	e.t.Helper()
	r := e.DB()
	cols := make([]any, 18)
	ptrs := make([]any, 18)
	for i := range cols {
		ptrs[i] = &cols[i]
	}
	if err := r.db.QueryRowContext(ctx, r.rebind(`SELECT `+auditCols+` FROM audit_records WHERE seq = ?`), seq).Scan(ptrs...); err != nil {
		e.t.Fatalf("read audit record %d: %v", seq, err)
	}
	return auditRow{seq: seq, cols: cols}
}

// setAuditRow overwrites every column but seq of record seq.
func (e *env) setAuditRow(seq int64, cols []any) {
	e.t.Helper()
	var set []string
	for _, c := range strings.Split(auditCols, ",") {
		set = append(set, strings.TrimSpace(c)+" = ?")
	}
	args := append(slices.Clone(cols), seq)
	e.exec(`UPDATE audit_records SET `+strings.Join(set, ", ")+` WHERE seq = ?`, args...)
}

func (e *env) insertAuditRow(seq int64, cols []any) {
	e.t.Helper()
	args := append([]any{seq}, cols...)
	e.exec(`INSERT INTO audit_records (seq, `+auditCols+`) VALUES (?`+strings.Repeat(", ?", 18)+`)`, args...)
}

// seed fills a fresh store with n real records of distinct content.
func (e *env) seed(n int) {
	e.t.Helper()
	base := e.clock.Now()
	err := e.SeedAudit(ctx, n, func(i int, r *gatehouse.Record) {
		r.Operation = gatehouse.OpFileAccessed
		r.UserID = fmt.Sprintf("user%d@example.com", i%7)
		r.ObjectID = fmt.Sprintf("/v1.0/drives/d/items/%d", i)
		r.SourceFileName = fmt.Sprintf("file%d.txt", i)
		r.CreationTime = base.Add(time.Duration(i) * time.Second)
	})
	if err != nil {
		e.t.Fatalf("SeedAudit: %v", err)
	}
}

func TestVerifyAuditIntact(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			n, brk, err := e.VerifyAudit(ctx)
			if err != nil || brk != nil || n != 0 {
				t.Errorf("VerifyAudit of an empty log: got %d, %+v, %v; want 0 and no break", n, brk, err)
			}
			_, by, d := e.member("ann@example.com")
			e.file(by, d, d.RootID, "a.txt", "a")
			e.Login(ctx, "ann@example.com", "wrong password!", "192.0.2.1", "ua")
			e.Login(ctx, "ann@example.com", password, "192.0.2.1", "ua")
			n, brk, err = e.VerifyAudit(ctx)
			if err != nil || brk != nil || int(n) != e.auditCount() || n != 4 {
				t.Errorf("VerifyAudit: got %d, %+v, %v; want 4 records and no break", n, brk, err)
			}
		})
	}
}

func TestVerifyAuditTamper(t *testing.T) {
	const n = 7
	missing := func(seq int64) *regexp.Regexp { return regexp.MustCompile(fmt.Sprintf(`\b%d\b`, seq)) }
	tests := []struct {
		name       string
		tamper     func(e *env)
		wantSeq    int64
		wantReason *regexp.Regexp // nil: any reason
	}{
		{"change operation", func(e *env) { e.exec(`UPDATE audit_records SET operation = 'FileDeleted' WHERE seq = 4`) }, 4, nil},
		{"change user", func(e *env) { e.exec(`UPDATE audit_records SET user_id = 'someone@else.com' WHERE seq = 4`) }, 4, nil},
		{"change file name", func(e *env) { e.exec(`UPDATE audit_records SET source_file_name = 'other.txt' WHERE seq = 4`) }, 4, nil},
		{"change time", func(e *env) { e.exec(`UPDATE audit_records SET creation_time = creation_time + 1 WHERE seq = 4`) }, 4, nil},
		{"change id", func(e *env) { e.exec(`UPDATE audit_records SET id = 'forged' WHERE seq = 4`) }, 4, nil},
		{"change result", func(e *env) { e.exec(`UPDATE audit_records SET result_status = 'Failed' WHERE seq = 4`) }, 4, nil},
		{"change event data", func(e *env) { e.exec(`UPDATE audit_records SET event_data = '{}' WHERE seq = 4`) }, 4, nil},
		{"change hash", func(e *env) { e.exec(`UPDATE audit_records SET hash = ? WHERE seq = 4`, strings.Repeat("a", 64)) }, 4, nil},
		{"change prev hash", func(e *env) { e.exec(`UPDATE audit_records SET prev_hash = ? WHERE seq = 4`, strings.Repeat("b", 64)) }, 4, nil},
		{"change first", func(e *env) { e.exec(`UPDATE audit_records SET user_id = 'x' WHERE seq = 1`) }, 1, nil},
		{"delete middle", func(e *env) { e.exec(`DELETE FROM audit_records WHERE seq = 4`) }, 5, missing(4)},
		{"delete first", func(e *env) { e.exec(`DELETE FROM audit_records WHERE seq = 1`) }, 2, missing(1)},
		{"delete two", func(e *env) { e.exec(`DELETE FROM audit_records WHERE seq IN (3, 4)`) }, 5, missing(3)},
		{"insert forged", func(e *env) {
			// Make room after record 3 and insert a record that chains
			// correctly to it; the renumbered records then break. The
			// forger also moves the head.
			for seq := int64(n); seq >= 4; seq-- {
				e.exec(`UPDATE audit_records SET seq = ? WHERE seq = ?`, seq+1, seq)
			}
			prev := e.auditRow(3)
			forged := gatehouse.Record{Seq: 4, ID: gatehouse.NewUUID(), CreationTime: time.UnixMicro(prev.cols[1].(int64)).UTC(),
				Operation: gatehouse.OpFileDeleted, UserID: "innocent@example.com", ResultStatus: "Succeeded", PrevHash: prev.cols[17].(string)}
			forged.Hash = gatehouse.KeyedChainHash(e.key, forged.PrevHash, &forged)
			e.insertAuditRow(4, []any{forged.ID, prev.cols[1], forged.Operation, forged.UserID, "", "", "", "", "", "", "", "", "", "",
				"", forged.ResultStatus, forged.PrevHash, forged.Hash})
			e.exec(`UPDATE audit_head SET seq = ? WHERE id = 1`, n+1)
		}, 5, nil},
		{"insert forged with a bad hash", func(e *env) {
			for seq := int64(n); seq >= 4; seq-- {
				e.exec(`UPDATE audit_records SET seq = ? WHERE seq = ?`, seq+1, seq)
			}
			row := e.auditRow(3)
			row.cols[0] = gatehouse.NewUUID()
			e.insertAuditRow(4, row.cols)
		}, 4, nil},
		{"swap two", func(e *env) {
			a, b := e.auditRow(2), e.auditRow(5)
			e.setAuditRow(2, b.cols)
			e.setAuditRow(5, a.cols)
		}, 2, nil},
		{"swap neighbours", func(e *env) {
			a, b := e.auditRow(3), e.auditRow(4)
			e.setAuditRow(3, b.cols)
			e.setAuditRow(4, a.cols)
		}, 3, nil},
		{"delete last", func(e *env) { e.exec(`DELETE FROM audit_records WHERE seq = ?`, n) }, n, nil},
		{"delete last two", func(e *env) { e.exec(`DELETE FROM audit_records WHERE seq >= ?`, n-1) }, n - 1, nil},
		{"delete all", func(e *env) { e.exec(`DELETE FROM audit_records`) }, 1, nil},
		{"append beyond head", func(e *env) {
			last := e.auditRow(n)
			r := gatehouse.Record{Seq: n + 1, ID: gatehouse.NewUUID(), CreationTime: time.UnixMicro(last.cols[1].(int64)).UTC(),
				Operation: gatehouse.OpFileAccessed, ResultStatus: "Succeeded", PrevHash: last.cols[17].(string)}
			r.Hash = gatehouse.KeyedChainHash(e.key, r.PrevHash, &r)
			e.insertAuditRow(n+1, []any{r.ID, last.cols[1], r.Operation, "", "", "", "", "", "", "", "", "", "", "",
				"", r.ResultStatus, r.PrevHash, r.Hash})
		}, n + 1, nil}, // the first record the head does not cover
		// The head no longer matches the last record: the break names that
		// record, not one past the end.
		{"rewrite the head", func(e *env) { e.exec(`UPDATE audit_head SET hash = ? WHERE id = 1`, strings.Repeat("c", 64)) }, n, nil},
	}
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e := newEnv(t, b)
					e.seed(n)
					if _, brk, err := e.VerifyAudit(ctx); err != nil || brk != nil {
						t.Fatalf("VerifyAudit before tampering: %+v, %v", brk, err)
					}
					tt.tamper(e)
					checked, brk, err := e.VerifyAudit(ctx)
					if err != nil {
						t.Fatalf("VerifyAudit: %v", err)
					}
					if brk == nil {
						t.Fatalf("VerifyAudit after %s: got no break (checked %d), want one at record %d", tt.name, checked, tt.wantSeq)
					}
					if brk.Seq != tt.wantSeq {
						t.Errorf("VerifyAudit after %s: got a break at %d (%s), want %d", tt.name, brk.Seq, brk.Reason, tt.wantSeq)
					}
					if brk.Reason == "" {
						t.Errorf("VerifyAudit after %s: the break has no reason", tt.name)
					}
					if tt.wantReason != nil && !tt.wantReason.MatchString(brk.Reason) {
						t.Errorf("VerifyAudit after %s: reason %q, want it to name %s", tt.name, brk.Reason, tt.wantReason)
					}
				})
			}
		})
	}
}

func TestAuditConcurrentWriters(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ann@example.com")
			before := e.auditCount()
			const workers, each = 8, 20
			var wg sync.WaitGroup
			errs := make(chan error, workers*each)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						if _, err := e.CreateFolder(ctx, by, d.ID, d.RootID, fmt.Sprintf("w%d-%02d", w, i)); err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("parallel CreateFolder: %v", err)
			}
			if got := e.auditCount() - before; got != workers*each {
				t.Errorf("new audit records: got %d, want %d", got, workers*each)
			}
			if got := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpFolderCreated})); got != workers*each {
				t.Errorf("FolderCreated records: got %d, want %d", got, workers*each)
			}
			kids, _, err := e.Children(ctx, d.ID, d.RootID, nil, 1000)
			if err != nil || len(kids) != workers*each {
				t.Errorf("Children: got %d, %v; want %d", len(kids), err, workers*each)
			}
			n, brk, err := e.VerifyAudit(ctx)
			if err != nil || brk != nil || int(n) != e.auditCount() {
				t.Errorf("VerifyAudit after parallel writers: got %d, %+v, %v; want %d and no break", n, brk, err, e.auditCount())
			}
		})
	}
}

// Two nodes append to one chain, each guessing the head is where it left
// it (appendGuessed): every guess the other node made wrong must fall back
// to reading the head, so the chain stays whole, and every change raises
// the access epoch exactly once.
func TestAuditWritersOfTwoNodes(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			other := e.open(t.TempDir())
			_, by, d := e.member("ann@example.com")
			before, epoch := e.auditCount(), e.count(`SELECT epoch FROM audit_head WHERE id = 1`)
			const workers, each = 16, 10
			var wg sync.WaitGroup
			for w := range workers {
				s := []*store.Store{e.Store, other}[w%2]
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						if _, err := s.CreateFolder(ctx, by, d.ID, d.RootID, fmt.Sprintf("w%d-%02d", w, i)); err != nil {
							t.Errorf("CreateFolder: %v", err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if got := e.auditCount() - before; got != workers*each {
				t.Errorf("new audit records: got %d, want %d", got, workers*each)
			}
			if got := e.count(`SELECT epoch FROM audit_head WHERE id = 1`) - epoch; got != workers*each {
				t.Errorf("the epoch rose by %d, want %d", got, workers*each)
			}
			if n, brk, err := e.VerifyAudit(ctx); err != nil || brk != nil || int(n) != e.auditCount() {
				t.Errorf("VerifyAudit: %d, %+v, %v; want %d and no break", n, brk, err, e.auditCount())
			}
		})
	}
}

func TestSeedAudit(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ann@example.com") // a real record first: seeding continues the chain
			e.folder(by, d, d.RootID, "x")
			before := e.auditCount()
			if err := e.SeedAudit(ctx, 0, func(int, *gatehouse.Record) { t.Error("gen called for n = 0") }); err != nil {
				t.Fatalf("SeedAudit(0): %v", err)
			}
			// More than one batch of 5000, to cross the seeding and the
			// verification batch boundaries.
			const n = 5003
			base := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
			var calls []int
			err := e.SeedAudit(ctx, n, func(i int, r *gatehouse.Record) {
				calls = append(calls, i)
				r.Operation = []string{gatehouse.OpFileAccessed, gatehouse.OpFileDownloaded}[i%2]
				r.UserID = fmt.Sprintf("user%d@example.com", i%10)
				r.CreationTime = base.Add(time.Duration(i) * time.Millisecond)
			})
			if err != nil {
				t.Fatalf("SeedAudit: %v", err)
			}
			if len(calls) != n || calls[0] != 0 || calls[n-1] != n-1 {
				t.Errorf("gen calls: got %d calls from %d to %d, want 0..%d", len(calls), calls[0], calls[len(calls)-1], n-1)
			}
			if got := e.auditCount() - before; got != n {
				t.Errorf("records after SeedAudit: got %d new, want %d", got, n)
			}
			checked, brk, err := e.VerifyAudit(ctx)
			if err != nil || brk != nil || int(checked) != before+n {
				t.Errorf("VerifyAudit after SeedAudit: got %d, %+v, %v; want %d and no break", checked, brk, err, before+n)
			}
			page, _, err := e.SearchAudit(ctx, gatehouse.AuditFilter{UserID: "user3@example.com", Since: base, Until: base.Add(time.Second), Limit: 1000}, nil)
			if err != nil || len(page) != 100 {
				t.Errorf("SearchAudit over seeded records: got %d, %v; want 100", len(page), err)
			}
			for _, r := range page {
				if r.UserID != "user3@example.com" || r.ResultStatus != "Succeeded" || r.ID == "" {
					t.Errorf("seeded record %d: got %+v", r.Seq, r)
					break
				}
			}
		})
	}
}
