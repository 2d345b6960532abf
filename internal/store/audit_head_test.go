package store

import (
	"sync"
	"testing"
)

// Commits on several connections return in any order: the head this
// process remembers must only move forward, by seq and then by epoch, or
// every guess after an out-of-order return would be wrong.
func TestAdvanceHeadOnlyMovesForward(t *testing.T) {
	s := &Store{}
	s.advanceHead(&chainHead{seq: 5, hash: "e", epoch: 2})
	for _, h := range []*chainHead{{seq: 4, hash: "d", epoch: 9}, {seq: 5, hash: "e", epoch: 1}, {seq: 5, hash: "e", epoch: 2}} {
		s.advanceHead(h)
		if got := s.lastHead.Load(); got.seq != 5 || got.epoch != 2 {
			t.Fatalf("after an older head (%d, %d) the head is (%d, %d), want (5, 2)", h.seq, h.epoch, got.seq, got.epoch)
		}
	}
	s.advanceHead(&chainHead{seq: 5, hash: "e", epoch: 3}) // an epoch raise keeps seq
	if got := s.lastHead.Load(); got.epoch != 3 {
		t.Fatalf("an epoch raise at the same seq was not taken: epoch %d", got.epoch)
	}

	// 16 goroutines report heads 1..1600 in scrambled order; the newest wins.
	s = &Store{}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 100; i >= 1; i-- {
				s.advanceHead(&chainHead{seq: int64(i*16 - g), epoch: 1})
			}
		}()
	}
	wg.Wait()
	if got := s.lastHead.Load(); got.seq != 1600 {
		t.Fatalf("after parallel reports the head is %d, want 1600", got.seq)
	}
}
