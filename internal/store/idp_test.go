package store_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

const idpSecret = "s3cret-Fabrikam-client-secret-7f1c"

func fabrikam() store.NewIdentityProvider {
	return store.NewIdentityProvider{DisplayName: " Fabrikam ", Issuer: "https://login.fabrikam.example/", ClientID: "gatehouse-client",
		ClientSecret: idpSecret, Domains: []string{"Fabrikam.example", "eu.fabrikam.example", "fabrikam.example"}}
}

// rawAuditText returns every text column of every audit record, as stored.
func (e *env) rawAuditText() string {
	e.t.Helper()
	r := e.DB()
	rows, err := r.db.QueryContext(ctx, `SELECT id, operation, user_id, user_type, client_ip, user_agent, object_id, item_type,
		source_file_name, source_relative_url, target_user_or_group_name, target_user_or_group_type, unique_sharing_id,
		event_data, result_status FROM audit_records`)
	if err != nil {
		e.t.Fatalf("read audit_records: %v", err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		cols := make([]string, 15)
		ptrs := make([]any, len(cols))
		for i := range cols {
			ptrs[i] = &cols[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			e.t.Fatalf("scan audit_records: %v", err)
		}
		b.WriteString(strings.Join(cols, "\x00"))
	}
	return b.String()
}

func TestIdentityProviderRoundTrip(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, _ := e.member("ada@example.com")
			p, err := e.CreateIdentityProvider(ctx, by, fabrikam())
			if err != nil {
				t.Fatalf("CreateIdentityProvider: %v", err)
			}
			want := &gatehouse.IdentityProvider{ID: p.ID, DisplayName: "Fabrikam", Issuer: "https://login.fabrikam.example/",
				ClientID: "gatehouse-client", Domains: []string{"eu.fabrikam.example", "fabrikam.example"},
				Scope: gatehouse.DefaultOIDCScope, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
			checkIdP(t, "CreateIdentityProvider", p, want)
			rec := e.last()
			if rec.Operation != gatehouse.OpIdentityProviderAdded || rec.ObjectID != p.ID || rec.UserID != "ada@example.com" ||
				!strings.Contains(rec.EventData, `"issuer":"https://login.fabrikam.example/"`) {
				t.Errorf("record: got %+v, want IdentityProviderAdded of %s by ada with the issuer", rec, p.ID)
			}

			got, err := e.IdentityProvider(ctx, p.ID)
			if err != nil {
				t.Fatalf("IdentityProvider: %v", err)
			}
			checkIdP(t, "IdentityProvider", got, want)
			list, err := e.IdentityProviders(ctx)
			if err != nil || len(list) != 1 {
				t.Fatalf("IdentityProviders: got %d, %v; want 1", len(list), err)
			}
			checkIdP(t, "IdentityProviders", list[0], want)
			for _, key := range []string{"fabrikam.example", " EU.Fabrikam.example", "dana@Fabrikam.Example"} {
				if got, err := e.IdentityProviderForDomain(ctx, key); err != nil || got.ID != p.ID {
					t.Errorf("IdentityProviderForDomain(%q): got %v, %v; want %s", key, got, err, p.ID)
				}
			}
			if _, err := e.IdentityProviderForDomain(ctx, "contoso.example"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("IdentityProviderForDomain(another domain): got %v, want ENOTFOUND", err)
			}
			if sec, err := e.IdentityProviderSecret(ctx, p.ID); err != nil || sec != idpSecret {
				t.Errorf("IdentityProviderSecret: got %q, %v; want the secret given", sec, err)
			}
			if got := e.OIDCRedirectURI(); got != "https://files.example.com/auth/oidc/callback" {
				t.Errorf("OIDCRedirectURI: got %q", got)
			}

			e.clock.Advance(time.Minute)
			name, secret2, scope := "Fabrikam Ltd", "second-"+idpSecret, "openid email"
			domains := []string{"fabrikam.example", "fabrikam.test"}
			p2, err := e.UpdateIdentityProvider(ctx, by, p.ID, store.IdentityProviderUpdate{DisplayName: &name,
				ClientSecret: &secret2, Domains: &domains, Scope: &scope})
			if err != nil {
				t.Fatalf("UpdateIdentityProvider: %v", err)
			}
			want.DisplayName, want.Domains, want.Scope, want.UpdatedAt = name, domains, scope, e.clock.Now()
			checkIdP(t, "UpdateIdentityProvider", p2, want)
			if got, err := e.IdentityProvider(ctx, p.ID); err != nil {
				t.Fatalf("IdentityProvider after update: %v", err)
			} else {
				checkIdP(t, "IdentityProvider after update", got, want)
			}
			if sec, err := e.IdentityProviderSecret(ctx, p.ID); err != nil || sec != secret2 {
				t.Errorf("IdentityProviderSecret after update: got %q, %v; want the new secret", sec, err)
			}
			if _, err := e.IdentityProviderForDomain(ctx, "eu.fabrikam.example"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("a removed domain: got %v, want ENOTFOUND", err)
			}
			if got, err := e.IdentityProviderForDomain(ctx, "fabrikam.test"); err != nil || got.ID != p.ID {
				t.Errorf("an added domain: got %v, %v", got, err)
			}
			rec = e.last()
			var data struct {
				Changed []string
				Old     map[string]any
				New     map[string]any
			}
			if err := json.Unmarshal([]byte(rec.EventData), &data); err != nil {
				t.Fatalf("EventData %q: %v", rec.EventData, err)
			}
			if rec.Operation != gatehouse.OpIdentityProviderUpdated || !slices.Equal(data.Changed, []string{"displayName", "domains", "scope", "clientSecret"}) ||
				data.Old["displayName"] != "Fabrikam" || data.New["displayName"] != name {
				t.Errorf("update record: got %s %s, want the changed fields with old and new values", rec.Operation, rec.EventData)
			}

			// A change to nothing records nothing; the placeholder a read shows keeps the secret.
			n := len(e.records(gatehouse.AuditFilter{}))
			placeholder := gatehouse.SecretPlaceholder
			if _, err := e.UpdateIdentityProvider(ctx, by, p.ID, store.IdentityProviderUpdate{DisplayName: &name, ClientSecret: &placeholder}); err != nil {
				t.Fatalf("UpdateIdentityProvider(no change): %v", err)
			}
			if got := len(e.records(gatehouse.AuditFilter{})); got != n {
				t.Errorf("an update that changes nothing: %d records, want %d", got, n)
			}
			if sec, _ := e.IdentityProviderSecret(ctx, p.ID); sec != secret2 {
				t.Errorf("the placeholder as secret: got %q, want the secret kept", sec)
			}

			// Bad input is refused before anything changes, naming the field.
			bad := "http://login.fabrikam.example/"
			if _, err := e.UpdateIdentityProvider(ctx, by, p.ID, store.IdentityProviderUpdate{Issuer: &bad}); gatehouse.ErrorCode(err) != gatehouse.EINVALID ||
				!strings.Contains(gatehouse.ErrorMessage(err), "issuer") {
				t.Errorf("an http issuer: got %v, want EINVALID naming issuer", err)
			}
			empty := ""
			if _, err := e.UpdateIdentityProvider(ctx, by, p.ID, store.IdentityProviderUpdate{ClientSecret: &empty}); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("an empty secret: got %v, want EINVALID", err)
			}
			nf := "nope"
			if _, err := e.UpdateIdentityProvider(ctx, by, "missing", store.IdentityProviderUpdate{DisplayName: &nf}); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("UpdateIdentityProvider(missing): got %v, want ENOTFOUND", err)
			}

			// The secrets are sealed at rest and never in a record.
			var stored string
			r := e.DB()
			if err := r.db.QueryRowContext(ctx, r.rebind(`SELECT client_secret FROM identity_providers WHERE id = ?`), p.ID).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(stored, "secret") || stored == "" {
				t.Errorf("client_secret column holds %q, want it sealed", stored)
			}
			if err := e.DeleteIdentityProvider(ctx, by, p.ID); err != nil {
				t.Fatalf("DeleteIdentityProvider: %v", err)
			}
			if rec := e.last(); rec.Operation != gatehouse.OpIdentityProviderDeleted || rec.ObjectID != p.ID {
				t.Errorf("delete record: got %+v", rec)
			}
			if raw := e.rawAuditText(); strings.Contains(raw, idpSecret) || strings.Contains(raw, "s3cret") {
				t.Errorf("the audit table holds a client secret")
			}
			if _, err := e.IdentityProvider(ctx, p.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("IdentityProvider after delete: got %v, want ENOTFOUND", err)
			}
			if _, err := e.IdentityProviderSecret(ctx, p.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("IdentityProviderSecret after delete: got %v, want ENOTFOUND", err)
			}
			if err := e.DeleteIdentityProvider(ctx, by, p.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("DeleteIdentityProvider twice: got %v, want ENOTFOUND", err)
			}
			if _, err := e.IdentityProviderForDomain(ctx, "fabrikam.example"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("a deleted provider's domain: got %v, want ENOTFOUND", err)
			}
			if n := e.count(`SELECT COUNT(*) FROM provider_domains`); n != 0 {
				t.Errorf("provider_domains after delete: %d rows, want 0", n)
			}
		})
	}
}

