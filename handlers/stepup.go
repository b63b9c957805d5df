package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"countersign/payout"
	"countersign/stepup"
	"countersign/store"
	"countersign/views"
)

// steppedUpAt is when this session's step-up window opened, zero if never.
func steppedUpAt(c echo.Context) time.Time {
	if at, ok := current(c).session.Values[keyStepUpAt].(int64); ok {
		return time.Unix(0, at).UTC()
	}
	return time.Time{}
}

// decide runs a decision (do) as the signed-in person with the proof of
// their second factor: the code in the form's otp field, or this session's
// open step-up window, which a correct code opens and the session keeps. The
// service checks who may decide before it asks for the proof, so a person
// who may not decide hears that first; one who may, but gave no good code,
// hears what was wrong with it (missing, wrong, used, locked, not set up).
func (a *app) decide(c echo.Context, do func(act payout.Actor) error) error {
	act := actor(c)
	since := steppedUpAt(c)
	proof, stepErr := a.StepUp.Prove(c.Request().Context(), currentUser(c), since, c.FormValue("otp"), c.RealIP())
	switch {
	case stepErr != nil && !refused(stepErr):
		return stepErr
	case stepErr == nil:
		act.StepUp = proof
		if at := proof.At(); !at.IsZero() && !at.Equal(since) {
			sess := current(c).session
			sess.Values[keyStepUpAt] = at.UnixNano()
			if err := sess.Save(c.Request(), c.Response()); err != nil {
				return err
			}
		}
	}
	err := do(act)
	if stepErr != nil && errors.Is(err, payout.ErrStepUp) {
		return stepErr
	}
	return err
}

// stepUpView says what this person's decision forms show: whether they need
// a code, and until when this session's last code still covers them.
func (a *app) stepUpView(c echo.Context, u *store.User) (views.StepUp, error) {
	ctx := c.Request().Context()
	st, err := a.StepUp.Status(ctx, u)
	if err != nil || !st.Required {
		return views.StepUp{}, err
	}
	pol, err := a.StepUp.Policy(ctx)
	if err != nil {
		return views.StepUp{}, err
	}
	v := views.StepUp{Required: true}
	now := a.Now()
	if at := steppedUpAt(c); !at.IsZero() && !at.After(now) && now.Before(at.Add(pol.Window)) && st.LockedUntil.IsZero() {
		v.Until = at.Add(pol.Window).In(a.clock(c).Loc).Format("15:04:05 MST")
	}
	return v, nil
}

// enrolled sends someone who must set up their second factor, and has not,
// to their account page before anything else: a page is redirected there,
// anything else refused.
func (a *app) enrolled(c echo.Context, u *store.User) error {
	st, err := a.StepUp.Status(c.Request().Context(), u)
	if err != nil || !st.MustEnrol() {
		return err
	}
	if c.Request().Method == http.MethodGet {
		return sendTo(c, "/account")
	}
	return stepup.ErrMustEnrol
}
