package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"countersign/admin"
	"countersign/fail"
	"countersign/notify"
	"countersign/password"
	"countersign/stepup"
	"countersign/store"
	"countersign/views"
)

// account is a person's own page: their second factor (set up here), the
// time zone they read times in, and which notifications they get.
func (a *app) account(c echo.Context) error {
	return a.renderAccount(c, http.StatusOK, accountForm{})
}

// accountForm is what one of the account page's forms sent, to show it again
// with what was wrong.
type accountForm struct {
	otpErrors views.FieldErrors // the second factor's confirmation
	zone      string            // the time zone picked
	refused   error             // why the time zone or the notifications were not saved
}

func (a *app) renderAccount(c echo.Context, status int, form accountForm) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	f, err := a.frame(c, "Your account", "/account")
	if err != nil {
		return err
	}
	m := views.AccountModel{Frame: f, Email: u.Email}
	if m.SecondFactor, err = a.secondFactorForm(c, u, form.otpErrors); err != nil {
		return err
	}
	m.TimeZone = views.TimeZoneForm{Zone: u.TimeZone, Now: f.Clock.Time(a.Now()), Regions: zoneRegions()}
	if form.refused != nil && errors.Is(form.refused, admin.ErrTimeZone) {
		m.TimeZone.Zone, m.TimeZone.Error = form.zone, fail.MessageOf(form.refused)
	}
	if a.Notify != nil {
		prefs, err := a.Notify.Preferences(ctx, u)
		if err != nil {
			return err
		}
		m.Notifications = views.NotificationsForm{Shown: true}
		m.Notifications.Email, m.Notifications.Chat = a.Notify.Channels()
		for _, p := range prefs {
			m.Notifications.Choices = append(m.Notifications.Choices, views.NotificationChoice{Kind: string(p.Kind), Label: p.Label, On: p.On})
		}
		if form.refused != nil && errors.Is(form.refused, notify.ErrKindNotForYou) {
			m.Notifications.Error = fail.MessageOf(form.refused)
		}
	}
	return render(c, status, views.AccountPage(m))
}

// secondFactorForm is the second-factor part of the account page: set up,
// or being set up (the same key until it is confirmed).
func (a *app) secondFactorForm(c echo.Context, u *store.User, errs views.FieldErrors) (views.SecondFactorForm, error) {
	ctx := c.Request().Context()
	clk := a.clock(c)
	st, err := a.StepUp.Status(ctx, u)
	if err != nil {
		return views.SecondFactorForm{}, err
	}
	m := views.SecondFactorForm{Required: st.Required, Enrolled: st.Enrolled, Errors: errs, MustEnrol: st.MustEnrol()}
	if !st.LockedUntil.IsZero() {
		m.LockedUntil = clk.Time(st.LockedUntil)
	}
	if st.Enrolled {
		sf, err := a.DB.SecondFactor(ctx, u.ID)
		if err != nil {
			return m, err
		}
		m.EnrolledAt = clk.Time(sf.EnrolledAt)
	} else if st.Required || st.Enrolling {
		e, err := a.StepUp.PendingEnrolment(ctx, u)
		switch {
		case errors.Is(err, stepup.ErrNoEnrolment):
			m.CanBegin = true
		case err != nil:
			return m, err
		default:
			m.Enrolling, m.QRHref, m.URI, m.Secret = true, "/account/second-factor.png", e.URI, e.Secret
		}
	}
	return m, nil
}

// beginEnrolment starts setting up the second factor (a POST: a page view
// never creates a secret), then shows it on the account page.
func (a *app) beginEnrolment(c echo.Context) error {
	if _, err := a.StepUp.BeginEnrolment(c.Request().Context(), currentUser(c)); err != nil && !errors.Is(err, stepup.ErrEnrolled) {
		return err
	}
	return redirect(c, "/account")
}

