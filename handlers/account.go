package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"countersign/admin"
	"countersign/fail"
	"countersign/password"
	"countersign/stepup"
	"countersign/views"
)

// account is a person's own page: their second factor, set up here.
func (a *app) account(c echo.Context) error {
	return a.renderAccount(c, http.StatusOK, nil)
}

func (a *app) renderAccount(c echo.Context, status int, errs views.FieldErrors) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	st, err := a.StepUp.Status(ctx, u)
	if err != nil {
		return err
	}
	f, err := a.frame(c, "Account", "/account")
	if err != nil {
		return err
	}
	m := views.AccountModel{Frame: f, Email: u.Email, Required: st.Required, Enrolled: st.Enrolled, Errors: errs, MustEnrol: st.MustEnrol()}
	if !st.LockedUntil.IsZero() {
		m.LockedUntil = views.FormatTime(st.LockedUntil)
	}
	if st.Enrolled {
		sf, err := a.DB.SecondFactor(ctx, u.ID)
		if err != nil {
			return err
		}
		m.EnrolledAt = views.FormatTime(sf.EnrolledAt)
	} else if st.Required || st.Enrolling {
		// Start (or show again) the set-up: the same key until it is confirmed.
		e, err := a.StepUp.BeginEnrolment(ctx, u)
		if err != nil {
			return err
		}
		m.Enrolling, m.QRHref, m.URI, m.Secret = true, "/account/second-factor.png", e.URI, e.Secret
	}
	return render(c, status, views.AccountPage(m))
}

// enrolmentQR is the QR code of the second factor being set up.
func (a *app) enrolmentQR(c echo.Context) error {
	e, err := a.StepUp.BeginEnrolment(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", e.QR)
}

// confirmEnrolment finishes setting up the second factor with a code.
func (a *app) confirmEnrolment(c echo.Context) error {
	at, err := a.StepUp.ConfirmEnrolment(c.Request().Context(), currentUser(c), c.FormValue("otp"), c.RealIP())
	if refused(err) && !errors.Is(err, stepup.ErrEnrolled) {
		return a.renderAccount(c, statusOf(err), views.FieldErrors{"otp": fail.MessageOf(err)})
	}
	if err != nil && !errors.Is(err, stepup.ErrEnrolled) {
		return err
	}
	if !at.IsZero() { // the confirming code covers this session's next decisions too
		sess := current(c).session
		sess.Values[keyStepUpAt] = at.UnixNano()
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
	}
	if err := flash(c, "ok", "Your second factor is set up."); err != nil {
		return err
	}
	return redirect(c, "/")
}

// signinLink is the page a one-time sign-in link opens: choose a password.
func (a *app) signinLink(c echo.Context) error {
	return a.renderSigninLink(c, http.StatusOK, nil)
}

func (a *app) renderSigninLink(c echo.Context, status int, errs views.FieldErrors) error {
	token := c.Param("token")
	u, l, err := a.Admin.Link(c.Request().Context(), token)
	if err != nil {
		return err
	}
	f, err := a.frame(c, "Choose your password", "")
	if err != nil {
		return err
	}
	return render(c, status, views.SigninLinkPage(views.SigninLinkModel{Frame: f, Name: u.Name, Email: u.Email, Token: token,
		Reset: l.Purpose != admin.LinkNewAccount, Errors: errs}))
}

// redeemSigninLink sets the password the person chose, uses the link up, and
// signs them in: to their account page first if they must set up a second
// factor. The password rules are the same as everywhere else, applied with
// the account the link belongs to, and the hashing takes one of the bounded
// slots like a sign-in.
func (a *app) redeemSigninLink(c echo.Context) error {
	ctx := c.Request().Context()
	u, _, err := a.Admin.Link(ctx, c.Param("token"))
	if err != nil {
		return err
	}
	pw := c.FormValue("password")
	errs := views.FieldErrors{}
	if err := password.Check(pw, password.Account{Email: u.Email, Name: u.Name}); err != nil {
		errs["password"] = fail.MessageOf(err)
	} else if c.FormValue("confirm") != pw {
		errs["confirm"] = "The two passwords differ. Type the same password twice."
	}
	if len(errs) > 0 {
		return a.renderSigninLink(c, http.StatusUnprocessableEntity, errs)
	}
	hash, err := a.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	if u, err = a.Admin.RedeemLink(ctx, c.Param("token"), hash, c.RealIP()); err != nil {
		return err
	}
	if err := a.startSession(c, u, "login.ok"); err != nil {
		return err
	}
	return redirect(c, "/") // the gate sends whoever must set up a second factor to /account first
}
