package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"countersign/fail"
	"countersign/notify"
	"countersign/store"
	"countersign/views"
)

// errZone refuses a time zone that is not on the list.
var errZone = fail.New(fail.Invalid, "time_zone_unknown", "Pick a time zone from the list")

func (a *app) account(c echo.Context) error {
	return a.renderAccount(c, http.StatusOK, "", nil)
}

// renderAccount shows a person's settings; zone is what they picked when it
// was refused, refused is why one of the forms was not saved.
func (a *app) renderAccount(c echo.Context, status int, zone string, refused error) error {
	u := currentUser(c)
	f, err := a.frame(c, "Your account", "")
	if err != nil {
		return err
	}
	m := views.AccountModel{Frame: f}
	m.TimeZone = views.TimeZoneForm{Zone: u.TimeZone, Now: f.Clock.Time(a.Now()), Regions: zoneRegions()}
	if refused != nil && errors.Is(refused, errZone) {
		m.TimeZone.Zone, m.TimeZone.Error = zone, fail.MessageOf(refused)
	}
	if a.Notify != nil {
		prefs, err := a.Notify.Preferences(c.Request().Context(), u)
		if err != nil {
			return err
		}
		m.Notifications = views.NotificationsForm{Shown: true}
		m.Notifications.Email, m.Notifications.Chat = a.Notify.Channels()
		for _, p := range prefs {
			m.Notifications.Choices = append(m.Notifications.Choices, views.NotificationChoice{Kind: string(p.Kind), Label: p.Label, On: p.On})
		}
		if refused != nil && errors.Is(refused, notify.ErrKindNotForYou) {
			m.Notifications.Error = fail.MessageOf(refused)
		}
	}
	return render(c, status, views.AccountPage(m))
}

// saveTimeZone stores the zone a person reads times in, with its audit entry.
func (a *app) saveTimeZone(c echo.Context) error {
	zone := strings.TrimSpace(c.FormValue("time_zone"))
	if !validZone(zone) {
		return a.renderAccount(c, statusOf(errZone), zone, errZone)
	}
	u := currentUser(c)
	ctx := c.Request().Context()
	err := a.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetUserTimeZone(ctx, u.ID, zone); err != nil {
			return err
		}
		return tx.Audit(ctx, auditEntry(c, "user.time_zone", "user", itoa(u.ID), "ok", u.TimeZone+" → "+zone))
	})
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
		return a.renderAccount(c, statusOf(err), "", err)
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Your notifications are saved."); err != nil {
		return err
	}
	return redirect(c, "/account")
}
