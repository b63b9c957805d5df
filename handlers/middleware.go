package handlers

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"countersign/fail"
	"countersign/payout"
	"countersign/store"
)

// request is what the middleware learns about a request, kept on the echo context.
type request struct {
	session  *sessions.Session
	user     *store.User // nil when nobody is signed in
	db       *store.DB   // for the session's flash messages
	preLogin string      // the anonymous visitor's CSRF nonce, once known
}

const requestKey = "countersign.request"

// current returns the request state loadSession stored. Every route of the
// console group runs behind loadSession; routes of the other groups (files,
// probes, webhooks) have no session and never ask.
func current(c echo.Context) *request {
	r, ok := c.Get(requestKey).(*request)
	if !ok {
		panic("handlers: session middleware did not run")
	}
	return r
}

// currentUser returns the signed-in user, or nil.
func currentUser(c echo.Context) *store.User { return current(c).user }

func userRoles(u *store.User) []payout.Role {
	roles := make([]payout.Role, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = payout.Role(r)
	}
	return roles
}

// secureHeaders sets the headers every response carries.
func (a *app) secureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self' "+a.formTargets()+"; frame-ancestors 'none'; object-src 'none'; base-uri 'none'")
		fixedSecurityHeaders(h)
		if a.SecureCookies {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		return next(c)
	}
}

// fixedSecurityHeaders sets the security headers that are the same on every
// answer, the console's pages and the one it gives while starting alike;
// each sets its own Content-Security-Policy.
func fixedSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

// formTargets lists the other origins a form may post to: only the sandbox's
// stand-in tokenization widget, which lives on the simulator's own address.
func (a *app) formTargets() string {
	if a.WidgetURL == "" {
		return ""
	}
	u, err := url.Parse(a.WidgetURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// loadSession finds the session and the signed-in user. A user who was
// deactivated or removed loses the session on this request.
func (a *app) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		sess, seen, err := a.sessions.load(r, sessionCookie)
		if err != nil {
			return err
		}
		req := &request{session: sess, db: a.DB}
		c.Set(requestKey, req)
		if uid, ok := sess.Values[keyUserID].(int64); ok {
			u, err := a.DB.UserByID(r.Context(), uid)
			switch {
			case errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active):
				sess.Options.MaxAge = -1
				if err := sess.Save(r, c.Response()); err != nil {
					return err
				}
				return a.toSignIn(c)
			case err != nil:
				return err
			}
			req.user = u
			// Background refreshes (the live pages) are not the person doing
			// anything, so they must not keep an idle session alive.
			if c.Request().Header.Get(headerPoll) == "" && a.Now().Sub(seen) >= touchEvery {
				if err := a.DB.TouchSession(r.Context(), hashToken(sess.ID), a.Now()); err != nil {
					return err
				}
			}
			c.Response().Header().Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}

// readForm reads the body of a form post once, before anything asks for a
// field: a body that cannot be parsed (a broken escape, a bad multipart
// boundary) is refused with 400 instead of failing later in a handler, and
// one over the body limit keeps its 413.
func readForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if _, err := c.FormParams(); err != nil {
			var tooLarge *echo.HTTPError
			if errors.As(err, &tooLarge) {
				return err
			}
			return fail.Malformed("This form could not be read. Reload the page and try again.")
		}
		return next(c)
	}
}

// csrfToken returns the CSRF token of the signed-in session (created at
// sign-in), or the anonymous visitor's signed pre-login token.
func (a *app) csrfToken(c echo.Context) (string, error) {
	req := current(c)
	if req.user == nil {
		return a.preLoginToken(c), nil
	}
	sess := req.session
	if tok, ok := sess.Values[keyCSRF].(string); ok && tok != "" {
		return tok, nil
	}
	tok := randomToken()
	sess.Values[keyCSRF] = tok
	return tok, sess.Save(c.Request(), c.Response())
}

