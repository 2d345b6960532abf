package testenv

import (
	"sync"
	"time"
)

// Clock is a store clock a test moves by hand: the real time plus an
// offset until Set fixes it. Pass its Now in store.Options.
type Clock struct {
	mu     sync.Mutex
	fixed  time.Time
	offset time.Duration
}

// NewClock returns a clock fixed at t.
func NewClock(t time.Time) *Clock { return &Clock{fixed: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fixed.IsZero() {
		return c.fixed
	}
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fixed.IsZero() {
		c.offset += d
	} else {
		c.fixed = c.fixed.Add(d)
	}
}

// Set fixes the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fixed = t
}
