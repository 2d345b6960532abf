package api

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"gatehouse"
	"gatehouse/internal/auditcsv"
	"gatehouse/internal/httpx"
)

// exportPageSize is how many records the export reads from the store at a
// time: memory stays flat whatever the size of the result.
const exportPageSize = 1000

// auditQueryFilter reads the filters of the audit log routes: operation,
// userId (exact), userIdStartsWith (case-insensitive prefix), objectId,
// uniqueSharingId, start and end (RFC 3339).
func auditQueryFilter(q url.Values) (gatehouse.AuditFilter, error) {
	f := gatehouse.AuditFilter{Operation: q.Get("operation"), UserID: q.Get("userId"), UserIDPrefix: q.Get("userIdStartsWith"),
		ObjectID: q.Get("objectId"), UniqueSharingID: q.Get("uniqueSharingId")}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"start", &f.Since}, {"end", &f.Until}} {
		if s := q.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return f, gatehouse.Errorf(gatehouse.EINVALID, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z.", p.name)
			}
			*p.t = t
		}
	}
	return f, nil
}

// exportAudit streams every record matching the filters, newest first, as
// CSV with the Microsoft 365 field names or as JSON lines.
func (h *Handler) exportAudit(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	format := q.Get("format")
	var contentType string
	switch format {
	case "csv":
		contentType = "text/csv; charset=utf-8"
	case "jsonl":
		contentType = "application/jsonl; charset=utf-8"
	default:
		return gatehouse.Errorf(gatehouse.EINVALID, "format must be csv or jsonl.")
	}
	f, err := auditQueryFilter(q)
	if err != nil {
		return err
	}
	f.Limit = exportPageSize
	// The first page is read before anything is written, so a bad filter
	// or a failing store still gets its proper status.
	recs, next, err := h.store.SearchAudit(r.Context(), f, nil)
	if err != nil {
		return err
	}
	name := "audit-" + time.Now().UTC().Format("20060102T150405Z") + "." + format
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)

	var emit func(*gatehouse.Record) error
	var flush func() error
	if format == "csv" {
		cw := csv.NewWriter(w)
		cw.Write(auditcsv.Header)
		emit = func(rec *gatehouse.Record) error { return cw.Write(auditcsv.Row(rec)) }
		flush = func() error { cw.Flush(); return cw.Error() }
	} else {
		enc := json.NewEncoder(w)
		emit = func(rec *gatehouse.Record) error { return enc.Encode(rec) }
		flush = func() error { return nil }
	}
	rc := http.NewResponseController(w)
	for {
		for _, rec := range recs {
			if err := emit(rec); err != nil {
				return nil // the client went away
			}
		}
		if err := flush(); err != nil {
			return nil
		}
		rc.Flush()
		if next == nil {
			return nil
		}
		if recs, next, err = h.store.SearchAudit(r.Context(), f, next); err != nil {
			// The status is sent: break the response rather than end it
			// cleanly, so the download fails instead of looking complete.
			httpx.LogError(r, err)
			panic(http.ErrAbortHandler)
		}
	}
}