// enrolmentQR is the QR code of the second factor being set up.
func (a *app) enrolmentQR(c echo.Context) error {
	e, err := a.StepUp.PendingEnrolment(c.Request().Context(), currentUser(c))
	if errors.Is(err, stepup.ErrNoEnrolment) || errors.Is(err, stepup.ErrEnrolled) {
		return echo.ErrNotFound
	}
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
		return a.renderAccount(c, statusOf(err), accountForm{otpErrors: views.FieldErrors{"otp": fail.MessageOf(err)}})
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

// signinLink is the page a one-time sign-in link opens: type the handover
// code and choose a password.
func (a *app) signinLink(c echo.Context) error {
	return a.renderSigninLink(c, http.StatusOK, nil)
}

func (a *app) renderSigninLink(c echo.Context, status int, errs views.FieldErrors) error {
	token := c.Param("token")
	open, err := a.Admin.Link(c.Request().Context(), token)
	if err != nil {
		return err
	}
	f, err := a.frame(c, "Choose your password", "")
	if err != nil {
		return err
	}
	return render(c, status, views.SigninLinkPage(views.SigninLinkModel{Frame: f, Name: open.User.Name, Email: open.User.Email, Token: token,
		Reset: open.Link.Purpose != admin.LinkNewAccount, ApprovedBy: open.ApprovedBy, ProposedBy: open.ProposedBy,
		HandoverTaken: open.HandoverTaken(), Errors: errs}))
}

// redeemSigninLink sets the password the person chose, with the handover
// code, uses the link up, and signs them in: to their account page first if
// they must set up a second factor. The password rules are the same as
// everywhere else, applied with the account the link belongs to, and the
// hashing takes one of the bounded slots like a sign-in. A wrong handover
// code is said at its field (it is counted: a few burn the link).
func (a *app) redeemSigninLink(c echo.Context) error {
	ctx := c.Request().Context()
	open, err := a.Admin.Link(ctx, c.Param("token"))
	if err != nil {
		return err
	}
	pw, code := c.FormValue("password"), c.FormValue("handover")
	errs := views.FieldErrors{}
	if strings.TrimSpace(code) == "" {
		errs["handover"] = "Enter the handover code that " + open.ProposedBy + " gave you."
	}
	if err := password.Check(pw, password.Account{Email: open.User.Email, Name: open.User.Name}); err != nil {
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
	u, err := a.Admin.RedeemLink(ctx, c.Param("token"), code, hash, c.RealIP())
	if errors.Is(err, admin.ErrHandoverWrong) {
		return a.renderSigninLink(c, statusOf(err), views.FieldErrors{"handover": fail.MessageOf(err)})
	}
	if err != nil {
		return err
	}
	if err := a.startSession(c, u, "login.ok"); err != nil {
		return err
	}
	return redirect(c, "/") // the gate sends whoever must set up a second factor to /account first
}

// saveTimeZone stores the zone a person reads times in.
func (a *app) saveTimeZone(c echo.Context) error {
	zone := strings.TrimSpace(c.FormValue("time_zone"))
	err := a.Admin.SetTimeZone(c.Request().Context(), actor(c), zone)
	if refused(err) {
		return a.renderAccount(c, statusOf(err), accountForm{zone: zone, refused: err})
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Times are now shown in "+zone+"."); err != nil {
		return err
	}
	return redirect(c, "/account")
}

// saveNotifications stores which kinds of notification a person gets.
func (a *app) saveNotifications(c echo.Context) error {
	if a.Notify == nil {
		return fail.New(fail.NotFound, "no_notifications", "This console sends no notifications.")
	}
	params, err := c.FormParams()
	if err != nil {
		return err
	}
	var on []notify.Kind
	for _, k := range params["kind"] {
		on = append(on, notify.Kind(k))
	}
	err = a.Notify.SetPreferences(c.Request().Context(), currentUser(c), c.RealIP(), on)
	if refused(err) {
		return a.renderAccount(c, statusOf(err), accountForm{refused: err})
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Your notifications are saved."); err != nil {
		return err
	}
	return redirect(c, "/account")
}
