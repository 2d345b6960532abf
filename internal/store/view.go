package store

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// The access view lets the download paths decide without a query per
// request while still deciding against the current state.
//
// Every committed change other than an access record, mail delivery, a
// link code request or a passcode verification (the outbox, a code, its
// tries and a new session decide no access; a verification that makes a
// guest does raise it)
// raises the access epoch, in the statement
// that advances the chain head (audit.go). Facts a request reads through
// remember are kept with the epoch this process knew
// before reading them; they are used again only while that is still the
// newest epoch this process knows. That alone could miss a change made by
// another process or node, so the request's access record carries the
// epoch, and the access writer, which reads the epoch in the batch's own
// transaction, commits the record only if it is still the same: then no
// change committed since the facts were read, and the decision stands as
// of the commit. Otherwise the request reads every fact again; if all are
// the same the decision stands, and if not the request is decided again
// from the start (Remembering), with no record and nothing sent.

// view is this process's memory of facts, by key.
type view struct {
	epoch atomic.Int64 // the newest epoch this process knows
	mu    sync.Mutex
	m     map[string]viewEntry
}

type viewEntry struct {
	epoch int64
	until time.Time // the facts end then (a session's expiry); zero: never
	val   any
}

// viewSize bounds the view (an entry is about a kilobyte); past it the
// view starts over.
const viewSize = 1 << 14

// advance raises the known epoch to e.
func (v *view) advance(e int64) {
	for {
		cur := v.epoch.Load()
		if e <= cur || v.epoch.CompareAndSwap(cur, e) {
			return
		}
	}
}

func (v *view) get(key string) (viewEntry, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.m[key]
	return e, ok
}

func (v *view) put(key string, e viewEntry) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= viewSize {
		v.m = make(map[string]viewEntry)
	}
	v.m[key] = e
}

// ViewUse is what one request took from the view.
type ViewUse struct {
	mu     sync.Mutex
	used   bool
	epoch  int64         // the least epoch of the facts used
	checks []func() bool // each reads a fact again: the same?
	stale  bool          // a fact changed: decide again
}

type viewKey struct{}

// Remembering returns a context whose reads may come from the view, and
// the use that records them. Only a request that can be decided again when
// Stale says so may use it.
func Remembering(ctx context.Context) (context.Context, *ViewUse) {
	u := &ViewUse{}
	return context.WithValue(ctx, viewKey{}, u), u
}

// Stale reports that a fact the request was decided on changed before its
// access record could commit: nothing was recorded or sent, and the request
// must be decided again without the view.
func (u *ViewUse) Stale() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.stale
}

func (u *ViewUse) add(epoch int64, check func() bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.used || epoch < u.epoch {
		u.epoch = epoch
	}
	u.used = true
	u.checks = append(u.checks, check)
}

// pending returns whether facts from the view were used, and their epoch.
func (u *ViewUse) pending() (int64, bool) {
	if u == nil {
		return 0, false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.epoch, u.used
}

// recheck reads every fact used again; false marks the use stale.
func (u *ViewUse) recheck() bool {
	u.mu.Lock()
	checks := u.checks
	u.mu.Unlock()
	for _, c := range checks {
		if !c() {
			u.mu.Lock()
			u.stale = true
			u.mu.Unlock()
			return false
		}
	}
	return true
}

func viewUse(ctx context.Context) *ViewUse {
	u, _ := ctx.Value(viewKey{}).(*ViewUse)
	return u
}

// errStale is the access writer's answer to a record whose facts may have
// changed since they were read.
var errStale = errors.New("store: access facts changed")

// remember returns fetch's value from the view when ctx allows it and the
// view holds it for the current epoch, before its until; otherwise it
// fetches. Only successes are kept. Values are shared between requests
// and must not be changed by their users.
func remember[T any](s *Store, ctx context.Context, key string, fetch func() (T, time.Time, error)) (T, error) {
	u := viewUse(ctx)
	if u == nil {
		v, _, err := fetch()
		return v, err
	}
	now := s.Now()
	e := s.view.epoch.Load()
	if ent, ok := s.view.get(key); ok && ent.epoch == e && (ent.until.IsZero() || now.Before(ent.until)) {
		v := ent.val.(T)
		u.add(e, func() bool {
			w, until, err := fetch()
			return err == nil && (until.IsZero() || s.Now().Before(until)) && reflect.DeepEqual(v, w)
		})
		return v, nil
	}
	v, until, err := fetch()
	if err == nil && (until.IsZero() || now.Before(until)) {
		s.view.put(key, viewEntry{epoch: e, until: until, val: v})
	}
	return v, err
}
