package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"gatehouse"
)

// HoldVerifyBatches occupies every verification writer of s with a batch
// of its own until release, so that the verifications queued meanwhile
// for one writer make its next batch together; queued says how many wait
// in all.
func (s *Store) HoldVerifyBatches() (queued func() int, release func()) {
	rel := make(chan struct{})
	var wg sync.WaitGroup
	held := map[verifyShard]bool{}
	for i := 0; len(held) < pgVerifyWriters && i < 10000; i++ {
		ip := fmt.Sprintf("hold-%d", i)
		k := s.verifyShardOf(ip)
		if held[k] {
			if !s.postgres {
				break
			}
			continue
		}
		held[k] = true
		entered := make(chan struct{})
		var once sync.Once
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.inVerifyBatch(context.Background(), ip, func(*Tx) error {
				once.Do(func() { close(entered) })
				<-rel
				return nil
			})
		}()
		<-entered
	}
	queued = func() int {
		verifyMu.Lock()
		defer verifyMu.Unlock()
		n := 0
		for k, q := range verifyBatches {
			if k.s == s {
				n += len(q.waiting)
			}
		}
		return n
	}
	return queued, func() { close(rel); wg.Wait() }
}

// SameVerifyBatch reports whether verifications from the client addresses
// a and b go to the same writer, and so can share a batch.
func (s *Store) SameVerifyBatch(a, b string) bool { return s.verifyShardOf(a) == s.verifyShardOf(b) }

// PanicInVerifyBatch makes WriteInVerifyBatch panic instead of failing.
var PanicInVerifyBatch = errors.New("panic")

// WriteInVerifyBatch runs, in a verification batch of the client address
// ip, a stand-in for a verification: it stores the secret name=name,
// queues an audit record of op, then returns fail. runs counts how often
// it ran.
func (s *Store) WriteInVerifyBatch(ctx context.Context, ip, name, op string, fail error, runs *atomic.Int32) error {
	return s.inVerifyBatch(ctx, ip, func(tx *Tx) error {
		runs.Add(1)
		if _, err := tx.exec(`INSERT INTO secrets (name, value) VALUES (?, ?)`, name, "x"); err != nil {
			return err
		}
		if err := tx.audit(actorRecord(op, gatehouse.SystemActor())); err != nil {
			return err
		}
		if fail == PanicInVerifyBatch {
			panic("probe panic")
		}
		return fail
	})
}
