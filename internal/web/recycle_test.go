package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/store"
)

// TestSiteRecycleBin: a site's bin is for those who may delete there. A
// member restores and purges; a visitor is told they may only view; a
// stranger, and another member's own bin, find nothing of it.
func TestSiteRecycleBin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	olive := e.addUser("olive@example.com", "Olive Owner", false)
	e.addUser("mel@example.com", "Mel Member", false)
	e.addUser("vic@example.com", "Vic Visitor", false)
	e.addUser("sam@example.com", "Sam Stranger", false)
	byOlive := gatehouse.UserActor(olive, "127.0.0.1", "test")
	st, err := e.store.CreateSite(ctx, byOlive, store.NewSite{DisplayName: "Falcon"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ email, role string }{{"mel@example.com", gatehouse.SiteRoleWrite}, {"vic@example.com", gatehouse.SiteRoleRead}} {
		if _, err := e.store.ShareSite(ctx, byOlive, st.ID, store.SiteShare{Recipients: []store.SiteRecipient{{Email: s.email}}, Role: s.role}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := e.store.Drive(ctx, st.DriveID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, name := range []string{"plan.txt", "old.txt"} {
		it, _, err := e.store.PutFile(ctx, byOlive, d.ID, d.RootID, name, strings.NewReader(name), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
	}
	mel := e.signIn("mel@example.com")
	site := "/sites/" + st.ID
	// Mel deletes plan.txt from the site page; its confirm names the bin.
	_, body := mel.get(site)
	if !strings.Contains(body, "It goes to the recycle bin.") || !strings.Contains(body, `href="`+site+`/recycle"`) {
		t.Errorf("the site page's delete confirm or bin link is missing")
	}
	for _, id := range ids {
		if resp, body := mel.postForm(site+"/items/"+id+"/delete", url.Values{}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete: %d %s", resp.StatusCode, pageError(body))
		}
	}

	resp, body := mel.get(site + "/recycle")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "plan.txt") || !strings.Contains(body, "Falcon") || !strings.Contains(body, "Mel Member") {
		t.Fatalf("member's view of the site bin: %d\n%s", resp.StatusCode, body)
	}
	for _, c := range []struct {
		who    string
		status int
	}{{"vic@example.com", http.StatusForbidden}, {"sam@example.com", http.StatusNotFound}} {
		cl := e.signIn(c.who)
		if resp, body := cl.get(site + "/recycle"); resp.StatusCode != c.status || strings.Contains(body, "plan.txt") {
			t.Errorf("%s GET the site bin: %d, want %d", c.who, resp.StatusCode, c.status)
		}
		if resp, _ := cl.postForm(site+"/recycle/"+ids[0]+"/restore", url.Values{}); resp.StatusCode != c.status {
			t.Errorf("%s restores: %d, want %d", c.who, resp.StatusCode, c.status)
		}
		// Their own bin, at /recycle, does not reach the site's items.
		if resp, _ := cl.postForm("/recycle/"+ids[0]+"/restore", url.Values{}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s restores the site's item through their own bin: %d, want 404", c.who, resp.StatusCode)
		}
		if resp, body := cl.get("/recycle"); resp.StatusCode != http.StatusOK || strings.Contains(body, "plan.txt") || !strings.Contains(body, `id="bin-empty"`) {
			t.Errorf("%s's own bin: %d, shows the site's items or is not empty", c.who, resp.StatusCode)
		}
	}

	resp, body = mel.postForm(site+"/recycle/"+ids[0]+"/restore", url.Values{})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != site+"/recycle" {
		t.Fatalf("restore: %d %s", resp.StatusCode, pageError(body))
	}
	if _, body := mel.get(site + "/recycle"); !strings.Contains(body, "Restored “plan.txt” to Falcon.") {
		t.Errorf("no restore notice:\n%s", body)
	}
	if it, err := e.store.Item(ctx, d.ID, ids[0]); err != nil || it.ParentID != d.RootID {
		t.Errorf("restored item: %+v %v", it, err)
	}
	if resp, body := mel.postForm(site+"/recycle/"+ids[0]+"/delete", url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("purge of what is no longer in the bin: %d %s", resp.StatusCode, pageError(body))
	}
	if resp, _ := mel.postForm(site+"/recycle/empty", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("empty: %d", resp.StatusCode)
	}
	if _, body := mel.get(site + "/recycle"); !strings.Contains(body, "1 item deleted permanently") || !strings.Contains(body, `id="bin-empty"`) {
		t.Errorf("after emptying:\n%s", body)
	}
	if ops := e.auditOps("mel@example.com"); ops[gatehouse.OpFileDeleted] != 2 || ops[gatehouse.OpFileRestored] != 1 || ops[gatehouse.OpFileDeletedFirstStageRecycleBin] != 1 {
		t.Errorf("Mel's records: %v", ops)
	}
}