// Refusals of the guards in front of every route.
var (
	errSignedOut = fail.New(fail.Unauthorized, "signed_out", "Your session has ended. Sign in again.")
	errForbidden = fail.New(fail.Forbidden, "forbidden", "You are not allowed to do that.")
	errCSRF      = fail.New(fail.Forbidden, "csrf", "This form has expired or did not come from this console. Go back, reload the page and try again.")
)

// checkCSRF refuses unsafe requests that are cross-site or lack the session's
// token (form field _csrf, or the X-CSRF-Token header that htmx sends); an
// anonymous visitor's request needs the pre-login token of its nonce cookie.
func (a *app) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
			return errCSRF
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			u, err := url.Parse(origin)
			if err != nil || u.Host != r.Host {
				return errCSRF
			}
		}
		got := r.Header.Get("X-CSRF-Token")
		if got == "" {
			got = c.FormValue("_csrf")
		}
		req := current(c)
		if req.user == nil {
			if !a.checkPreLoginToken(c, got) {
				return errCSRF
			}
			return next(c)
		}
		want, _ := req.session.Values[keyCSRF].(string)
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return errCSRF
		}
		return next(c)
	}
}

// toSignIn answers a request that needs a person signed in when nobody is
// (any more): a page goes to the sign-in form, which comes back to it after
// signing in. A background refresh cannot show the sign-in form in its
// corner of the page (under a header that still names the person), so htmx
// is told to load the sign-in page as a whole (HX-Redirect), coming back to
// the page the person was on. A form posted without a session is refused.
func (a *app) toSignIn(c echo.Context) error {
	r := c.Request()
	if r.Header.Get("HX-Request") != "" {
		back := "/"
		if u, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil {
			back = u.RequestURI()
		}
		c.Response().Header().Set("HX-Redirect", signInURL(back))
		return c.NoContent(http.StatusUnauthorized)
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return c.Redirect(http.StatusSeeOther, signInURL(r.URL.RequestURI()))
	}
	return errSignedOut
}

// signInURL is the sign-in page that returns to back (a path on this
// console) afterwards.
func signInURL(back string) string {
	back = localPath(back)
	if back == "/" || back == "/login" || strings.HasPrefix(back, "/login?") {
		return "/login"
	}
	return "/login?" + url.Values{"next": {back}}.Encode()
}

// sendTo sends a person to another page of the console: a page by a
// redirect, a background refresh by telling htmx to load it as a whole page
// (a redirect would be followed and its page put into the refreshed part).
func sendTo(c echo.Context, path string) error {
	if c.Request().Header.Get("HX-Request") != "" {
		c.Response().Header().Set("HX-Redirect", path)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, path)
}

// access says who may reach a route. Deny by default: a route names its
// access explicitly, and an account with no role reaches only its own pages.
type access struct {
	public bool          // anyone, signed in or not
	roles  []payout.Role // signed in with one of these; empty means any role
	// own is a person's own business (their account page, signing out, the
	// start page): open to anyone signed in, with a role or not, and before
	// they set up the second factor their roles require.
	own bool
}

func (a access) allows(u *store.User) bool {
	switch {
	case a.public:
		return true
	case u == nil:
		return false
	case a.own:
		return true
	case len(u.Roles) == 0:
		return false
	case len(a.roles) == 0:
		return true
	}
	return slices.ContainsFunc(a.roles, func(r payout.Role) bool { return u.HasRole(string(r)) })
}

// guard enforces a route's access. A public route is served as it is: it may
// be in a group without sessions (files, probes, webhooks).
func (a *app) guard(acc access, h echo.HandlerFunc) echo.HandlerFunc {
	if acc.public {
		return h
	}
	return func(c echo.Context) error {
		u := currentUser(c)
		if u == nil {
			return a.toSignIn(c)
		}
		if !acc.allows(u) {
			if len(u.Roles) == 0 && c.Request().Method == http.MethodGet {
				return sendTo(c, "/") // where it says there is no role yet
			}
			return errForbidden
		}
		if !acc.own {
			if err := a.enrolled(c, u); err != nil {
				return err
			}
		}
		return h(c)
	}
}
