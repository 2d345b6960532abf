package mail

import (
	"context"
	"time"
)

// Sender delivers one message. Implementations are safe for concurrent use.
type Sender interface {
	// Send delivers m, or returns an error saying which step failed. It
	// gives up when ctx is done.
	Send(ctx context.Context, m Message) error
}

// clock returns the current time; senders hold one so tests can fix the
// Date header.
type clock func() time.Time
