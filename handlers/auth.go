package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"countersign/password"
	"countersign/stepup"
	"countersign/store"
	"countersign/views"
)

const (
	maxLoginFailures = 10
	lockoutDuration  = 30 * time.Minute
	// loginFailedMessage is the same whether the account is unknown, locked,
	// deactivated or the password is wrong, so that it reveals nothing.
	loginFailedMessage = "That email and password do not match an active account, or the account is locked. Try again, or ask an admin."
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

func (a *app) login(c echo.Context) error {
	ctx := c.Request().Context()
	email := strings.TrimSpace(c.FormValue("email"))
	pw := c.FormValue("password")
	next := localPath(c.FormValue("next"))
	if len(email) > 254 {
		email = email[:254]
	}
	u, err := a.DB.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	failed := func(reason string) error {
		e := auditEntry(c, "login.failed", "user", "", "denied", reason)
		e.Actor = email
		if u != nil {
			e.ActorID, e.ObjectID = u.ID, itoa(u.ID)
		}
		if err := a.DB.Audit(ctx, e); err != nil {
			return err
		}
		return a.renderLogin(c, http.StatusUnauthorized, email, next, loginFailedMessage)
	}
	if u == nil {
		password.CheckAgainstDecoy(pw) // same work as a real check
		return failed("unknown account")
	}
	matches := password.Matches(u.PasswordHash, pw)
	switch {
	case u.LockedUntil.After(a.Now()):
		return failed("account locked")
	case !u.Active:
		return failed("account deactivated")
	case !matches:
		locked, err := a.DB.RecordLoginFailure(ctx, u.ID, maxLoginFailures, lockoutDuration)
		if err != nil {
			return err
		}
		if locked {
			e := auditEntry(c, "login.lockout", "user", itoa(u.ID), "denied", "locked for 30 minutes after 10 failures")
			e.Actor, e.ActorID = u.Email, u.ID
			if err := a.DB.Audit(ctx, e); err != nil {
				return err
			}
		}
		return failed("wrong password")
	}
	if err := a.DB.RecordLoginSuccess(ctx, u.ID); err != nil {
		return err
	}
	if err := a.startSession(c, u, "login.ok"); err != nil {
		return err
	}
	return redirect(c, next)
}

// startSession signs u in on this browser, audited as action. The session
// gets a new ID: whatever ID the browser had before (perhaps planted by
// someone else) is dropped, and the old row goes with it. Its values start
// empty, so nothing of the session before (a step-up window included)
// carries over a sign-in.
func (a *app) startSession(c echo.Context, u *store.User, action string) error {
	ctx := c.Request().Context()
	sess := current(c).session
	if !sess.IsNew {
		if err := a.DB.DeleteSession(ctx, hashToken(sess.ID)); err != nil {
			return err
		}
	}
	sess.ID = ""
	sess.Values = map[any]any{keyUserID: u.ID, keyCSRF: randomToken()}
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	e := auditEntry(c, action, "user", itoa(u.ID), "ok", "")
	e.Actor, e.ActorID = u.Email, u.ID
	return a.DB.Audit(ctx, e)
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
