package handlers

import (
	"github.com/labstack/echo/v4"

	"countersign/store"
)

// auditEntry starts an audit entry for this request: who and from where.
func auditEntry(c echo.Context, action, objectType, objectID, outcome, detail string) store.AuditEntry {
	e := store.AuditEntry{Action: action, ObjectType: objectType, ObjectID: objectID, IP: c.RealIP(), Outcome: outcome, Detail: detail, Actor: "anonymous"}
	if u := currentUser(c); u != nil {
		e.ActorID, e.Actor = u.ID, u.Email
	}
	return e
}

// audit appends an entry for this request in its own transaction.
func (a *app) audit(c echo.Context, action, objectType, objectID, outcome, detail string) error {
	return a.DB.Audit(c.Request().Context(), auditEntry(c, action, objectType, objectID, outcome, detail))
}

// banners are the messages every signed-in page shows: a balance below the
// level an admin set. A failure to read them is logged, not shown: the page
// itself still works.
func (a *app) banners(c echo.Context) []string {
	ps, err := a.positions(c)
	if err == nil {
		var bs []string
		if bs, err = a.lowBalanceBanners(c.Request().Context(), ps); err == nil {
			return bs
		}
	}
	a.Logger.Error("banners", "err", err)
	return nil
}
