// Package outbox delivers the mail that store transactions queue: it claims
// due messages, hands them to a mail.Sender and records the outcome, retrying
// with backoff for a day before giving up.
package outbox

import (
	"context"
	"gatehouse"
	"log/slog"
	"sync"
	"time"

	"gatehouse/internal/mail"
	"gatehouse/internal/store"
)

// Delivery timing. A message is retried until GiveUpAfter has passed since
// it was queued; the last attempt falls exactly on that deadline.
const (
	FirstRetry  = 30 * time.Second
	MaxRetry    = time.Hour
	GiveUpAfter = 24 * time.Hour

	// PollInterval bounds how long mail queued on another node, or due
	// for a retry, waits for this worker.
	PollInterval = 5 * time.Second
	// SendTimeout bounds one delivery attempt.
	SendTimeout = time.Minute
	// BatchSize is how many messages one claim takes; they are sent
	// concurrently.
	BatchSize = 8
	// lease outlasts a batch: the sends run side by side, each within
	// SendTimeout, and recording the outcome takes a moment more.
	lease = SendTimeout + 30*time.Second
	// markTimeout bounds recording an outcome, even after shutdown began.
	markTimeout = 10 * time.Second
)

// Backoff is the wait after the attempt-th failed attempt: 30 s, 1 min,
// 2 min, 4 min … capped at one hour.
func Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := FirstRetry
	for i := 1; i < attempt && d < MaxRetry; i++ {
		d *= 2
	}
	return min(d, MaxRetry)
}

// Worker delivers the outbox of Store through Sender. Several workers, on
// one node or many, may share a database.
type Worker struct {
	Store  *store.Store
	Sender mail.Sender
	Log    *slog.Logger
	// Now is the clock for retry times; tests share one with Store.Now.
	Now func() time.Time
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

// Run delivers mail until ctx is done: whenever the store signals new mail,
// and every PollInterval for retries and mail queued by other nodes.
func (w *Worker) Run(ctx context.Context) {
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for {
		// Drain what is due; a full batch suggests more is waiting.
		for ctx.Err() == nil {
			n, err := w.Deliver(ctx)
			if err != nil {
				if ctx.Err() == nil {
					w.log().Warn("claiming mail from the outbox failed", "err", err)
				}
				break
			}
			if n < BatchSize {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-w.Store.OutboxWake():
		case <-tick.C:
		}
	}
}

// Start runs the worker in a goroutine. stop ends it and waits until the
// messages in hand are recorded, so the store can close after it.
func (w *Worker) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Deliver claims one batch of due mail, sends it and records each outcome.
// It returns how many messages it claimed.
func (w *Worker) Deliver(ctx context.Context) (int, error) {
	msgs, err := w.Store.ClaimMail(ctx, BatchSize, lease)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, m := range msgs {
		wg.Go(func() { w.deliver(ctx, m) })
	}
	wg.Wait()
	return len(msgs), nil
}

// deliver sends one claimed message and records the outcome.
func (w *Worker) deliver(ctx context.Context, m store.OutboxMessage) {
	sendCtx, cancel := context.WithTimeout(ctx, SendTimeout)
	from := m.From
	if from == "" {
		from = w.Store.MailFrom()
	}
	err := w.Sender.Send(sendCtx, mail.Message{From: from, To: m.To, ReplyTo: m.ReplyTo, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
	cancel()

	// The outcome is recorded even when shutdown cancelled ctx, so the
	// message is not left leased for nothing.
	mctx, mcancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer mcancel()
	log := w.log().With("id", m.ID, "to", m.To, "kind", m.Kind, "subject", m.Subject, "attempt", m.Attempts)
	if err == nil {
		log.Info("mail sent")
		if err := w.Store.MailSent(mctx, m.ID); err != nil {
			// It went out; at worst another worker sends it again
			// once the lease ends.
			log.Warn("recording sent mail failed", "err", err)
		}
		return
	}

	now := w.now()
	next, final := now.Add(Backoff(m.Attempts)), false
	if ctx.Err() != nil {
		// Shutting down is not the relay's fault: let any node try
		// again at once.
		next = now
	} else if deadline := m.CreatedAt.Add(giveUpAfter(m.Kind)); !now.Before(deadline) {
		final = true
	} else if next.After(deadline) {
		next = deadline
	}
	if final {
		log.Warn("mail delivery failed; giving up", "err", err, "final", true)
	} else {
		log.Warn("mail delivery failed; will retry", "err", err, "retry_at", next)
	}
	if err := w.Store.MailFailed(mctx, m.ID, err.Error(), next, final); err != nil {
		log.Warn("recording failed mail failed", "err", err)
	}
}

// giveUpAfter is how long a message is worth retrying: a passcode is dead
// after its validity, so a late one would only confuse its reader.
func giveUpAfter(kind string) time.Duration {
	if kind == "passcode" {
		return gatehouse.PasscodeTTL
	}
	return GiveUpAfter
}
