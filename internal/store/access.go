package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	use := viewUse(ctx)
	req := accessReq{rec: r}
	req.epoch, req.viewed = use.pending()
	err := s.queueAccess(ctx, req)
	if !errors.Is(err, errStale) {
		return err
	}
	// Something changed since the request read its facts from the view:
	// if none of them did, the decision stands as of now.
	if !use.recheck() {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "Access to this item changed while it was being opened; open it again.")
	}
	return s.queueAccess(ctx, accessReq{rec: r})
}

// queueAccess hands req to the access writer and waits for its commit.
func (s *Store) queueAccess(ctx context.Context, req accessReq) error {
	req.done = make(chan error, 1)
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

// accessReq is one access record waiting for the group commit. A request
// decided from the view (viewed) carries the epoch of its facts: its record
// commits only if the epoch is still that.
type accessReq struct {
	rec    *gatehouse.Record
	done   chan error
	viewed bool
	epoch  int64
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
		errs := s.appendBatch(batch)
		for i, r := range batch {
			r.done <- errs[i]
		}
	}
}

// accessLinger is how long a busy access writer waits to fill a batch.
const accessLinger = 500 * time.Microsecond

func (s *Store) appendBatch(batch []accessReq) (out []error) {
	errs := make([]error, len(batch))
	fail := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	// A panic fails the batch's requests, not the whole server: the
	// transaction rolls back, so none of their content is sent.
	defer func() {
		if v := recover(); v != nil {
			out = fail(fmt.Errorf("store: access batch: %v", v))
		}
	}()
	if s.postgres {
		if errs, ok := s.appendKnownHead(batch); ok {
			return errs
		}
	}
	tx, err := s.begin(context.Background())
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	tx.keepEpoch = true
	// The epoch is read under the head's lock: no change can commit
	// between this read and the batch's commit on SQLite, and on
	// PostgreSQL one that does commits after every request here began.
	_, _, epoch, err := tx.head()
	if err != nil {
		return fail(err)
	}
	for i, r := range batch {
		if r.viewed && r.epoch != epoch {
			errs[i] = errStale
			continue
		}
		if err := tx.audit(r.rec); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return errs
}

// appendKnownHead appends a batch on PostgreSQL in one statement, its own
// transaction, instead of four round trips: it chains the records to the
// head this process last saw commit, and the statement advances the head
// and inserts them only if the head, and the access epoch the requests'
// facts were read at, are still those. Otherwise nothing is written and
// it is false: the batch goes the long way, which reads the head.
func (s *Store) appendKnownHead(batch []accessReq) ([]error, bool) {
	h := s.lastHead.Load()
	if h == nil {
		return nil, false
	}
	errs := make([]error, len(batch))
	rs := make([]*gatehouse.Record, 0, len(batch))
	now := s.Now().UTC().Truncate(time.Microsecond)
	for _, r := range batch {
		if r.viewed && r.epoch != h.epoch {
			return nil, false // the long way tells stale from current
		}
		prepareRecord(r.rec, now)
		rs = append(rs, r.rec)
	}
	seq, hash := s.chain(rs, h.seq, h.hash)
	args := append([]any{seq, hash, h.seq, h.epoch}, recordColumns(rs)...)
	st, err := s.stmt(context.Background(), s.write, appendKnownHeadSQL)
	if err != nil {
		return nil, false
	}
	res, err := st.ExecContext(context.Background(), args...)
	if err != nil {
		return nil, false
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(rs)) {
		s.lastHead.CompareAndSwap(h, nil)
		return nil, false
	}
	s.advanceHead(&chainHead{seq: seq, hash: hash, epoch: h.epoch})
	return errs, true
}

// appendKnownHeadSQL takes the record columns as appendPostgresSQL does,
// then the new head (seq, hash) and the expected (seq, epoch).
var appendKnownHeadSQL = `WITH h AS (UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1 AND seq = ? AND epoch = ? RETURNING 1)
	INSERT INTO audit_records (` + auditColumns + `)
	SELECT * FROM unnest(?::bigint[], ?::text[], ?::bigint[]` + strings.Repeat(", ?::text[]", auditColumnCount-3) + `) WHERE EXISTS (SELECT 1 FROM h)`
