package handlers

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"countersign/payout"
	"countersign/store"
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

// frame builds the layout's model for the current request, taking the flashes.
func (a *app) frame(c echo.Context, title, active string) (views.Frame, error) {
	tok, err := a.csrfToken(c)
	if err != nil {
		return views.Frame{}, err
	}
	f := views.Frame{Title: title, CSRF: tok, Active: active, Sandbox: a.Sandbox, Clock: a.clock(c)}
	req := current(c)
	if u := req.user; u != nil {
		f.User = &views.User{ID: u.ID, Name: u.Name, Email: u.Email, Roles: u.Roles}
		for _, n := range a.nav {
			if n.acc.allows(u) {
				f.Nav = append(f.Nav, n.item)
			}
		}
		f.Banners = a.banners(c)
		if f.StepUp, err = a.stepUpView(c, u); err != nil {
			return f, err
		}
		if u.HasRole(string(payout.RoleAdmin)) {
			ctx := c.Request().Context()
			if f.ChangesWaiting, err = a.Admin.Waiting(ctx); err != nil {
				return f, err
			}
			if f.LoneAdmin, err = a.Admin.LoneAdmin(ctx); err != nil {
				return f, err
			}
		}
		flashes, err := a.DB.TakeFlashes(c.Request().Context(), hashToken(req.session.ID))
		if err != nil {
			return f, err
		}
		for _, fl := range flashes {
			f.Flashes = append(f.Flashes, views.Flash{Kind: fl.Kind, Text: fl.Text})
		}
	}
	return f, nil
}

// flash queues a message for the next page this session sees. Each message
// is its own row, so two requests of one session keep both; a visitor who is
// not signed in has no session to keep one for.
func flash(c echo.Context, kind, text string) error {
	req := current(c)
	if req.user == nil {
		return nil
	}
	return req.db.AddFlash(context.WithoutCancel(c.Request().Context()), hashToken(req.session.ID), store.Flash{Kind: kind, Text: text})
}

// redirect answers a POST with 303 See Other, so a reload does not post again.
// to is a path the handler built; a target taken from a form or query goes
// through redirectLocal instead.
func redirect(c echo.Context, to string) error { return c.Redirect(http.StatusSeeOther, to) }

// redirectLocal is redirect to a target the request named (a form's "back",
// a query's "next"): only a path on this console is followed, anything else
// goes to the dashboard.
func redirectLocal(c echo.Context, target string) error { return redirect(c, localPath(target)) }

// maxLocalPath bounds a redirect target; a longer one is not a page of ours.
const maxLocalPath = 2048

// localPath returns target if it is a path on this console, else "/". It
// accepts only what starts with a single "/" and has no scheme, host, user,
// backslash or control character: browsers drop tabs and newlines and read a
// backslash as a slash, so "/\evil.example" or "/\t/evil.example" would leave.
func localPath(target string) string {
	if len(target) > maxLocalPath || !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") ||
		strings.ContainsFunc(target, func(r rune) bool { return r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) }) {
		return "/"
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return target
}
