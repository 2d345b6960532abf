package web

import (
	"fmt"
	"net/http"
	"net/url"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// guestsPageSize is how many guests one page lists.
const guestsPageSize = 100

type guestRow struct {
	*gatehouse.User
	store.GuestOverview
}

type guestsData struct {
	base
	Guests []guestRow
	Next   string
}

func (h *Handler) guests(w http.ResponseWriter, r *http.Request) {
	h.showGuests(w, r, http.StatusOK, "")
}

func (h *Handler) showGuests(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	after := ""
	if r.Method == http.MethodGet {
		after = r.URL.Query().Get("after")
	}
	users, err := h.store.ListUsersOfType(r.Context(), gatehouse.UserTypeGuest, after, guestsPageSize)
	if err == nil {
		var more map[string]store.GuestOverview
		if more, err = h.store.GuestOverviews(r.Context(), users); err == nil {
			d := &guestsData{base: h.base(w, r, "Guests")}
			d.Section, d.Tab, d.Error, d.Wide = "admin", "guests", errMsg, true
			for _, u := range users {
				d.Guests = append(d.Guests, guestRow{User: u, GuestOverview: more[u.ID]})
			}
			if len(users) == guestsPageSize {
				d.Next = "/admin/guests?after=" + url.QueryEscape(users[len(users)-1].Email)
			}
			h.render(w, r, status, "guests", d)
			return
		}
	}
	h.fail(w, r, err)
}

// guestDone reports an action on a guest and goes back to the list; a
// refusal shows the list again with the store's message.
func (h *Handler) guestDone(w http.ResponseWriter, r *http.Request, err error, msg string) {
	if err != nil {
		if code := gatehouse.ErrorCode(err); code != gatehouse.EINTERNAL {
			httpx.LogError(r, err)
			h.showGuests(w, r, httpx.Status(code), gatehouse.ErrorMessage(err))
			return
		}
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, msg)
	redirect(w, r, "/admin/guests")
}

// guest loads the guest of the path: members are managed on the users page.
func (h *Handler) guest(r *http.Request) (*gatehouse.User, error) {
	u, err := h.store.User(r.Context(), r.PathValue("id"))
	if err == nil && u.UserType != gatehouse.UserTypeGuest {
		err = gatehouse.Errorf(gatehouse.EINVALID, "%s is a member; manage members on the users page.", u.Email)
	}
	return u, err
}

func (h *Handler) renameGuest(w http.ResponseWriter, r *http.Request) {
	u, err := h.guest(r)
	if err == nil {
		name := r.PostFormValue("displayName")
		u, err = h.store.UpdateUser(r.Context(), actor(r), u.ID, store.UserUpdate{DisplayName: &name})
	}
	h.guestDone(w, r, err, fmt.Sprintf("Renamed %s to %s.", emailOf(u), nameOf(u)))
}

func (h *Handler) setGuestDisabled(disabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := h.guest(r)
		if err == nil {
			u, err = h.store.UpdateUser(r.Context(), actor(r), u.ID, store.UserUpdate{Disabled: &disabled})
		}
		verb := "Enabled"
		if disabled {
			verb = "Disabled"
		}
		h.guestDone(w, r, err, fmt.Sprintf("%s %s.", verb, emailOf(u)))
	}
}

func (h *Handler) deleteGuest(w http.ResponseWriter, r *http.Request) {
	u, err := h.guest(r)
	if err == nil {
		err = h.store.DeleteUser(r.Context(), actor(r), u.ID)
	}
	h.guestDone(w, r, err, fmt.Sprintf("Removed %s and their places on links.", emailOf(u)))
}

// resendInvitation invites the guest's address again: a new redeem link
// by mail, never a second account.
func (h *Handler) resendInvitation(w http.ResponseWriter, r *http.Request) {
	u, err := h.guest(r)
	if err == nil {
		_, err = h.store.CreateInvitation(r.Context(), actor(r), store.InviteRequest{Email: u.Email, DisplayName: u.DisplayName, SendMessage: true})
	}
	h.guestDone(w, r, err, fmt.Sprintf("Sent %s a new invitation.", emailOf(u)))
}

func (h *Handler) extendGuest(w http.ResponseWriter, r *http.Request) {
	u, err := h.guest(r)
	if err == nil {
		u, err = h.store.ExtendGuestAccess(r.Context(), actor(r), u.ID)
	}
	h.guestDone(w, r, err, fmt.Sprintf("Extended the access of %s.", emailOf(u)))
}

func emailOf(u *gatehouse.User) string {
	if u == nil {
		return ""
	}
	return u.Email
}

func nameOf(u *gatehouse.User) string {
	if u == nil {
		return ""
	}
	return u.DisplayName
}
