package store

import (
	"context"
	"errors"
	"time"

	"gatehouse"
)

// RecordAccess appends an access record (SecureLinkUsed, FileAccessed,
// FileDownloaded) for an item and returns once it is committed.
func (s *Store) RecordAccess(ctx context.Context, by gatehouse.Actor, op string, it *gatehouse.Item) error {
	return s.RecordAccessData(ctx, by, op, it, nil)
}

// RecordAccessData is RecordAccess with details for the record's EventData,
// such as the byte range a download served.
func (s *Store) RecordAccessData(ctx context.Context, by gatehouse.Actor, op string, it *gatehouse.Item, data map[string]any) error {
	r := s.itemRecord(op, by, it)
	r.EventData = gatehouse.EventData(data)
	req := accessReq{rec: r, done: make(chan error, 1)}
	s.accessMu.RLock()
	if s.access == nil {
		s.accessMu.RUnlock()
		return errors.New("store: closed")
	}
	select {
	case s.access <- req:
		s.accessMu.RUnlock()
	case <-ctx.Done():
		s.accessMu.RUnlock()
		return ctx.Err()
	}
	// Once queued the record will be written; wait for it even if the
	// client leaves, so the answer matches the log.
	return <-req.done
}

// accessReq is one access record waiting for the group commit.
type accessReq struct {
	rec  *gatehouse.Record
	done chan error
}

// accessWriter appends access records (downloads, views) in batches: every
// waiting request's record commits in one transaction, and each request
// goes on only after its record is durable. Under load this turns N write
// transactions into one without losing the rule "no access without its
// record".
func (s *Store) accessWriter(queue <-chan accessReq) {
	defer close(s.accessDone)
	busy := false
	for req := range queue {
		batch := []accessReq{req}
		// Under load (the last batch had company) wait a moment for more
		// records, so one commit serves many requests; a lone request is
		// written at once.
		wait := time.Duration(0)
		if busy {
			wait = accessLinger
		}
		timer := time.NewTimer(wait)
	drain:
		for len(batch) < 256 {
			select {
			case r, ok := <-queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			case <-timer.C:
				break drain
			}
		}
		timer.Stop()
		busy = len(batch) > 1
		err := s.appendBatch(batch)
		for _, r := range batch {
			r.done <- err
		}
	}
}

// accessLinger is how long a busy access writer waits to fill a batch.
const accessLinger = 500 * time.Microsecond

func (s *Store) appendBatch(batch []accessReq) error {
	tx, err := s.begin(context.Background())
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, r := range batch {
		if err := tx.audit(r.rec); err != nil {
			return err
		}
	}
	return tx.Commit()
}
