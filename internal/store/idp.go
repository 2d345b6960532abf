package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"gatehouse"
)

// NewIdentityProvider is what it takes to add a partner's provider.
type NewIdentityProvider struct {
	DisplayName  string
	Issuer       string
	ClientID     string
	ClientSecret string
	Domains      []string
	Scope        string // empty is gatehouse.DefaultOIDCScope
}

// IdentityProviderUpdate holds the fields to change; nil fields stay as
// they are.
type IdentityProviderUpdate struct {
	DisplayName  *string
	Issuer       *string
	ClientID     *string
	ClientSecret *string
	Domains      *[]string
	Scope        *string
}

// idpSecretPurpose binds a sealed client secret to its provider, so that
// one row's secret cannot be copied into another's.
func idpSecretPurpose(id string) string { return "idp-client-secret:" + id }

// idpQuery selects providers with one row per domain, ordered so that each
// provider's rows are together.
const idpQuery = `SELECT p.id, p.display_name, p.issuer, p.client_id, p.scope, p.created_at, p.updated_at, COALESCE(d.domain, '')
	FROM identity_providers p LEFT JOIN provider_domains d ON d.provider_id = p.id`

const idpOrder = ` ORDER BY p.display_name, p.id, d.domain`

// scanIdPs groups idpQuery's rows into providers.
func scanIdPs(rows *sql.Rows, err error) ([]*gatehouse.IdentityProvider, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*gatehouse.IdentityProvider
	for rows.Next() {
		var p gatehouse.IdentityProvider
		var c, u int64
		var domain string
		if err := rows.Scan(&p.ID, &p.DisplayName, &p.Issuer, &p.ClientID, &p.Scope, &c, &u, &domain); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].ID == p.ID {
			out[n-1].Domains = append(out[n-1].Domains, domain)
			continue
		}
		p.CreatedAt, p.UpdatedAt = fromMicros(c), fromMicros(u)
		if domain != "" {
			p.Domains = []string{domain}
		}
		out = append(out, &p)
	}
	return out, rows.Err()
}

func oneIdP(ps []*gatehouse.IdentityProvider, err error) (*gatehouse.IdentityProvider, error) {
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, notFound("The identity provider")
	}
	return ps[0], nil
}

// IdentityProviders returns every partner provider, by display name.
func (s *Store) IdentityProviders(ctx context.Context) ([]*gatehouse.IdentityProvider, error) {
	return scanIdPs(s.query(ctx, idpQuery+idpOrder))
}

// IdentityProvider returns the provider with the id. Returns ENOTFOUND.
func (s *Store) IdentityProvider(ctx context.Context, id string) (*gatehouse.IdentityProvider, error) {
	return oneIdP(scanIdPs(s.query(ctx, idpQuery+` WHERE p.id = ?`+idpOrder, id)))
}

// IdentityProviderForDomain returns the provider whose addresses have the
// domain, for the sign-in flow; an address may be given for its domain.
// Returns ENOTFOUND when the domain has no partner provider.
func (s *Store) IdentityProviderForDomain(ctx context.Context, domain string) (*gatehouse.IdentityProvider, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	if strings.Contains(domain, "@") {
		domain = gatehouse.EmailDomain(domain)
	}
	return oneIdP(scanIdPs(s.query(ctx, idpQuery+
		` WHERE p.id = (SELECT provider_id FROM provider_domains WHERE domain = ?)`+idpOrder, domain)))
}

// IdentityProviderSecret returns the provider's client secret, opened, for
// the sign-in code's token exchange. Nothing that answers a request may
// show it. Returns ENOTFOUND.
func (s *Store) IdentityProviderSecret(ctx context.Context, id string) (string, error) {
	var sealed string
	err := s.queryRow(ctx, `SELECT client_secret FROM identity_providers WHERE id = ?`, id).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("The identity provider")
	}
	if err != nil {
		return "", err
	}
	return s.open(idpSecretPurpose(id), sealed)
}

// OIDCRedirectURI is the redirect URI to register at every partner.
func (s *Store) OIDCRedirectURI() string { return gatehouse.OIDCRedirectURI(s.opt.BaseURL) }

