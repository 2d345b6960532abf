package store

import (
	"context"
	"database/sql"
	"errors"

	"gatehouse"
)

const settingsColumns = `is_b2b_integration_enabled, external_user_expiration_required,
	external_user_expire_in_days, email_attestation_reauth_days, recycle_bin_retention_days`

func scanSettings(row *sql.Row) (gatehouse.SharingSettings, error) {
	var st gatehouse.SharingSettings
	err := row.Scan(&st.IsB2BIntegrationEnabled, &st.ExternalUserExpirationRequired,
		&st.ExternalUserExpireInDays, &st.EmailAttestationReAuthDays, &st.RecycleBinRetentionDays)
	return st, err
}

// initialSettings are the settings the row starts with.
func (s *Store) initialSettings() gatehouse.SharingSettings {
	return gatehouse.DefaultSharingSettings(s.opt.ReauthDays)
}

// SharingSettings returns the tenant's sharing settings.
func (s *Store) SharingSettings(ctx context.Context) (gatehouse.SharingSettings, error) {
	st, err := scanSettings(s.queryRow(ctx, `SELECT `+settingsColumns+` FROM sharing_settings WHERE id = 1`))
	if errors.Is(err, sql.ErrNoRows) {
		// Create the row now, so that the flag's value is only the first one.
		err = s.inTx(ctx, func(tx *Tx) (err error) {
			st, err = tx.sharingSettings(false)
			return err
		})
	}
	return st, err
}

// sharingSettings reads the settings in tx, creating the row with the
// initial values if there is none. With lock, the row stays locked until
// tx ends (PostgreSQL; SQLite has one writer anyway), so read-modify-write
// changes are applied one after another.
func (tx *Tx) sharingSettings(lock bool) (gatehouse.SharingSettings, error) {
	q := `SELECT ` + settingsColumns + ` FROM sharing_settings WHERE id = 1`
	if lock && tx.s.postgres {
		q += ` FOR UPDATE`
	}
	st, err := scanSettings(tx.queryRow(q))
	if !errors.Is(err, sql.ErrNoRows) {
		return st, err
	}
	// A concurrent first creation waits on the key, then does nothing;
	// reading again then finds the row it committed.
	init := tx.s.initialSettings()
	tx.keepEpoch = false // settings are facts decisions read
	if _, err := tx.exec(`INSERT INTO sharing_settings (id, `+settingsColumns+`, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, init.IsB2BIntegrationEnabled, init.ExternalUserExpirationRequired,
		init.ExternalUserExpireInDays, init.EmailAttestationReAuthDays, init.RecycleBinRetentionDays, micros(tx.now)); err != nil {
		return st, err
	}
	return scanSettings(tx.queryRow(q))
}

// UpdateSharingSettings applies a partial change to the sharing settings
// and records the fields it changed, old and new, as one
// SharingPolicyChanged. A patch that changes nothing records nothing.
// Returns the settings after the change; EINVALID names a field out of
// range.
func (s *Store) UpdateSharingSettings(ctx context.Context, by gatehouse.Actor, p gatehouse.SharingSettingsPatch) (gatehouse.SharingSettings, error) {
	var out gatehouse.SharingSettings
	err := s.inTx(ctx, func(tx *Tx) error {
		cur, err := tx.sharingSettings(true)
		if err != nil {
			return err
		}
		next, changes, err := cur.Apply(p)
		if err != nil {
			return err
		}
		out = next
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.exec(`UPDATE sharing_settings SET is_b2b_integration_enabled = ?, external_user_expiration_required = ?,
			external_user_expire_in_days = ?, email_attestation_reauth_days = ?, recycle_bin_retention_days = ?, updated_at = ? WHERE id = 1`,
			next.IsB2BIntegrationEnabled, next.ExternalUserExpirationRequired, next.ExternalUserExpireInDays,
			next.EmailAttestationReAuthDays, next.RecycleBinRetentionDays, micros(tx.now)); err != nil {
			return err
		}
		r := actorRecord(gatehouse.OpSharingPolicyChanged, by)
		r.ObjectID = s.opt.BaseURL + "/v1.0/admin/sharepoint/settings"
		r.ItemType = "SharingSettings"
		r.EventData = gatehouse.EventData(map[string]any{"modifiedProperties": changes})
		return tx.audit(r)
	})
	return out, err
}
