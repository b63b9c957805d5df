package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"countersign/payout"
	"countersign/store"
	"countersign/views"
)

const auditPageSize = 100

func (a *app) auditLog(c echo.Context) error {
	q := c.QueryParams()
	vf := views.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Object: q.Get("object"), From: q.Get("from"), To: q.Get("to")}
	errs := views.FieldErrors{}
	f := store.AuditFilter{Actor: strings.TrimSpace(vf.Actor), Action: strings.TrimSpace(vf.Action), Limit: auditPageSize}
	if typ, id, ok := strings.Cut(strings.TrimSpace(vf.Object), ":"); ok {
		f.ObjectType, f.ObjectID = typ, id
	} else if vf.Object != "" {
		f.ObjectType = strings.TrimSpace(vf.Object)
	}
	clk := a.clock(c)
	f.From, f.To = parseDateRange(vf.From, vf.To, clk, errs)
	if before, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil {
		f.BeforeID = before
	}
	m := views.AuditModel{Filter: vf, Errors: errs}
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
