package handlers

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"countersign/fail"
	"countersign/payout"
	"countersign/smartglocal/bank"
	"countersign/views"
)

// blankSettingsRows is how many empty rows the settings form offers for new currencies.
const blankSettingsRows = 2

func (a *app) settings(c echo.Context) error {
	rows, err := a.settingsRows(c)
	if err != nil {
		return err
	}
	return a.renderSettings(c, http.StatusOK, rows, nil, nil)
}

// settingsRows are the per-currency settings as stored.
func (a *app) settingsRows(c echo.Context) ([]views.SettingsRow, error) {
	ctx := c.Request().Context()
	pol, err := a.Payouts.Policy(ctx)
	if err != nil {
		return nil, err
	}
	low, err := a.Payouts.LowBalanceLevels(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := a.positions(c)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for cur := range pol.Thresholds {
		known[cur] = true
	}
	for cur := range low {
		known[cur] = true
	}
	for _, p := range ps {
		if p.Read {
			known[p.Currency] = true
		}
	}
	var rows []views.SettingsRow
	for _, cur := range slices.Sorted(maps.Keys(known)) {
		r := views.SettingsRow{Currency: cur, Fixed: true}
		if t, ok := pol.Thresholds[cur]; ok {
			r.Threshold = payout.FormatAmount(t, cur)
		}
		if l, ok := low[cur]; ok {
			r.Low = payout.FormatAmount(l, cur)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// renderSettings shows the settings page. sender is the sender form as
// typed, with what is wrong with it; nil shows the sender as set.
func (a *app) renderSettings(c echo.Context, status int, rows []views.SettingsRow, errs views.FieldErrors, sender *views.SenderForm) error {
	blank := 0
	for _, r := range rows {
		if !r.Fixed && r.Currency == "" {
			blank++
		}
	}
	for ; blank < blankSettingsRows; blank++ {
		rows = append(rows, views.SettingsRow{})
	}
	f, err := a.frame(c, "Settings", "/admin/settings")
	if err != nil {
		return err
	}
	current, set, err := a.Payouts.Sender(c.Request().Context())
	if err != nil {
		return err
	}
	if sender == nil {
		sender = &views.SenderForm{Fields: senderFields(current)}
	}
	if set {
		sender.Current = payout.SenderWords(current)
	}
	return render(c, status, views.SettingsPage(views.SettingsModel{Frame: f, Rows: rows, Currencies: payout.Currencies(), Errors: errs, Sender: *sender}))
}

// senderFields is the sender form filled with s.
func senderFields(s bank.Sender) []views.SenderField {
	return []views.SenderField{
		{Key: bank.SenderCompanyName, Label: "Company name", Required: true, MaxLen: 100, Value: s.CompanyName},
		{Key: bank.SenderRegistrationNumber, Label: "Registration number", Required: true, MaxLen: 64, Value: s.RegistrationNumber},
		{Key: bank.SenderCountry, Label: "Country of registration", Help: "Its three-letter ISO code, as GBR", Required: true, MaxLen: 3, Value: s.CountryISO3},
		{Key: bank.SenderCode, Label: "Company code", Help: "The provider's pages describe it as the company registration number too; ask your account manager if yours differs",
			Required: true, MaxLen: 64, Value: s.Code},
		{Key: bank.SenderAddressLine, Label: "Street address", MaxLen: 256, Value: s.AddressLine},
		{Key: bank.SenderCity, Label: "City", MaxLen: 64, Value: s.City},
		{Key: bank.SenderPostalCode, Label: "Postal code", MaxLen: 64, Value: s.PostalCode},
		{Key: bank.SenderState, Label: "State or region", MaxLen: 64, Value: s.State},
	}
}

// saveSender sets the sender company of bank-account payouts.
func (a *app) saveSender(c echo.Context) error {
	typed := bank.Sender{CompanyName: c.FormValue(bank.SenderCompanyName), RegistrationNumber: c.FormValue(bank.SenderRegistrationNumber),
		CountryISO3: c.FormValue(bank.SenderCountry), Code: c.FormValue(bank.SenderCode), AddressLine: c.FormValue(bank.SenderAddressLine),
		City: c.FormValue(bank.SenderCity), PostalCode: c.FormValue(bank.SenderPostalCode), State: c.FormValue(bank.SenderState)}
	_, err := a.Payouts.SetSender(c.Request().Context(), actor(c), typed)
	var fields *fail.FieldError
	if errors.As(err, &fields) {
		form := &views.SenderForm{Fields: senderFields(typed), Errors: views.FieldErrors(fields.Fields)}
		rows, err := a.settingsRows(c)
		if err != nil {
			return err
		}
		return a.renderSettings(c, statusOf(fields), rows, nil, form)
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Sender saved. Bank-account payouts carry it from now on."); err != nil {
		return err
	}
	return redirect(c, "/admin/settings")
}

// readSettings reads the rows of the form (kind, currency, threshold, low:
// one of each per row, in order; kind says whether the currency was fixed or picked) into what was typed, the parsed values, and errors.
func readSettings(c echo.Context) ([]views.SettingsRow, map[string]int64, map[string]int64, views.FieldErrors, error) {
	params, err := c.FormParams()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	curs, ths, lows, kinds := params["currency"], params["threshold"], params["low"], params["kind"]
	if len(ths) != len(curs) || len(lows) != len(curs) || len(kinds) != len(curs) || len(curs) > 400 {
		return nil, nil, nil, nil, fail.Malformed("The settings form was not sent whole. Reload the page and try again.")
	}
	thresholds, levels, errs := map[string]int64{}, map[string]int64{}, views.FieldErrors{}
	var rows []views.SettingsRow
	seen := map[string]bool{}
	for i := range curs {
		typed := views.SettingsRow{Currency: strings.ToUpper(strings.TrimSpace(curs[i])), Threshold: strings.TrimSpace(ths[i]), Low: strings.TrimSpace(lows[i])}
		cur := typed.Currency
		_, known := payout.Exponent(cur)
		typed.Fixed = known && kinds[i] == "fixed"
		rows = append(rows, typed)
		field := func(name string) string { return name + "-" + itoa(int64(i)) }
		switch {
		case cur == "" && (typed.Threshold != "" || typed.Low != ""):
			errs[field("currency")] = "Pick a currency"
			continue
		case cur == "":
			continue
		case !known:
			errs[field("currency")] = "Pick a currency from the list"
			continue
		case seen[cur]:
			errs[field("currency")] = cur + " is already above"
			continue
		}
		seen[cur] = true
		if typed.Threshold != "" {
			if n, ok := zeroOrAmount(typed.Threshold, cur, field("threshold"), errs); ok {
				thresholds[cur] = n
			}
		}
		if typed.Low != "" {
			n, err := payout.ParseAmount(typed.Low, cur)
			if err != nil {
				errs[field("low")] = fail.MessageOf(err)
			} else {
				levels[cur] = n
			}
		}
	}
	return rows, thresholds, levels, errs, nil
}

// zeroOrAmount reads a threshold: 0 means every payout needs two approvers.
func zeroOrAmount(s, cur, field string, errs views.FieldErrors) (int64, bool) {
	if strings.Trim(s, "0.,") == "" {
		return 0, true
	}
	n, err := payout.ParseAmount(s, cur)
	if err != nil {
		errs[field] = fail.MessageOf(err)
		return 0, false
	}
	return n, true
}

func (a *app) saveSettings(c echo.Context) error {
	rows, thresholds, levels, errs, err := readSettings(c)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return a.renderSettings(c, http.StatusUnprocessableEntity, rows, errs, nil)
	}
	ctx := c.Request().Context()
	oldPolicy, err := a.Payouts.Policy(ctx)
	if err != nil {
		return err
	}
	oldLevels, err := a.Payouts.LowBalanceLevels(ctx)
	if err != nil {
		return err
	}
	changed := false
	if !maps.Equal(oldPolicy.Thresholds, thresholds) {
		if err := a.Payouts.SetPolicy(ctx, actor(c), payout.Policy{Thresholds: thresholds}); err != nil {
			return err
		}
		changed = true
	}
	if !maps.Equal(oldLevels, levels) {
		if err := a.Payouts.SetLowBalanceLevels(ctx, actor(c), levels); err != nil {
			return err
		}
		changed = true
	}
	msg := "Nothing changed."
	if changed {
		msg = "Settings saved."
	}
	if err := flash(c, "ok", msg); err != nil {
		return err
	}
	return redirect(c, "/admin/settings")
}
