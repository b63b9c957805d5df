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

// banners are the messages every signed-in page shows; the balance issue fills them.
func (a *app) banners(c echo.Context) []string { return nil }
