package gatehouse

// Sharing settings: the tenant-wide sharing policy admins read and change
// at /v1.0/admin/sharepoint/settings. Later policy fields join this type.

// Bounds and defaults of the sharing settings.
const (
	MinExternalUserExpireInDays     = 30
	MaxExternalUserExpireInDays     = 730
	DefaultExternalUserExpireInDays = 60
	// The e-mail attestation period is the passcode re-authentication
	// period: DefaultReauthDays and MaxReauthDays bound it.
	MinEmailAttestationReAuthDays = 1
	// Items stay in the recycle bin this long, SharePoint's default, before
	// the sweep purges them.
	DefaultRecycleBinRetentionDays = 93
	MinRecycleBinRetentionDays     = 1
	MaxRecycleBinRetentionDays     = 3650
)

// Field names of the sharing settings, as the API spells them.
const (
	SettingB2BIntegration         = "isB2BIntegrationEnabled"
	SettingExpirationRequired     = "externalUserExpirationRequired"
	SettingExpireInDays           = "externalUserExpireInDays"
	SettingEmailAttestationReAuth = "emailAttestationReAuthDays"
	SettingRecycleBinRetention    = "recycleBinRetentionDays"
)

// SharingSettings is the tenant's sharing policy.
type SharingSettings struct {
	IsB2BIntegrationEnabled        bool
	ExternalUserExpirationRequired bool
	ExternalUserExpireInDays       int
	EmailAttestationReAuthDays     int
	RecycleBinRetentionDays        int
}

// DefaultSharingSettings returns the settings of a new deployment, whose
// e-mail attestation period starts at reauthDays (the
// --passcode-reauth-days flag); 0 takes DefaultReauthDays.
func DefaultSharingSettings(reauthDays int) SharingSettings {
	if reauthDays == 0 {
		reauthDays = DefaultReauthDays
	}
	return SharingSettings{ExternalUserExpireInDays: DefaultExternalUserExpireInDays, EmailAttestationReAuthDays: reauthDays,
		RecycleBinRetentionDays: DefaultRecycleBinRetentionDays}
}

// Validate checks every field against its range, naming the first field
// out of range.
func (s SharingSettings) Validate() error {
	if s.ExternalUserExpireInDays < MinExternalUserExpireInDays || s.ExternalUserExpireInDays > MaxExternalUserExpireInDays {
		return Errorf(EINVALID, "%s must be a whole number of days from %d to %d; got %d.", SettingExpireInDays,
			MinExternalUserExpireInDays, MaxExternalUserExpireInDays, s.ExternalUserExpireInDays)
	}
	if s.EmailAttestationReAuthDays < MinEmailAttestationReAuthDays || s.EmailAttestationReAuthDays > MaxReauthDays {
		return Errorf(EINVALID, "%s must be a whole number of days from %d to %d; got %d.", SettingEmailAttestationReAuth,
			MinEmailAttestationReAuthDays, MaxReauthDays, s.EmailAttestationReAuthDays)
	}
	if s.RecycleBinRetentionDays < MinRecycleBinRetentionDays || s.RecycleBinRetentionDays > MaxRecycleBinRetentionDays {
		return Errorf(EINVALID, "%s must be a whole number of days from %d to %d; got %d.", SettingRecycleBinRetention,
			MinRecycleBinRetentionDays, MaxRecycleBinRetentionDays, s.RecycleBinRetentionDays)
	}
	return nil
}

// SharingSettingsPatch is a partial change: nil fields stay as they are.
type SharingSettingsPatch struct {
	IsB2BIntegrationEnabled        *bool
	ExternalUserExpirationRequired *bool
	ExternalUserExpireInDays       *int
	EmailAttestationReAuthDays     *int
	RecycleBinRetentionDays        *int
}

// SettingChange is one field a patch changed.
type SettingChange struct {
	Name     string `json:"name"`
	OldValue any    `json:"oldValue"`
	NewValue any    `json:"newValue"`
}

// Apply returns s with the patch's fields set, and the fields whose value
// changed, in the API's order. The result is validated; on error s is
// returned unchanged. A patch that sets values already in place changes
// nothing.
func (s SharingSettings) Apply(p SharingSettingsPatch) (SharingSettings, []SettingChange, error) {
	next := s
	if p.IsB2BIntegrationEnabled != nil {
		next.IsB2BIntegrationEnabled = *p.IsB2BIntegrationEnabled
	}
	if p.ExternalUserExpirationRequired != nil {
		next.ExternalUserExpirationRequired = *p.ExternalUserExpirationRequired
	}
	if p.ExternalUserExpireInDays != nil {
		next.ExternalUserExpireInDays = *p.ExternalUserExpireInDays
	}
	if p.EmailAttestationReAuthDays != nil {
		next.EmailAttestationReAuthDays = *p.EmailAttestationReAuthDays
	}
	if p.RecycleBinRetentionDays != nil {
		next.RecycleBinRetentionDays = *p.RecycleBinRetentionDays
	}
	if err := next.Validate(); err != nil {
		return s, nil, err
	}
	var changes []SettingChange
	add := func(name string, old, new any) {
		if old != new {
			changes = append(changes, SettingChange{Name: name, OldValue: old, NewValue: new})
		}
	}
	add(SettingB2BIntegration, s.IsB2BIntegrationEnabled, next.IsB2BIntegrationEnabled)
	add(SettingExpirationRequired, s.ExternalUserExpirationRequired, next.ExternalUserExpirationRequired)
	add(SettingExpireInDays, s.ExternalUserExpireInDays, next.ExternalUserExpireInDays)
	add(SettingEmailAttestationReAuth, s.EmailAttestationReAuthDays, next.EmailAttestationReAuthDays)
	add(SettingRecycleBinRetention, s.RecycleBinRetentionDays, next.RecycleBinRetentionDays)
	return next, changes, nil
}
