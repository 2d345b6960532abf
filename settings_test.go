package gatehouse

import (
	"reflect"
	"strings"
	"testing"
)

func TestDefaultSharingSettings(t *testing.T) {
	want := SharingSettings{ExternalUserExpireInDays: 60, EmailAttestationReAuthDays: 30, RecycleBinRetentionDays: 93}
	if got := DefaultSharingSettings(0); got != want {
		t.Errorf("DefaultSharingSettings(0) = %+v, want %+v", got, want)
	}
	want.EmailAttestationReAuthDays = 7
	if got := DefaultSharingSettings(7); got != want {
		t.Errorf("DefaultSharingSettings(7) = %+v, want %+v", got, want)
	}
	if err := DefaultSharingSettings(0).Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}

func TestSharingSettingsApply(t *testing.T) {
	yes, no := true, false
	n := func(v int) *int { return &v }
	base := DefaultSharingSettings(0)
	tests := []struct {
		name    string
		patch   SharingSettingsPatch
		want    SharingSettings
		changed []SettingChange
		err     string // a field the error names
	}{
		{name: "empty patch", want: base},
		{name: "same values", patch: SharingSettingsPatch{IsB2BIntegrationEnabled: &no, ExternalUserExpireInDays: n(60)}, want: base},
		{name: "b2b on", patch: SharingSettingsPatch{IsB2BIntegrationEnabled: &yes},
			want:    SharingSettings{IsB2BIntegrationEnabled: true, ExternalUserExpireInDays: 60, EmailAttestationReAuthDays: 30, RecycleBinRetentionDays: 93},
			changed: []SettingChange{{SettingB2BIntegration, false, true}}},
		{name: "every field", patch: SharingSettingsPatch{&yes, &yes, n(730), n(1), n(7)},
			want: SharingSettings{true, true, 730, 1, 7},
			changed: []SettingChange{{SettingB2BIntegration, false, true}, {SettingExpirationRequired, false, true},
				{SettingExpireInDays, 60, 730}, {SettingEmailAttestationReAuth, 30, 1}, {SettingRecycleBinRetention, 93, 7}}},
		{name: "lowest expiry", patch: SharingSettingsPatch{ExternalUserExpireInDays: n(30)},
			want: SharingSettings{false, false, 30, 30, 93}, changed: []SettingChange{{SettingExpireInDays, 60, 30}}},
		{name: "highest reauth", patch: SharingSettingsPatch{EmailAttestationReAuthDays: n(365)},
			want: SharingSettings{false, false, 60, 365, 93}, changed: []SettingChange{{SettingEmailAttestationReAuth, 30, 365}}},
		{name: "expiry too short", patch: SharingSettingsPatch{ExternalUserExpireInDays: n(29)}, err: SettingExpireInDays},
		{name: "expiry too long", patch: SharingSettingsPatch{ExternalUserExpireInDays: n(731)}, err: SettingExpireInDays},
		{name: "reauth zero", patch: SharingSettingsPatch{EmailAttestationReAuthDays: n(0)}, err: SettingEmailAttestationReAuth},
		{name: "reauth too long", patch: SharingSettingsPatch{EmailAttestationReAuthDays: n(366)}, err: SettingEmailAttestationReAuth},
		{name: "retention zero", patch: SharingSettingsPatch{RecycleBinRetentionDays: n(0)}, err: SettingRecycleBinRetention},
		{name: "retention too long", patch: SharingSettingsPatch{RecycleBinRetentionDays: n(3651)}, err: SettingRecycleBinRetention},
		{name: "bad field refuses the good", patch: SharingSettingsPatch{IsB2BIntegrationEnabled: &yes, EmailAttestationReAuthDays: n(-1)}, err: SettingEmailAttestationReAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := base.Apply(tt.patch)
			if tt.err != "" {
				if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tt.err) {
					t.Fatalf("err = %v, want EINVALID naming %s", err, tt.err)
				}
				if got != base || changed != nil {
					t.Errorf("a refused patch returned %+v %v", got, changed)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("settings = %+v, want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(changed, tt.changed) {
				t.Errorf("changes = %v, want %v", changed, tt.changed)
			}
		})
	}
}
