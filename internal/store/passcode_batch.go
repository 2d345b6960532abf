package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"gatehouse"
)

// Passcode verifications are group-committed: every verification waiting
// when a batch starts runs in one write transaction, each in its own
// savepoint, and the transaction commits once. Each verification's change
// and its audit records still commit together (in the shared transaction),
// and its caller hears the outcome only after that commit. Under load this
// turns N fsyncs (SQLite) and N turns at the chain head (PostgreSQL) into
// one.
//
// A writer goroutine runs only while verifications wait, so an idle store
// holds none and Close needs no hook: the state lives in verifyBatches
// only while a writer runs.
//
// SQLite has one writer connection, so one batch at a time. On PostgreSQL
// a batch's statements are round trips made one after another, so several
// batches run at once, each on its own connection, and take turns only at
// the chain head in Commit. A client address always goes to the same one:
// its tries stay in order, and batches do not wait on each other for its
// throttle row.

// verifyBatchMax bounds a batch. On PostgreSQL every savepoint that writes
// is a subtransaction, and beyond 64 per transaction other sessions' reads
// slow down (the subtransaction cache overflows).
const verifyBatchMax = 64

// pgVerifyWriters is how many batches may run at once on PostgreSQL. With
// 32 clients on 2 cores, 1, 2 and 4 measured alike within the noise (522,
// 488 and 461-569 verifications/s) and 8 or 16 worse (347, 309): more
// batches are smaller ones, each with its own turn at the chain head.
const pgVerifyWriters = 2

// verifyReq is one verification waiting for a batch.
type verifyReq struct {
	fn   func(tx *Tx) error
	done chan error // buffered: the writer never waits on a caller
}

// verifyQueue is a store's waiting verifications while its writer runs.
type verifyQueue struct{ waiting []verifyReq }

// verifyShard names one writer's queue: a store's, for a share of client
// addresses.
type verifyShard struct {
	s *Store
	n int
}

var (
	verifyMu      sync.Mutex
	verifyBatches = map[verifyShard]*verifyQueue{}
)

// errBatchFailed tells a caller its verification's batch did not commit,
// for a reason that leaves nothing committed and that a transaction of its
// own would not have met, so it runs again alone.
var errBatchFailed = errors.New("store: verification batch did not commit")

