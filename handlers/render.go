package handlers

import (
	"bytes"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"countersign/payout"
	"countersign/views"
)

// render writes a templ component into a buffer first, so that a template
// failure becomes a clean error page instead of half a page.
func render(c echo.Context, status int, comp templ.Component) error {
	var buf bytes.Buffer
	if err := comp.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// navigation lists the pages a user's roles may reach, in one order for everyone.
var navigation = []struct {
	item views.NavItem
	acc  access
}{
	{views.NavItem{Href: "/", Label: "Dashboard"}, access{}},
	{views.NavItem{Href: "/queue", Label: "Queue"}, access{roles: []payout.Role{payout.RoleApprover, payout.RoleAdmin, payout.RoleMaker}}},
	{views.NavItem{Href: "/payouts/new", Label: "New payout"}, access{roles: []payout.Role{payout.RoleMaker}}},
	{views.NavItem{Href: "/payouts", Label: "Payouts"}, access{}},
	{views.NavItem{Href: "/recipients", Label: "Recipients"}, access{roles: []payout.Role{payout.RoleMaker, payout.RoleApprover, payout.RoleAdmin}}},
	{views.NavItem{Href: "/audit", Label: "Audit log"}, access{roles: []payout.Role{payout.RoleAdmin, payout.RoleAuditor}}},
	{views.NavItem{Href: "/admin/users", Label: "Users"}, access{roles: []payout.Role{payout.RoleAdmin}}},
	{views.NavItem{Href: "/admin/settings", Label: "Settings"}, access{roles: []payout.Role{payout.RoleAdmin}}},
}

// frame builds the layout's model for the current request, taking the flashes.
func (a *app) frame(c echo.Context, title, active string) (views.Frame, error) {
	tok, err := a.csrfToken(c)
	if err != nil {
		return views.Frame{}, err
	}
	f := views.Frame{Title: title, CSRF: tok, Active: active, Sandbox: a.Sandbox}
	req := current(c)
	if u := req.user; u != nil {
		f.User = &views.User{ID: u.ID, Name: u.Name, Email: u.Email, Roles: u.Roles}
		for _, n := range navigation {
			if n.acc.allows(u) {
				f.Nav = append(f.Nav, n.item)
			}
		}
		f.Banners = a.banners(c)
	}
	if flashes := req.session.Flashes(); len(flashes) > 0 {
		for _, fl := range flashes {
			if s, ok := fl.(string); ok {
				f.Flashes = append(f.Flashes, parseFlash(s))
			}
		}
		if err := req.session.Save(c.Request(), c.Response()); err != nil {
			return f, err
		}
	}
	return f, nil
}

// flash queues a message for the next page this session sees.
func flash(c echo.Context, kind, text string) error {
	sess := current(c).session
	sess.AddFlash(kind + "|" + text)
	return sess.Save(c.Request(), c.Response())
}

func parseFlash(s string) views.Flash {
	kind, text, ok := bytes.Cut([]byte(s), []byte("|"))
	if !ok {
		return views.Flash{Kind: "ok", Text: s}
	}
	return views.Flash{Kind: string(kind), Text: string(text)}
}

// redirect answers a POST with 303 See Other, so a reload does not post again.
func redirect(c echo.Context, to string) error { return c.Redirect(http.StatusSeeOther, to) }
