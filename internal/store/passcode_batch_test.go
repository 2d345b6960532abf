package store_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// inOneBatch starts each call in its own goroutine while the verification
// writer is held, and releases it once all of them wait, so they run in
// one batch; it returns when all have returned.
func inOneBatch(t *testing.T, s *store.Store, calls []func()) {
	t.Helper()
	queued, release := s.HoldVerifyBatches()
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		go func() { defer wg.Done(); c() }()
	}
	for deadline := time.Now().Add(time.Minute); queued() < len(calls); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			release()
			t.Fatalf("only %d of %d verifications reached the queue", queued(), len(calls))
		}
	}
	release()
	wg.Wait()
}

// sameBatchIPs returns n client addresses whose verifications go to the
// same writer, so that, queued together, they share a batch.
func sameBatchIPs(t *testing.T, s *store.Store, n int) []string {
	t.Helper()
	ips := []string{"198.51.100.1"}
	for i := 2; len(ips) < n && i < 255; i++ {
		if ip := fmt.Sprintf("198.51.100.%d", i); s.SameVerifyBatch(ips[0], ip) {
			ips = append(ips, ip)
		}
	}
	if len(ips) < n {
		t.Fatalf("only %d client addresses share a batch", len(ips))
	}
	return ips
}

// TestVerifyBatchSingleUse: 16 clients verify 16 distinct codes while 16
// others replay the same codes, all queued at once (on PostgreSQL spread
// over concurrent batches, some replays in the original's batch, some in
// another): each code verifies exactly once, and a later replay fails.
func TestVerifyBatchSingleUse(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			const n = 16
			emails := make([]string, n)
			for i := range emails {
				emails[i] = fmt.Sprintf("r%02d@partner.test", i)
			}
			e := newLinkEnv(t, b, emails...)
			e.deliver("") // the invitations
			codes := make([]string, n)
			for i, m := range emails {
				if codes[i] = e.send(m, fmt.Sprintf("192.0.2.%d", i+1)); codes[i] == "" {
					t.Fatalf("no code for %s", m)
				}
			}
			var mu sync.Mutex
			wins := map[string]int{}
			var calls []func()
			for i, m := range emails {
				for _, ip := range []string{fmt.Sprintf("198.51.100.%d", i+1), fmt.Sprintf("203.0.113.%d", i+1)} {
					calls = append(calls, func() {
						sess, err := e.VerifyPasscode(ctx, e.link.Token, m, codes[i], false, ip, "ua")
						switch {
						case err == nil && sess.Email == m:
							mu.Lock()
							wins[m]++
							mu.Unlock()
						case err == nil:
							t.Errorf("%s verified as %+v", m, sess)
						case gatehouse.ErrorCode(err) != gatehouse.EINVALID:
							t.Errorf("replay of %s's code: %v, want EINVALID", m, err)
						}
					})
				}
			}
			inOneBatch(t, e.Store, calls)
			for _, m := range emails {
				if wins[m] != 1 {
					t.Errorf("%s's code verified %d times in the batch, want once", m, wins[m])
				}
			}
			if got := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpPasscodeVerified})); got != n {
				t.Errorf("PasscodeVerified records: %d, want %d", got, n)
			}
			if got := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpPasscodeFailed})); got != n {
				t.Errorf("PasscodeFailed records: %d, want %d", got, n)
			}
			if got := e.count(`SELECT COUNT(*) FROM recipient_sessions`); got != n {
				t.Errorf("recipient sessions: %d, want %d", got, n)
			}
			for i, m := range emails {
				if _, err := e.VerifyPasscode(ctx, e.link.Token, m, codes[i], false, "192.0.2.200", "ua"); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
					t.Errorf("%s's code once more after the batch: %v, want EINVALID", m, err)
				}
			}
			if _, brk, err := e.VerifyAudit(ctx); err != nil || brk != nil {
				t.Errorf("VerifyAudit: %+v %v", brk, err)
			}
		})
	}
}

