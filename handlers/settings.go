package handlers

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"countersign/admin"
	"countersign/fail"
	"countersign/payout"
	"countersign/smartglocal/bank"
	"countersign/stepup"
	"countersign/views"
)

// blankSettingsRows is how many empty rows the settings form offers for new currencies.
const blankSettingsRows = 2

func (a *app) settings(c echo.Context) error {
	rows, err := a.settingsRows(c)
	if err != nil {
		return err
	}
	return a.renderSettings(c, http.StatusOK, rows, nil, settingsForms{})
}

// settingsRows are the settings form's rows as the settings stand: every
// currency with a threshold, a low-balance level or a balance.
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

// settingsForms are the settings page's forms other than the rows, as typed
// and refused; nil shows one as the setting stands.
type settingsForms struct {
	factor *views.FactorForm
	sender *views.SenderForm
}

// renderSettings shows the settings page.
func (a *app) renderSettings(c echo.Context, status int, rows []views.SettingsRow, errs views.FieldErrors, typed settingsForms) error {
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
	if typed.factor == nil {
		stands, err := a.factorForm(c)
		if err != nil {
			return err
		}
		typed.factor = &stands
	}
	current, set, err := a.Payouts.Sender(c.Request().Context())
	if err != nil {
		return err
	}
	if typed.sender == nil {
		typed.sender = &views.SenderForm{Fields: senderFields(current)}
	}
	if set {
		typed.sender.Current = payout.SenderWords(current)
	}
	m := views.SettingsModel{Frame: f, Rows: rows, Errors: errs, Factor: *typed.factor, Sender: *typed.sender}
	if m.Held, m.Others, err = a.settingsCurrencies(c); err != nil {
		return err
	}
	return render(c, status, views.SettingsPage(m))
}

// settingsCurrencies offers first the currencies the provider's wallets
// hold (those with a balance reading), then every other currency one can
// pay out in.
func (a *app) settingsCurrencies(c echo.Context) (held, others []string, err error) {
	ps, err := a.positions(c)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range ps {
		if p.Read && payout.Payable(p.Currency) {
			held = append(held, p.Currency)
		}
	}
	for _, cur := range payout.Currencies() {
		if !slices.Contains(held, cur) {
			others = append(others, cur)
		}
	}
	return held, others, nil
}

// factorForm is the second-factor policy as it stands.
func (a *app) factorForm(c echo.Context) (views.FactorForm, error) {
	pol, err := a.Admin.SecondFactorPolicy(c.Request().Context())
	if err != nil {
		return views.FactorForm{}, err
	}
	return views.FactorForm{AllRoles: allRoleNames(), Roles: pol.Roles, WindowMinutes: strconv.Itoa(int(pol.Window / time.Minute))}, nil
}

// saveFactorPolicy applies a stricter second-factor policy and proposes a looser one.
func (a *app) saveFactorPolicy(c echo.Context) error {
	params, err := c.FormParams()
	if err != nil {
		return err
	}
	form := views.FactorForm{AllRoles: allRoleNames(), Roles: params["role"], WindowMinutes: strings.TrimSpace(params.Get("window")), Errors: views.FieldErrors{}}
	minutes, convErr := strconv.Atoi(form.WindowMinutes)
	if convErr == nil {
		var res admin.Result
		res, err = a.Admin.ChangeSecondFactorPolicy(c.Request().Context(), actor(c), stepup.Policy{Roles: form.Roles, Window: time.Duration(minutes) * time.Minute})
		if err == nil {
			if err := flash(c, "ok", pendingMessage(res, "Second-factor policy saved.")); err != nil {
				return err
			}
			return redirect(c, "/admin/settings")
		}
	} else {
		err = fail.Field("window", "Enter a whole number of minutes from 0 to 30")
	}
	if !fieldErrors(err, form.Errors) {
		return err
	}
	rows, rerr := a.settingsRows(c)
	if rerr != nil {
		return rerr
	}
	return a.renderSettings(c, statusOf(err), rows, nil, settingsForms{factor: &form})
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

// saveSender proposes a sender company for bank-account payouts: it applies
// when another admin approves it at Changes.
func (a *app) saveSender(c echo.Context) error {
	typed := bank.Sender{CompanyName: c.FormValue(bank.SenderCompanyName), RegistrationNumber: c.FormValue(bank.SenderRegistrationNumber),
		CountryISO3: c.FormValue(bank.SenderCountry), Code: c.FormValue(bank.SenderCode), AddressLine: c.FormValue(bank.SenderAddressLine),
		City: c.FormValue(bank.SenderCity), PostalCode: c.FormValue(bank.SenderPostalCode), State: c.FormValue(bank.SenderState)}
	res, err := a.Admin.ProposeSender(c.Request().Context(), actor(c), typed)
	form := &views.SenderForm{Fields: senderFields(typed), Errors: views.FieldErrors{}}
	if fieldErrors(err, form.Errors) {
		for i, f := range form.Fields {
			withhold(form.Errors, map[string]*string{f.Key: &form.Fields[i].Value})
		}
		rows, err := a.settingsRows(c)
		if err != nil {
			return err
		}
		return a.renderSettings(c, http.StatusUnprocessableEntity, rows, nil, settingsForms{sender: form})
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", pendingMessage(res, "")); err != nil {
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
		known := payout.Payable(cur)
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
		return a.renderSettings(c, http.StatusUnprocessableEntity, rows, errs, settingsForms{})
	}
	res, err := a.Admin.ChangeSettings(c.Request().Context(), actor(c), admin.Settings{Thresholds: thresholds, LowLevels: levels})
	var fe *fail.FieldError
	if errors.As(err, &fe) {
		maps.Copy(errs, fe.Fields)
		return a.renderSettings(c, http.StatusUnprocessableEntity, rows, errs, settingsForms{})
	}
	if err != nil {
		return err
	}
	msg := "Nothing changed."
	switch {
	case len(res.Pending) > 0:
		msg = fmt.Sprintf("%d change(s) wait for another admin's approval at /admin/changes.", len(res.Pending))
		if len(res.Applied) > 0 {
			msg = "Stricter settings saved; " + msg
		}
	case len(res.Applied) > 0:
		msg = "Settings saved."
	}
	if err := flash(c, "ok", msg); err != nil {
		return err
	}
	return redirect(c, "/admin/settings")
}
