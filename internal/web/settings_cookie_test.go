package web

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gatehouse"
)

// The remembered recipient cookie lives as long as the session it carries,
// which the sharing setting emailAttestationReAuthDays sets when the code
// is verified.
func TestRememberedCookieFollowsSetting(t *testing.T) {
	e := newShareEnv(t)
	it := e.putFile(e.owner, "", "report.txt", "r")
	l := e.share(it, gatehouse.RoleRead, "ext@partner.test")
	for _, days := range []int{testReauthDays, 2, 365} {
		if days != testReauthDays {
			if _, err := e.store.UpdateSharingSettings(context.Background(), gatehouse.SystemActor(),
				gatehouse.SharingSettingsPatch{EmailAttestationReAuthDays: &days}); err != nil {
				t.Fatal(err)
			}
		}
		resp := e.verify(e.client(), l, "ext@partner.test", true)
		got := ""
		for _, c := range resp.Cookies() {
			if c.Name == RecipientCookie {
				got = fmt.Sprint(c.MaxAge)
			}
		}
		want := fmt.Sprint(int((time.Duration(days) * 24 * time.Hour).Seconds()))
		if got != want {
			t.Errorf("with %d days the cookie has Max-Age %q, want %s", days, got, want)
		}
	}
}