// TestVerifyBatchFailsAlone: in one batch with right codes, a wrong code
// fails and is counted, and a refused try (its client is blocked) is
// undone, changing and recording nothing; the right codes verify.
func TestVerifyBatchFailsAlone(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			emails := []string{"a@partner.test", "b@partner.test", "c@partner.test", "d@partner.test"}
			e := newLinkEnv(t, b, emails...)
			e.deliver("")
			codes := map[string]string{}
			for i, m := range emails {
				codes[m] = e.send(m, fmt.Sprintf("192.0.2.%d", i+1))
			}
			ips := sameBatchIPs(t, e.Store, 4)
			blocked := ips[3]
			now := e.clock.Now()
			e.exec(`INSERT INTO login_attempts (key, failures, window_start, blocked_until) VALUES (?, 60, ?, ?)`,
				"verify-ip:"+blocked, now.UnixMicro(), now.Add(time.Hour).UnixMicro())
			recordsBefore := e.auditCount()

			errs := make([]error, 4)
			verify := func(i int, m, code, ip string) func() {
				return func() { _, errs[i] = e.VerifyPasscode(ctx, e.link.Token, m, code, false, ip, "ua") }
			}
			inOneBatch(t, e.Store, []func(){
				verify(0, "a@partner.test", codes["a@partner.test"], ips[0]),
				verify(1, "b@partner.test", wrongCode(codes["b@partner.test"]), ips[1]),
				verify(2, "d@partner.test", codes["d@partner.test"], blocked),
				verify(3, "c@partner.test", codes["c@partner.test"], ips[2]),
			})
			if errs[0] != nil || errs[3] != nil {
				t.Errorf("right codes in the batch: %v, %v", errs[0], errs[3])
			}
			if gatehouse.ErrorCode(errs[1]) != gatehouse.EINVALID || store.CodeNoLongerValid(errs[1]) {
				t.Errorf("wrong code in the batch: %v, want invalidCode", errs[1])
			}
			if gatehouse.ErrorCode(errs[2]) != gatehouse.EINVALID {
				t.Errorf("blocked client in the batch: %v, want EINVALID", errs[2])
			}
			// Two verified, one failed: three records.
			if got := e.auditCount() - recordsBefore; got != 3 {
				t.Errorf("records written by the batch: %d, want 3", got)
			}
			if n := e.count(`SELECT COUNT(*) FROM passcode_failures WHERE client_ip = ?`, ips[1]); n != 1 {
				t.Errorf("failures counted for the wrong code: %d, want 1", n)
			}
			// The refused try was undone: not charged, no try at the code.
			if n := e.count(`SELECT failures FROM login_attempts WHERE key = ?`, "verify-ip:"+blocked); n != 60 {
				t.Errorf("blocked client's throttle count: %d, want 60 as before", n)
			}
			if n := e.count(`SELECT COUNT(*) FROM passcode_tries WHERE client_ip = ?`, blocked); n != 0 {
				t.Errorf("tries charged to the blocked client: %d, want 0", n)
			}
			// b's and d's codes are still live for their own clients.
			for _, m := range []string{"b@partner.test", "d@partner.test"} {
				if _, err := e.VerifyPasscode(ctx, e.link.Token, m, codes[m], false, "192.0.2.99", "ua"); err != nil {
					t.Errorf("%s's code after the batch: %v", m, err)
				}
			}
			if _, brk, err := e.VerifyAudit(ctx); err != nil || brk != nil {
				t.Errorf("VerifyAudit: %+v %v", brk, err)
			}
		})
	}
}

// TestVerifyBatchUndoesOnlyTheFailed: a failing member of a batch loses
// its writes and its queued records, the others keep theirs, and each runs
// once, so the batch committed as one rather than falling back to one
// transaction each. A panicking member panics in its caller's goroutine
// (where the HTTP server recovers it), and is undone like a failure.
func TestVerifyBatchUndoesOnlyTheFailed(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			boom := errors.New("boom")
			names := []string{"probe-a", "probe-b", "probe-c", "probe-d", "probe-e"}
			fails := map[string]error{"probe-b": boom, "probe-d": boom, "probe-e": store.PanicInVerifyBatch}
			panics := make([]any, len(names))
			runs := make([]atomic.Int32, len(names))
			errs := make([]error, len(names))
			ips := sameBatchIPs(t, e.Store, len(names))
			var calls []func()
			for i, name := range names {
				calls = append(calls, func() {
					defer func() { panics[i] = recover() }()
					errs[i] = e.WriteInVerifyBatch(ctx, ips[i], name, "BatchProbe-"+name, fails[name], &runs[i])
				})
			}
			inOneBatch(t, e.Store, calls)
			for i, name := range names {
				if runs[i].Load() != 1 {
					t.Errorf("%s ran %d times, want once", name, runs[i].Load())
				}
				if fails[name] == store.PanicInVerifyBatch {
					if panics[i] != "probe panic" {
						t.Errorf("%s: panic %v in its caller, want the probe's", name, panics[i])
					}
				} else if !errors.Is(errs[i], fails[name]) || panics[i] != nil {
					t.Errorf("%s: %v (panic %v), want %v", name, errs[i], panics[i], fails[name])
				}
				want := 1
				if fails[name] != nil {
					want = 0
				}
				if n := e.count(`SELECT COUNT(*) FROM secrets WHERE name = ?`, name); n != want {
					t.Errorf("%s's write: %d rows, want %d", name, n, want)
				}
				if n := len(e.records(gatehouse.AuditFilter{Operation: "BatchProbe-" + name})); n != want {
					t.Errorf("%s's records: %d, want %d", name, n, want)
				}
			}
			if _, brk, err := e.VerifyAudit(ctx); err != nil || brk != nil {
				t.Errorf("VerifyAudit: %+v %v", brk, err)
			}
		})
	}
}
