package store_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/blob"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// policyChanges decodes the changes a SharingPolicyChanged record lists.
func policyChanges(t *testing.T, r *gatehouse.Record) []gatehouse.SettingChange {
	t.Helper()
	var ev struct {
		ModifiedProperties []gatehouse.SettingChange `json:"modifiedProperties"`
	}
	if err := json.Unmarshal([]byte(r.EventData), &ev); err != nil {
		t.Fatalf("EventData %q: %v", r.EventData, err)
	}
	return ev.ModifiedProperties
}

func TestSharingSettingsUpdate(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, admin, _ := e.member("admin@example.com")
			st, err := e.SharingSettings(ctx)
			if err != nil || st != gatehouse.DefaultSharingSettings(0) {
				t.Fatalf("initial settings = %+v, %v", st, err)
			}

			yes, days := true, 90
			st, err = e.UpdateSharingSettings(ctx, admin, gatehouse.SharingSettingsPatch{IsB2BIntegrationEnabled: &yes, ExternalUserExpireInDays: &days})
			want := gatehouse.SharingSettings{IsB2BIntegrationEnabled: true, ExternalUserExpireInDays: 90, EmailAttestationReAuthDays: 30, RecycleBinRetentionDays: 93}
			if err != nil || st != want {
				t.Fatalf("UpdateSharingSettings = %+v, %v; want %+v", st, err, want)
			}
			if got, err := e.SharingSettings(ctx); err != nil || got != want {
				t.Errorf("read back %+v, %v", got, err)
			}
			r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpSharingPolicyChanged, UserID: "admin@example.com", UserType: "Member"})
			changes := policyChanges(t, r)
			if len(changes) != 2 || changes[0].Name != gatehouse.SettingB2BIntegration || changes[0].OldValue != false || changes[0].NewValue != true ||
				changes[1].Name != gatehouse.SettingExpireInDays || changes[1].OldValue != 60.0 || changes[1].NewValue != 90.0 {
				t.Errorf("recorded changes %+v", changes)
			}

			// Setting what is already set, or a refused value, records nothing.
			n := e.auditCount()
			if _, err := e.UpdateSharingSettings(ctx, admin, gatehouse.SharingSettingsPatch{IsB2BIntegrationEnabled: &yes}); err != nil {
				t.Fatal(err)
			}
			bad := 731
			if _, err := e.UpdateSharingSettings(ctx, admin, gatehouse.SharingSettingsPatch{IsB2BIntegrationEnabled: new(bool), ExternalUserExpireInDays: &bad}); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("out of range: %v, want EINVALID", err)
			}
			if e.auditCount() != n {
				t.Errorf("a patch that changed nothing was recorded")
			}
			if got, _ := e.SharingSettings(ctx); got != want {
				t.Errorf("after a refused patch: %+v", got)
			}
		})
	}
}

// The flag's value starts the e-mail attestation period; once the row
// exists, a restart with another value changes nothing.
func TestSharingSettingsSeededFromOptions(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dir := t.TempDir()
			dsn := b.DSN(t, dir)
			open := func(days int) *store.Store {
				blobs, err := blob.Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				s, err := store.Open(ctx, dsn, blobs, store.Options{ReauthDays: days})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			s := open(12)
			if st, err := s.SharingSettings(ctx); err != nil || st.EmailAttestationReAuthDays != 12 {
				t.Errorf("first start with 12: %+v, %v", st, err)
			}
			s.Close()
			s = open(20)
			defer s.Close()
			if st, err := s.SharingSettings(ctx); err != nil || st.EmailAttestationReAuthDays != 12 {
				t.Errorf("restart with 20: %+v, %v; want the 12 already set", st, err)
			}
		})
	}
}

// Parallel changes are applied one after another: each record's old value
// is the previous one's new value, and the last is what is stored.
func TestSharingSettingsParallelUpdates(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, admin, _ := e.member("admin@example.com")
			const n = 16
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					days := 100 + i
					if _, err := e.UpdateSharingSettings(ctx, admin, gatehouse.SharingSettingsPatch{ExternalUserExpireInDays: &days}); err != nil {
						errs <- fmt.Errorf("patch %d: %w", i, err)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			recs := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpSharingPolicyChanged})
			if len(recs) != n {
				t.Fatalf("%d SharingPolicyChanged records, want %d", len(recs), n)
			}
			prev := float64(gatehouse.DefaultExternalUserExpireInDays)
			for i := len(recs) - 1; i >= 0; i-- { // oldest first
				c := policyChanges(t, recs[i])
				if len(c) != 1 || c[0].OldValue != prev {
					t.Fatalf("record %d changes %+v, want old value %v: an update was lost", len(recs)-i, c, prev)
				}
				prev = c[0].NewValue.(float64)
			}
			if st, err := e.SharingSettings(ctx); err != nil || float64(st.ExternalUserExpireInDays) != prev {
				t.Errorf("stored %+v, %v; the last record set %v", st, err, prev)
			}
		})
	}
}

// A remembered recipient session lasts the setting as it is when the code
// is verified.
func TestRememberedSessionFollowsSetting(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			remember := func() time.Duration {
				t.Helper()
				code := e.send("ext@partner.test", "192.0.2.1")
				sess, err := e.VerifyPasscode(ctx, e.link.Token, "ext@partner.test", code, true, "198.51.100.7", "ua")
				if err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(time.Minute) // past the resend interval
				return sess.ExpiresAt.Sub(e.clock.Now().Add(-time.Minute))
			}
			if d := remember(); d != 30*24*time.Hour {
				t.Errorf("default remembered session lasts %v, want 30 days", d)
			}
			three := 3
			if _, err := e.UpdateSharingSettings(ctx, gatehouse.SystemActor(), gatehouse.SharingSettingsPatch{EmailAttestationReAuthDays: &three}); err != nil {
				t.Fatal(err)
			}
			if d := remember(); d != 3*24*time.Hour {
				t.Errorf("after the change a remembered session lasts %v, want 3 days", d)
			}
		})
	}
}