// CreateIdentityProvider adds a partner's provider. Returns EINVALID naming
// the field, or ECONFLICT when a domain belongs to another provider.
func (s *Store) CreateIdentityProvider(ctx context.Context, by gatehouse.Actor, in NewIdentityProvider) (*gatehouse.IdentityProvider, error) {
	p := &gatehouse.IdentityProvider{DisplayName: in.DisplayName, Issuer: in.Issuer, ClientID: in.ClientID,
		Domains: in.Domains, Scope: in.Scope}
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	if err := gatehouse.ValidateClientSecret(in.ClientSecret); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, func(tx *Tx) error {
		p.ID = gatehouse.NewID()
		p.CreatedAt, p.UpdatedAt = tx.now, tx.now
		if _, err := tx.exec(`INSERT INTO identity_providers (id, display_name, issuer, client_id, client_secret, scope, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, p.DisplayName, p.Issuer, p.ClientID,
			s.seal(idpSecretPurpose(p.ID), in.ClientSecret), p.Scope, micros(tx.now), micros(tx.now)); err != nil {
			return err
		}
		if err := tx.claimDomains(p.ID, p.Domains); err != nil {
			return err
		}
		r := idpRecord(gatehouse.OpIdentityProviderAdded, by, p)
		r.EventData = gatehouse.EventData(map[string]any{"displayName": p.DisplayName, "issuer": p.Issuer,
			"clientId": p.ClientID, "domains": p.Domains, "scope": p.Scope})
		return tx.audit(r)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// UpdateIdentityProvider changes a provider; a new client secret replaces
// the old one. Returns ENOTFOUND, EINVALID naming the field, or ECONFLICT
// when a domain belongs to another provider.
func (s *Store) UpdateIdentityProvider(ctx context.Context, by gatehouse.Actor, id string, up IdentityProviderUpdate) (*gatehouse.IdentityProvider, error) {
	newSecret := up.ClientSecret != nil && *up.ClientSecret != gatehouse.SecretPlaceholder // the placeholder a read showed: unchanged
	if newSecret {
		if err := gatehouse.ValidateClientSecret(*up.ClientSecret); err != nil {
			return nil, err
		}
	}
	var p *gatehouse.IdentityProvider
	err := s.inTx(ctx, func(tx *Tx) error {
		old, err := tx.lockIdP(id)
		if err != nil {
			return err
		}
		next := *old
		next.Domains = slices.Clone(old.Domains)
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&next.DisplayName, up.DisplayName)
		set(&next.Issuer, up.Issuer)
		set(&next.ClientID, up.ClientID)
		set(&next.Scope, up.Scope)
		if up.Domains != nil {
			next.Domains = *up.Domains
		}
		if err := next.Normalize(); err != nil {
			return err
		}
		var changed []string
		before, after := map[string]any{}, map[string]any{}
		diff := func(field string, a, b any, same bool) {
			if !same {
				changed = append(changed, field)
				before[field], after[field] = a, b
			}
		}
		diff("displayName", old.DisplayName, next.DisplayName, old.DisplayName == next.DisplayName)
		diff("issuer", old.Issuer, next.Issuer, old.Issuer == next.Issuer)
		diff("clientId", old.ClientID, next.ClientID, old.ClientID == next.ClientID)
		diff("domains", old.Domains, next.Domains, slices.Equal(old.Domains, next.Domains))
		diff("scope", old.Scope, next.Scope, old.Scope == next.Scope)
		if newSecret {
			changed = append(changed, "clientSecret") // its name only, never a value
		}
		if len(changed) == 0 {
			p = old
			return nil
		}
		next.UpdatedAt = tx.now
		if _, err := tx.exec(`UPDATE identity_providers SET display_name = ?, issuer = ?, client_id = ?, scope = ?, updated_at = ? WHERE id = ?`,
			next.DisplayName, next.Issuer, next.ClientID, next.Scope, micros(tx.now), id); err != nil {
			return err
		}
		if newSecret {
			if _, err := tx.exec(`UPDATE identity_providers SET client_secret = ? WHERE id = ?`,
				s.seal(idpSecretPurpose(id), *up.ClientSecret), id); err != nil {
				return err
			}
		}
		for _, d := range old.Domains {
			if !slices.Contains(next.Domains, d) {
				if _, err := tx.exec(`DELETE FROM provider_domains WHERE domain = ? AND provider_id = ?`, d, id); err != nil {
					return err
				}
			}
		}
		if err := tx.claimDomains(id, next.Domains); err != nil {
			return err
		}
		r := idpRecord(gatehouse.OpIdentityProviderUpdated, by, &next)
		r.EventData = gatehouse.EventData(map[string]any{"changed": changed, "old": before, "new": after})
		if err := tx.audit(r); err != nil {
			return err
		}
		p = &next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteIdentityProvider removes a provider and frees its domains.
// Returns ENOTFOUND.
func (s *Store) DeleteIdentityProvider(ctx context.Context, by gatehouse.Actor, id string) error {
	return s.inTx(ctx, func(tx *Tx) error {
		p, err := tx.lockIdP(id)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM provider_domains WHERE provider_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM identity_providers WHERE id = ?`, id); err != nil {
			return err
		}
		r := idpRecord(gatehouse.OpIdentityProviderDeleted, by, p)
		r.EventData = gatehouse.EventData(map[string]any{"displayName": p.DisplayName, "issuer": p.Issuer, "domains": p.Domains})
		return tx.audit(r)
	})
}

// lockIdP reads a provider and, on PostgreSQL, locks its row until the
// transaction ends, so changes to one provider apply one after another.
func (tx *Tx) lockIdP(id string) (*gatehouse.IdentityProvider, error) {
	if tx.s.postgres {
		var got string
		err := tx.queryRow(`SELECT id FROM identity_providers WHERE id = ? FOR UPDATE`, id).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("The identity provider")
		} else if err != nil {
			return nil, err
		}
	}
	return oneIdP(scanIdPs(tx.query(idpQuery+` WHERE p.id = ?`+idpOrder, id)))
}

// claimDomains gives the domains to provider id. One taken by another
// provider is a conflict; losing a race for one to a transaction not yet
// committed runs this one again, which then sees the winner and says who
// holds the domain.
func (tx *Tx) claimDomains(id string, domains []string) error {
	for _, d := range domains {
		var owner, name string
		err := tx.queryRow(`SELECT p.id, p.display_name FROM provider_domains d JOIN identity_providers p ON p.id = d.provider_id
			WHERE d.domain = ?`, d).Scan(&owner, &name)
		switch {
		case err == nil && owner == id:
			continue
		case err == nil:
			return gatehouse.Errorf(gatehouse.ECONFLICT, "The domain %s already belongs to the identity provider %q; a domain can belong to one provider only.", d, name)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.exec(`INSERT INTO provider_domains (domain, provider_id) VALUES (?, ?)`, d, id); err != nil {
			if isUniqueViolation(err) {
				return errRetry
			}
			return err
		}
	}
	return nil
}

// idpRecord is a record about provider p. The client secret is never in
// one.
func idpRecord(op string, by gatehouse.Actor, p *gatehouse.IdentityProvider) *gatehouse.Record {
	r := actorRecord(op, by)
	r.ObjectID, r.ItemType = p.ID, "IdentityProvider"
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = p.DisplayName, "IdentityProvider"
	return r
}
