package api

import (
	"net/http"
	"time"

	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// timeOrNull renders a zero time as JSON null rather than year 1.
func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// outboxJSON shows a queued mail without its body: a passcode mail's body is
// the code itself.
func outboxJSON(m store.OutboxMessage) map[string]any {
	return map[string]any{
		"id": m.ID, "to": m.To, "kind": m.Kind, "subject": m.Subject, "state": m.State,
		"attempts": m.Attempts, "lastError": m.LastError, "createdDateTime": m.CreatedAt,
		"nextAttemptDateTime": timeOrNull(m.NextAttemptAt), "sentDateTime": timeOrNull(m.SentAt),
	}
}

func (h *Handler) listOutbox(w http.ResponseWriter, r *http.Request, c *caller) error {
	n, err := top(r, 100)
	if err != nil {
		return err
	}
	msgs, err := h.store.Outbox(r.Context(), r.URL.Query().Get("state"), n)
	if err != nil {
		return err
	}
	list := make([]map[string]any, 0, len(msgs))
	for _, m := range msgs {
		list = append(list, outboxJSON(m))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": list})
	return nil
}

func (h *Handler) retryOutbox(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := h.store.RetryMail(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listPasscodePauses(w http.ResponseWriter, r *http.Request, c *caller) error {
	pauses, err := h.store.Pauses(r.Context())
	if err != nil {
		return err
	}
	list := make([]map[string]any, 0, len(pauses))
	for _, p := range pauses {
		list = append(list, map[string]any{
			"shareId": p.ShareID, "email": p.Email, "clientAddress": p.ClientIP, "itemName": p.ItemName,
			"pausedDateTime": p.PausedAt, "pausedUntilDateTime": p.PausedUntil,
		})
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": list})
	return nil
}

func (h *Handler) clearPasscodePause(w http.ResponseWriter, r *http.Request, c *caller) error {
	// Without ?clientAddress= every client address's pause of the pair ends.
	if err := h.store.ClearPause(r.Context(), c.Actor, r.PathValue("shareId"), r.PathValue("email"), r.URL.Query().Get("clientAddress")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
