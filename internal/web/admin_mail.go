package web

import (
	"fmt"
	"net/http"
	"net/url"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// outboxPageSize is how many messages the outbox page lists, newest first.
const outboxPageSize = 200

// outboxStates are the choices of the outbox page's state filter; "" is all.
var outboxStates = []string{store.OutboxPending, store.OutboxSent, store.OutboxFailed}

type outboxData struct {
	base
	States   []string
	State    string // the filter as sent
	Messages []store.OutboxMessage
	Capped   bool // the list stops at outboxPageSize
}

func (h *Handler) outbox(w http.ResponseWriter, r *http.Request) {
	h.showOutbox(w, r, http.StatusOK, "")
}

// showOutbox renders the outbox with an optional error. After a retry form
// the filter comes from the form, so the page looks as it did.
func (h *Handler) showOutbox(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	d := &outboxData{base: h.base(w, r, "Outgoing mail"), States: outboxStates, State: r.FormValue("state")}
	d.Section, d.Tab, d.Wide, d.Error = "admin", "outbox", true, errMsg
	msgs, err := h.store.Outbox(r.Context(), d.State, outboxPageSize)
	if err != nil {
		code := gatehouse.ErrorCode(err)
		if code == gatehouse.EINTERNAL {
			h.fail(w, r, err)
			return
		}
		httpx.LogError(r, err)
		d.Error, d.State = gatehouse.ErrorMessage(err), ""
		h.render(w, r, httpx.Status(code), "outbox", d)
		return
	}
	d.Messages, d.Capped = msgs, len(msgs) == outboxPageSize
	h.render(w, r, status, "outbox", d)
}

// outboxURL is the outbox page filtered by state, when state is one of the
// filter's choices: the form's value never goes into the address unchecked.
func outboxURL(state string) string {
	for _, s := range outboxStates {
		if s == state {
			return "/admin/outbox?state=" + url.QueryEscape(s)
		}
	}
	return "/admin/outbox"
}

func (h *Handler) retryMail(w http.ResponseWriter, r *http.Request) {
	if err := h.store.RetryMail(r.Context(), r.PathValue("id")); err != nil {
		code := gatehouse.ErrorCode(err)
		if code == gatehouse.EINTERNAL {
			h.fail(w, r, err)
			return
		}
		httpx.LogError(r, err)
		h.showOutbox(w, r, httpx.Status(code), gatehouse.ErrorMessage(err))
		return
	}
	setFlash(w, r, "The mail is queued to be sent again.")
	redirect(w, r, outboxURL(r.PostFormValue("state")))
}

type pausesData struct {
	base
	Pauses []store.Pause
}

func (h *Handler) pauses(w http.ResponseWriter, r *http.Request) {
	h.showPauses(w, r, http.StatusOK, "")
}

// showPauses renders the pauses in force with an optional error.
func (h *Handler) showPauses(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	ps, err := h.store.Pauses(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &pausesData{base: h.base(w, r, "Verification pauses"), Pauses: ps}
	d.Section, d.Tab, d.Wide, d.Error = "admin", "pauses", true, errMsg
	h.render(w, r, status, "pauses", d)
}

func (h *Handler) clearPause(w http.ResponseWriter, r *http.Request) {
	email := r.PostFormValue("email")
	if err := h.store.ClearPause(r.Context(), actor(r), r.PostFormValue("shareId"), email, r.PostFormValue("clientAddress")); err != nil {
		code := gatehouse.ErrorCode(err)
		if code == gatehouse.EINTERNAL {
			h.fail(w, r, err)
			return
		}
		httpx.LogError(r, err)
		h.showPauses(w, r, httpx.Status(code), gatehouse.ErrorMessage(err))
		return
	}
	setFlash(w, r, fmt.Sprintf("Cleared the pause: %s can ask for a passcode again.", email))
	redirect(w, r, "/admin/pauses")
}