func checkIdP(t *testing.T, what string, got, want *gatehouse.IdentityProvider) {
	t.Helper()
	if got.ID != want.ID || got.DisplayName != want.DisplayName || got.Issuer != want.Issuer || got.ClientID != want.ClientID ||
		!slices.Equal(got.Domains, want.Domains) || got.Scope != want.Scope || !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}

func TestIdentityProviderDomainConflict(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			by := gatehouse.SystemActor()
			p, err := e.CreateIdentityProvider(ctx, by, fabrikam())
			if err != nil {
				t.Fatalf("CreateIdentityProvider: %v", err)
			}
			other := store.NewIdentityProvider{DisplayName: "Contoso", Issuer: "https://login.contoso.example", ClientID: "c",
				ClientSecret: "contoso-secret", Domains: []string{"contoso.example", "EU.fabrikam.example"}}
			n := len(e.records(gatehouse.AuditFilter{}))
			_, err = e.CreateIdentityProvider(ctx, by, other)
			if gatehouse.ErrorCode(err) != gatehouse.ECONFLICT || !strings.Contains(gatehouse.ErrorMessage(err), "eu.fabrikam.example") ||
				!strings.Contains(gatehouse.ErrorMessage(err), "Fabrikam") {
				t.Fatalf("a second provider for a domain: got %v, want ECONFLICT naming the domain and its provider", err)
			}
			if list, _ := e.IdentityProviders(ctx); len(list) != 1 || len(e.records(gatehouse.AuditFilter{})) != n {
				t.Errorf("a refused create left %d providers and %d new records, want 1 and none", len(list), len(e.records(gatehouse.AuditFilter{}))-n)
			}
			other.Domains = []string{"contoso.example"}
			c, err := e.CreateIdentityProvider(ctx, by, other)
			if err != nil {
				t.Fatalf("CreateIdentityProvider(contoso): %v", err)
			}
			steal := []string{"contoso.example", "fabrikam.example"}
			if _, err := e.UpdateIdentityProvider(ctx, by, c.ID, store.IdentityProviderUpdate{Domains: &steal}); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
				t.Errorf("an update taking another's domain: got %v, want ECONFLICT", err)
			}
			if got, _ := e.IdentityProviderForDomain(ctx, "fabrikam.example"); got == nil || got.ID != p.ID {
				t.Errorf("fabrikam.example after the refused update: got %v, want %s", got, p.ID)
			}
			// Once Fabrikam lets a domain go, another provider may take it.
			keep := []string{"fabrikam.example"}
			if _, err := e.UpdateIdentityProvider(ctx, by, p.ID, store.IdentityProviderUpdate{Domains: &keep}); err != nil {
				t.Fatal(err)
			}
			move := []string{"contoso.example", "eu.fabrikam.example"}
			if _, err := e.UpdateIdentityProvider(ctx, by, c.ID, store.IdentityProviderUpdate{Domains: &move}); err != nil {
				t.Errorf("taking a freed domain: %v", err)
			}
		})
	}
}

