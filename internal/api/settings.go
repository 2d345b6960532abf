package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"gatehouse"
	"gatehouse/internal/httpx"
)

// settingsJSON is the sharing settings as Graph's sharepointSettings.
func settingsJSON(st gatehouse.SharingSettings) map[string]any {
	return map[string]any{
		gatehouse.SettingB2BIntegration:         st.IsB2BIntegrationEnabled,
		gatehouse.SettingExpirationRequired:     st.ExternalUserExpirationRequired,
		gatehouse.SettingExpireInDays:           st.ExternalUserExpireInDays,
		gatehouse.SettingEmailAttestationReAuth: st.EmailAttestationReAuthDays,
		gatehouse.SettingRecycleBinRetention:    st.RecycleBinRetentionDays,
	}
}

func (h *Handler) getSharingSettings(w http.ResponseWriter, r *http.Request, c *caller) error {
	st, err := h.store.SharingSettings(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, settingsJSON(st))
	return nil
}

// updateSharingSettings changes the fields the body names and answers the
// whole resource, as Graph does.
func (h *Handler) updateSharingSettings(w http.ResponseWriter, r *http.Request, c *caller) error {
	// Raw fields, so that null and wrong types are refused by name rather
	// than read as "not given".
	var body struct {
		IsB2BIntegrationEnabled        json.RawMessage `json:"isB2BIntegrationEnabled"`
		ExternalUserExpirationRequired json.RawMessage `json:"externalUserExpirationRequired"`
		ExternalUserExpireInDays       json.RawMessage `json:"externalUserExpireInDays"`
		EmailAttestationReAuthDays     json.RawMessage `json:"emailAttestationReAuthDays"`
		RecycleBinRetentionDays        json.RawMessage `json:"recycleBinRetentionDays"`
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	var p gatehouse.SharingSettingsPatch
	var err error
	if p.IsB2BIntegrationEnabled, err = settingField[bool](gatehouse.SettingB2BIntegration, body.IsB2BIntegrationEnabled); err != nil {
		return err
	}
	if p.ExternalUserExpirationRequired, err = settingField[bool](gatehouse.SettingExpirationRequired, body.ExternalUserExpirationRequired); err != nil {
		return err
	}
	if p.ExternalUserExpireInDays, err = settingField[int](gatehouse.SettingExpireInDays, body.ExternalUserExpireInDays); err != nil {
		return err
	}
	if p.EmailAttestationReAuthDays, err = settingField[int](gatehouse.SettingEmailAttestationReAuth, body.EmailAttestationReAuthDays); err != nil {
		return err
	}
	if p.RecycleBinRetentionDays, err = settingField[int](gatehouse.SettingRecycleBinRetention, body.RecycleBinRetentionDays); err != nil {
		return err
	}
	st, err := h.store.UpdateSharingSettings(r.Context(), c.Actor, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, settingsJSON(st))
	return nil
}

// settingField reads one field of a settings patch: nil when absent, an
// EINVALID naming the field when null or of the wrong type.
func settingField[T bool | int](name string, raw json.RawMessage) (*T, error) {
	if raw == nil {
		return nil, nil
	}
	var v T
	if bytes.Equal(raw, []byte("null")) || json.Unmarshal(raw, &v) != nil {
		var zero any = v
		if _, ok := zero.(bool); ok {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s must be true or false.", name)
		}
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s must be a whole number of days.", name)
	}
	return &v, nil
}
