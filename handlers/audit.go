package handlers

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"countersign/fail"
	"countersign/payout"
	"countersign/store"
	"countersign/views"
)

const auditPageSize = 100

// readAuditFilter reads the audit page's filter from the query: what was
// typed, the store's filter, and what is wrong with it.
func readAuditFilter(q url.Values, clk views.Clock) (views.AuditFilter, store.AuditFilter, views.FieldErrors) {
	vf := views.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Object: q.Get("object"), From: q.Get("from"), To: q.Get("to")}
	errs := views.FieldErrors{}
	f := store.AuditFilter{Actor: strings.TrimSpace(vf.Actor), Action: strings.TrimSpace(vf.Action)}
	if typ, id, ok := strings.Cut(strings.TrimSpace(vf.Object), ":"); ok {
		f.ObjectType, f.ObjectID = typ, id
	} else if vf.Object != "" {
		f.ObjectType = strings.TrimSpace(vf.Object)
	}
	f.From, f.To = parseDateRange(vf.From, vf.To, clk, errs)
	return vf, f, errs
}

func (a *app) auditLog(c echo.Context) error {
	q := c.QueryParams()
	clk := a.clock(c)
	vf, f, errs := readAuditFilter(q, clk)
	f.Limit = auditPageSize
	if before, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil {
		f.BeforeID = before
	}
	m := views.AuditModel{Filter: vf, Errors: errs, ExportQuery: exportQuery(vf)}
	status := http.StatusOK
	if len(errs) == 0 {
		entries, err := a.DB.AuditEntries(c.Request().Context(), f)
		if err != nil {
			return err
		}
		w, err := a.wording(c.Request().Context())
		if err != nil {
			return err
		}
		for _, e := range entries {
			m.Rows = append(m.Rows, auditRow(e, w, clk))
		}
		if len(entries) == auditPageSize {
			next := url.Values{"actor": {vf.Actor}, "action": {vf.Action}, "object": {vf.Object}, "from": {vf.From}, "to": {vf.To},
				"before": {strconv.FormatInt(entries[len(entries)-1].ID, 10)}}
			m.NextHref = "/audit?" + next.Encode()
		}
	} else {
		status = http.StatusUnprocessableEntity
	}
	frame, err := a.frame(c, "Audit log", "/audit")
	if err != nil {
		return err
	}
	m.Frame = frame
	return render(c, status, views.AuditPage(m))
}

func auditRow(e store.AuditEntry, w wording, clk views.Clock) views.AuditRow {
	r := views.AuditRow{ID: e.ID, Event: w.event(e, clk), IP: e.IP}
	r.Object, r.ObjectHref = objectWords(e.ObjectType, e.ObjectID)
	return r
}

// objectWords names what an entry is about, with a link where there is a page.
func objectWords(typ, id string) (string, string) {
	switch {
	case typ == "":
		return "", ""
	case typ == "payout" && id != "":
		return "Payout #" + id, "/payouts/" + id
	case typ == "payout":
		return "Payouts", ""
	case typ == "user" && id != "":
		return "Account #" + id, "/admin/users/" + id
	case typ == "recipient" && id != "":
		return "Recipient #" + id, "/recipients/" + id
	case typ == "setting" && id == payout.PolicySetting:
		return "Approval policy", "/admin/settings"
	case typ == "setting" && id == payout.LowBalanceSetting:
		return "Low-balance levels", "/admin/settings"
	case typ == "setting":
		return "Setting " + id, "/admin/settings"
	case id != "":
		return humanize(typ) + " #" + id, ""
	}
	return humanize(typ) + " " + id, ""
}

// exportQuery is the filter as a query string for the export links.
func exportQuery(vf views.AuditFilter) string {
	q := url.Values{}
	for k, v := range map[string]string{"actor": vf.Actor, "action": vf.Action, "object": vf.Object, "from": vf.From, "to": vf.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

var auditCSVHeader = []string{"id", "at", "actor_id", "actor", "action", "object_type", "object_id", "ip", "outcome", "detail", "prev_hash", "hash"}

// exportAuditCSV streams the filtered audit log as CSV, oldest first.
func (a *app) exportAuditCSV(c echo.Context) error {
	return a.exportAudit(c, "text/csv; charset=utf-8", "csv", func(w io.Writer) (func(store.AuditEntry) error, func() error) {
		cw := newCSVLines(w)
		_ = cw.cells(auditCSVHeader...) // a write error sticks to the buffer: flush returns it
		write := func(e store.AuditEntry) error {
			return cw.cells(strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), strconv.FormatInt(e.ActorID, 10),
				e.Actor, e.Action, e.ObjectType, e.ObjectID, e.IP, e.Outcome, e.Detail, e.PrevHash, e.Hash)
		}
		return write, cw.flush
	})
}

// auditLine is one entry of the JSON lines export.
type auditLine struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	ActorID    int64     `json:"actor_id"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	ObjectType string    `json:"object_type"`
	ObjectID   string    `json:"object_id"`
	IP         string    `json:"ip"`
	Outcome    string    `json:"outcome"`
	Detail     string    `json:"detail"`
	PrevHash   string    `json:"prev_hash"`
	Hash       string    `json:"hash"`
}

// exportAuditJSONL streams the filtered audit log as JSON lines (one object
// per entry, oldest first), the form a SIEM ingests.
func (a *app) exportAuditJSONL(c echo.Context) error {
	return a.exportAudit(c, "application/x-ndjson", "jsonl", func(w io.Writer) (func(store.AuditEntry) error, func() error) {
		enc := json.NewEncoder(w)
		return func(e store.AuditEntry) error {
			return enc.Encode(auditLine{e.ID, e.At.UTC(), e.ActorID, e.Actor, e.Action, e.ObjectType, e.ObjectID, e.IP, e.Outcome, e.Detail, e.PrevHash, e.Hash})
		}, func() error { return nil }
	})
}

// exportAudit streams the entries the query's filter picks, in the format
// start sets up on the response: rows are written as they are read. The
// export itself is audited.
func (a *app) exportAudit(c echo.Context, contentType, ext string, start func(io.Writer) (write func(store.AuditEntry) error, flush func() error)) error {
	vf, f, errs := readAuditFilter(c.QueryParams(), a.clock(c))
	if len(errs) > 0 {
		return fail.Malformed("This filter is not valid. Open the audit log, correct it and export again.")
	}
	f.PrevHash = true // the export's prev_hash field; the page does without
	ctx := c.Request().Context()
	if err := a.audit(c, "audit.export", "audit", "", "ok", ext+" "+exportQuery(vf)); err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, contentType)
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="audit-`+a.Now().UTC().Format("20060102-150405")+`.`+ext+`"`)
	a.extendWriteDeadline(c)
	res.WriteHeader(http.StatusOK)
	write, flush := start(res)
	if write == nil {
		return nil // the client went away
	}
	n := 0
	err := a.DB.EachAuditEntry(ctx, f, func(e store.AuditEntry) error {
		if err := write(e); err != nil {
			return err
		}
		if n++; n%exportBatch == 0 {
			if err := flush(); err != nil {
				return err
			}
			res.Flush()
			a.extendWriteDeadline(c)
		}
		return nil
	})
	if ferr := flush(); err == nil {
		err = ferr
	}
	if err != nil && ctx.Err() == nil {
		// The status line is gone; the file ends early and the log says why.
		a.Logger.Error("audit export failed part-way", "rows", n, "err", err)
	}
	return nil
}