// Parallel creates claiming one domain: exactly one wins, on any number of
// connections; the rest are told who holds it.
func TestIdentityProviderDomainRace(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			const n = 16
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					in := fabrikam()
					in.DisplayName = "Claimant " + string(rune('A'+i))
					in.Domains = []string{"claim" + string(rune('a'+i)) + ".example", "fabrikam.example"}
					_, errs[i] = e.CreateIdentityProvider(ctx, gatehouse.SystemActor(), in)
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case gatehouse.ErrorCode(err) != gatehouse.ECONFLICT || !strings.Contains(gatehouse.ErrorMessage(err), "fabrikam.example"):
					t.Errorf("create %d: got %v, want ECONFLICT about fabrikam.example", i, err)
				}
			}
			if won != 1 {
				t.Errorf("%d creates won the domain, want exactly 1", won)
			}
			if got := e.count(`SELECT COUNT(*) FROM identity_providers`); got != 1 {
				t.Errorf("%d providers stored, want 1", got)
			}
			if got := e.count(`SELECT COUNT(*) FROM provider_domains`); got != 2 {
				t.Errorf("%d domains stored, want the winner's 2", got)
			}
			if got := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpIdentityProviderAdded})); got != 1 {
				t.Errorf("%d IdentityProviderAdded records, want 1", got)
			}
		})
	}
}
