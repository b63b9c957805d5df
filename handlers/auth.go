package handlers

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"countersign/fail"
	"countersign/password"
	"countersign/signin"
	"countersign/stepup"
	"countersign/store"
	"countersign/views"
)

// loginForm shows the sign-in form. next is where to go after signing in
// (where the person was when the session ended, or the link they followed);
// only a path on this console is followed.
func (a *app) loginForm(c echo.Context) error {
	next := localPath(c.QueryParam("next"))
	if currentUser(c) != nil {
		return redirect(c, next)
	}
	return a.renderLogin(c, http.StatusOK, "", next, "")
}

func (a *app) renderLogin(c echo.Context, status int, email, next, message string) error {
	f, err := a.frame(c, "Sign in", "")
	if err != nil {
		return err
	}
	m := views.LoginForm{Frame: f, Email: email, Error: message}
	if next != "/" {
		m.Next = next
	}
	if a.Sandbox {
		for _, d := range a.DemoAccounts {
			demo := views.DemoAccount{Email: d.Email, Password: d.Password, Roles: strings.Join(d.Roles, ", ")}
			if d.Secret != "" {
				if demo.Code, err = stepup.Code(d.Secret, a.Now()); err != nil {
					return err
				}
			}
			m.Demo = append(m.Demo, demo)
		}
	}
	return render(c, status, views.LoginPage(m))
}

// login signs a person in: the sign-in service decides (and audits a
// refusal); a success starts the session, audited with it.
func (a *app) login(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	next := localPath(c.FormValue("next"))
	u, err := a.signIn.Check(c.Request().Context(), signin.Attempt{Email: email, Password: c.FormValue("password"), IP: c.RealIP()})
	if errors.Is(err, password.ErrBusy) {
		c.Response().Header().Set("Retry-After", retryAfterBusy)
	}
	if refused(err) {
		return a.renderLogin(c, statusOf(err), email, next, fail.MessageOf(err))
	}
	if err != nil {
		return err
	}
	if err := a.startSession(c, u, "login.ok"); err != nil {
		return err
	}
	return redirect(c, next)
}

// startSession signs u in on this browser, audited as action in the same
// transaction. The session gets a new ID: whatever ID the browser had before
// (perhaps planted by someone else) is dropped, and the old row goes with
// it. Its values start empty, so nothing of the session before (a step-up
// window included) carries over a sign-in.
func (a *app) startSession(c echo.Context, u *store.User, action string) error {
	sess := current(c).session
	sess.Values = map[any]any{keyUserID: u.ID, keyCSRF: randomToken()}
	e := auditEntry(c, action, "user", itoa(u.ID), "ok", "")
	e.Actor, e.ActorID = u.Email, u.ID
	if err := a.sessions.start(c.Request(), c.Response(), sess, e); err != nil {
		return err
	}
	a.dropPreLoginCookie(c)
	return nil
}

// retryAfterBusy is the Retry-After of a sign-in refused because every
// hashing slot was taken, in seconds.
const retryAfterBusy = "2"

// loginRateLimit limits POST /login per client address (c.RealIP, which
// believes forwarding headers only from configured proxies). A refused
// request is audited by the sign-in service and answered 429 with
// Retry-After before anything is counted or hashed: the lockout counts only
// attempts that got through, and one address can add only a few of those to
// an account (LoginLimits.PerAddress), so no one address can lock a known
// account out.
func (a *app) loginRateLimit() echo.MiddlewareFunc {
	retry := strconv.Itoa(int(math.Ceil(a.LoginEvery.Seconds())))
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Every(a.LoginEvery), Burst: a.LoginBurst, ExpiresIn: 10 * time.Minute}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return c.RealIP(), nil },
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", retry)
			email := strings.TrimSpace(c.FormValue("email"))
			if err := a.signIn.Throttled(c.Request().Context(), signin.Attempt{Email: email, IP: c.RealIP()}); err != nil {
				return err
			}
			return a.renderLogin(c, http.StatusTooManyRequests, email, localPath(c.FormValue("next")),
				"Too many sign-ins from your address. Wait "+retry+" seconds and try again.")
		},
	})
}

func (a *app) logout(c echo.Context) error {
	if err := a.audit(c, "logout", "user", itoa(currentUser(c).ID), "ok", ""); err != nil {
		return err
	}
	sess := current(c).session
	sess.Options.MaxAge = -1
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return redirect(c, "/login")
}