// inVerifyBatch runs fn in the next verification batch of the client
// address ip and returns once the batch has committed (nil) or fn's error,
// which undid fn's writes and records only. fn may run more than once, as
// under inTx, and must not act outside the transaction.
func (s *Store) inVerifyBatch(ctx context.Context, ip string, fn func(tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := verifyReq{fn: fn, done: make(chan error, 1)}
	key := s.verifyShardOf(ip)
	verifyMu.Lock()
	q := verifyBatches[key]
	if q == nil {
		q = &verifyQueue{}
		verifyBatches[key] = q
		go s.verifyWriter(key, q)
	}
	q.waiting = append(q.waiting, req)
	verifyMu.Unlock()
	// Once queued it will run; wait for it even if the client leaves, so
	// the answer matches the log.
	err := <-req.done
	var p verifyPanic
	if errors.As(err, &p) {
		panic(p.v) // in the caller's goroutine, as if fn had run there
	}
	if errors.Is(err, errBatchFailed) || retryable(err) {
		// A lost deadlock or a failed batch: nothing of fn committed.
		// Alone, inTx retries as every other transaction does.
		return s.inTx(ctx, fn)
	}
	return err
}

// verifyShardOf is the writer that takes the verifications of client
// address ip.
func (s *Store) verifyShardOf(ip string) verifyShard {
	if !s.postgres {
		return verifyShard{s: s}
	}
	h := fnv.New32a()
	h.Write([]byte(ip))
	return verifyShard{s: s, n: int(h.Sum32() % pgVerifyWriters)}
}

// verifyWriter runs batches until no verification waits. The
// verifications that arrive while one batch runs make the next.
func (s *Store) verifyWriter(key verifyShard, q *verifyQueue) {
	for {
		verifyMu.Lock()
		n := min(len(q.waiting), verifyBatchMax)
		if n == 0 {
			delete(verifyBatches, key)
			verifyMu.Unlock()
			return
		}
		batch := q.waiting[:n:n]
		q.waiting = q.waiting[n:]
		verifyMu.Unlock()
		errs := s.runVerifyBatch(batch)
		for i, r := range batch {
			r.done <- errs[i]
		}
	}
}

// runVerifyBatch runs each request in its own savepoint of one
// transaction and commits. A request whose fn fails is rolled back to its
// savepoint, with the audit records it queued, and gets its error; the
// others go on. If the transaction cannot go on or commit, every request
// that had not failed by itself gets errBatchFailed (when nothing can have
// committed) or the commit's error.
func (s *Store) runVerifyBatch(batch []verifyReq) []error {
	errs := make([]error, len(batch))
	fail := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	ctx := context.Background() // a client leaving must not cancel the others' statements
	tx, err := s.begin(ctx)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", errBatchFailed, err))
	}
	defer tx.Rollback()
	// A verification writes its code's tries and use, the client's
	// throttle, pauses and a new session: no fact an access decision
	// reads, so it leaves the access epoch, and every remembered decision,
	// alone. One that makes a guest or the settings row raises it (see
	// addEmailGuest, sharingSettings).
	tx.keepEpoch = true
	for i, r := range batch {
		sp := `SAVEPOINT verify`
		if i > 0 {
			// Released, so savepoints do not nest; one statement on
			// PostgreSQL saves a round trip.
			sp = `RELEASE SAVEPOINT verify; SAVEPOINT verify`
		}
		if _, err := tx.Tx.ExecContext(ctx, sp); err != nil {
			return fail(fmt.Errorf("%w: %v", errBatchFailed, err))
		}
		// Each verification reads the clock when it runs, as alone.
		tx.now = s.Now().UTC().Truncate(time.Microsecond)
		mark := len(tx.records)
		if err := runVerify(r.fn, tx); err != nil {
			errs[i] = err
			tx.records = tx.records[:mark]
			if _, rerr := tx.Tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT verify`); rerr != nil {
				// The transaction is gone (SQLite rolls back the whole of
				// it on some errors): none of the batch committed.
				errs[i] = nil
				return fail(fmt.Errorf("%w: %v", errBatchFailed, rerr))
			}
		}
	}
	if err := tx.Commit(); err != nil {
		if retryable(err) {
			err = fmt.Errorf("%w: %w", errBatchFailed, err)
		}
		return fail(err)
	}
	return errs
}

// verifyPanic carries a panic in a verification back to its caller: the
// HTTP server recovers a handler's panic, but one in the writer would end
// the process.
type verifyPanic struct{ v any }

func (p verifyPanic) Error() string { return fmt.Sprintf("store: verification panicked: %v", p.v) }

// runVerify runs fn, turning a panic into a verifyPanic error, which rolls
// back fn's savepoint like any failure.
func runVerify(fn func(tx *Tx) error, tx *Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = verifyPanic{v}
		}
	}()
	return fn(tx)
}

// linkAsOfBatch returns l, which the verification read from the view
// before it joined the batch, if no change has committed since: the
// access epoch is still the one l was read at. Otherwise it returns the
// link as it is now. So a verification needs no query for its link, and
// is still decided on the link's state as of its batch, as downloads are
// as of their group commit.
func (tx *Tx) linkAsOfBatch(l *gatehouse.Link, use *ViewUse, token string) (*gatehouse.Link, error) {
	epoch, viewed := use.pending()
	if !viewed {
		return l, nil // read from the database, not the view
	}
	now, err := tx.accessEpoch()
	if err != nil || now == epoch {
		return l, err
	}
	return tx.s.LinkByToken(tx.ctx, token)
}

// accessEpoch is the access epoch as the transaction sees it, read once.
// SQLite's write transaction holds the database, so nothing commits before
// it does; on PostgreSQL the read takes no lock, and a change that commits
// after it is one that began after the batch's verifications.
func (tx *Tx) accessEpoch() (int64, error) {
	if tx.headRead {
		return tx.epoch, nil
	}
	if !tx.s.postgres {
		_, _, epoch, err := tx.head()
		return epoch, err
	}
	if !tx.epochRead {
		if err := tx.queryRow(`SELECT epoch FROM audit_head WHERE id = 1`).Scan(&tx.readEpoch); err != nil {
			return 0, fmt.Errorf("read access epoch: %w", err)
		}
		tx.epochRead = true
	}
	return tx.readEpoch, nil
}
