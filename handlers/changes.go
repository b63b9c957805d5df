package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"countersign/admin"
	"countersign/fail"
	"countersign/payout"
	"countersign/store"
	"countersign/views"
)

// recentChanges is how many decided changes the changes page lists.
const recentChanges = 20

// changesPage is what the changes page shows besides the changes.
type changesPage struct {
	link, linkFor string // a sign-in link just issued: shown on this response only
	errs          views.FieldErrors
	reasons       map[int64]string
	refused       error
}

func (a *app) changes(c echo.Context) error {
	return a.renderChanges(c, http.StatusOK, changesPage{})
}

func (a *app) renderChanges(c echo.Context, status int, pg changesPage) error {
	ctx := c.Request().Context()
	pending, recent, err := a.Admin.Changes(ctx, recentChanges)
	if err != nil {
		return err
	}
	f, err := a.frame(c, "Changes", "/admin/changes")
	if err != nil {
		return err
	}
	if pg.refused != nil {
		showRefusal(&f, pg.refused)
	}
	me := currentUser(c)
	m := views.ChangesModel{Frame: f, Link: pg.link, LinkFor: pg.linkFor, Errors: pg.errs, Reasons: pg.reasons, LoneAdmin: f.LoneAdmin}
	for _, ch := range pending {
		m.Pending = append(m.Pending, changeRow(ch, me, f.Clock))
	}
	for _, ch := range recent {
		m.Recent = append(m.Recent, changeRow(ch, me, f.Clock))
	}
	return render(c, status, views.ChangesPage(m))
}

func changeRow(ch *store.AdminChange, me *store.User, clk views.Clock) views.ChangeRow {
	return views.ChangeRow{ID: ch.ID, Kind: ch.Kind, Summary: ch.Summary, ProposedBy: ch.ProposedByName, ProposedAt: clk.Time(ch.ProposedAt),
		State: ch.State, DecidedBy: ch.DecidedByName, DecidedAt: clk.Time(ch.DecidedAt), Reason: ch.Reason, Mine: ch.ProposedBy == me.ID}
}

// approveChange applies a change another admin proposed, with this admin's
// second factor. A new account or a password reset gives a one-time sign-in
// link, shown on this response and nowhere else.
func (a *app) approveChange(c echo.Context) error {
	id := pathID(c, "id")
	var got admin.Approved
	err := a.decide(c, func(act payout.Actor) (err error) {
		got, err = a.Admin.Approve(c.Request().Context(), act, id)
		return err
	})
	if refused(err) {
		return a.renderChanges(c, statusOf(err), changesPage{refused: err})
	}
	if err != nil {
		return err
	}
	if got.Link != "" {
		pg := changesPage{link: a.linkURL(c, got.Link), linkFor: "the person"}
		if u, _, err := a.Admin.Link(c.Request().Context(), got.Link); err == nil {
			pg.linkFor = u.Name + " (" + u.Email + ")"
		}
		return a.renderChanges(c, http.StatusOK, pg)
	}
	if err := flash(c, "ok", "Approved: "+got.Change.Summary+"."); err != nil {
		return err
	}
	return redirect(c, "/admin/changes")
}

// linkURL is where a sign-in link's token opens: the console's public URL
// when one is configured, else the address this request came to.
func (a *app) linkURL(c echo.Context, token string) string {
	base := strings.TrimRight(a.PublicURL, "/")
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	return base + "/signin/" + token
}

func (a *app) rejectChange(c echo.Context) error {
	id := pathID(c, "id")
	reason := c.FormValue("reason")
	err := a.decide(c, func(act payout.Actor) error { return a.Admin.Reject(c.Request().Context(), act, id, reason) })
	if errors.Is(err, admin.ErrReasonRequired) || errors.Is(err, admin.ErrReasonTooLong) {
		field := "reason-" + itoa(id)
		return a.renderChanges(c, statusOf(err), changesPage{errs: views.FieldErrors{field: fail.MessageOf(err)}, reasons: map[int64]string{id: reason}})
	}
	if refused(err) {
		return a.renderChanges(c, statusOf(err), changesPage{refused: err, reasons: map[int64]string{id: reason}})
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Rejected the change."); err != nil {
		return err
	}
	return redirect(c, "/admin/changes")
}

func (a *app) withdrawChange(c echo.Context) error {
	err := a.Admin.Withdraw(c.Request().Context(), actor(c), pathID(c, "id"))
	if refused(err) {
		return a.renderChanges(c, statusOf(err), changesPage{refused: err})
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Withdrew the change."); err != nil {
		return err
	}
	return redirect(c, "/admin/changes")
}
