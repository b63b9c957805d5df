package handlers

import (
	"bufio"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"countersign/card"
	"countersign/fail"
	"countersign/payout"
	"countersign/smartglocal/bank"
	"countersign/store"
	"countersign/views"
)

// historyPageSize is how many payouts one page of the history shows.
const historyPageSize = 50

// historyTotalsBound is how many matching payouts the first page sums for
// totals that are not kept; more are summed on request.
const historyTotalsBound = 1000

// readHistoryFilter reads the history's query: the store filter, what was
// typed (to show it again), and what is wrong with it.
func readHistoryFilter(q url.Values, clk views.Clock) (store.PayoutFilter, views.HistoryFilter, views.FieldErrors) {
	v := views.HistoryFilter{States: q["state"], From: q.Get("from"), To: q.Get("to"), Maker: q.Get("maker"), Approver: q.Get("approver"),
		Recipient: strings.TrimSpace(q.Get("recipient")), Currency: strings.ToUpper(strings.TrimSpace(q.Get("currency"))),
		Min: strings.TrimSpace(q.Get("min")), Max: strings.TrimSpace(q.Get("max")), Last4: strings.TrimSpace(q.Get("last4")),
		Method: q.Get("method"), Country: strings.ToUpper(strings.TrimSpace(q.Get("country"))), Returned: q.Get("returned")}
	errs := views.FieldErrors{}
	var f store.PayoutFilter
	for _, s := range v.States {
		if !payout.State(s).Valid() {
			errs["state"] = "Tick states from the list"
		}
		f.States = append(f.States, s)
	}
	f.From, f.To = parseDateRange(v.From, v.To, clk, errs)
	f.MakerID = userParam(v.Maker, "maker", errs)
	f.ApproverID = userParam(v.Approver, "approver", errs)
	if id, ok := strings.CutPrefix(v.Recipient, "#"); ok {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			errs["recipient"] = "Type part of a name, or # and a recipient number"
		}
		f.RecipientID = n
	} else {
		f.Recipient = v.Recipient
	}
	if v.Currency != "" {
		if _, ok := payout.Exponent(v.Currency); !ok {
			errs["currency"] = "Pick a currency from the list"
		}
		f.Currency = v.Currency
	}
	for _, b := range []struct {
		field, typed string
		into         *int64
	}{{"min", v.Min, &f.MinAmount}, {"max", v.Max, &f.MaxAmount}} {
		switch {
		case b.typed == "":
			continue
		case !payout.LooksLikeAmount(b.typed):
			errs[b.field] = "This is not an amount: type digits, like 10.00"
			continue
		case v.Currency == "":
			errs[b.field] = "Pick a currency to filter by amount"
			continue
		}
		n, err := payout.ParseAmount(b.typed, v.Currency)
		if err != nil {
			errs[b.field] = fail.MessageOf(err)
		}
		*b.into = n
	}
	if f.MinAmount > 0 && f.MaxAmount > 0 && f.MaxAmount < f.MinAmount {
		errs["max"] = "The upper amount is below the lower one"
	}
	if v.Last4 != "" {
		if !isDigits(v.Last4, 4) {
			errs["last4"] = "Type the last four digits of the card"
		}
		f.Last4 = v.Last4
	}
	switch v.Method {
	case "", payout.MethodCard, payout.MethodBankAccount:
		f.Method = v.Method
	default:
		errs["method"] = "Pick cards or bank accounts"
	}
	if v.Country != "" {
		if _, ok := bank.LookupCountry(v.Country); !ok {
			errs["country"] = "Pick a country from the list"
		}
		f.Country = v.Country
	}
	switch v.Returned {
	case "":
	case "yes":
		f.Returned = store.OnlyReturned
	case "no":
		f.Returned = store.NotReturned
	default:
		errs["returned"] = "Pick returned or not returned"
	}
	if k, err := store.ParsePayoutKey(q.Get("after")); err == nil {
		f.After = k
	}
	return f, v, errs
}

func userParam(s, field string, errs views.FieldErrors) int64 {
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		errs[field] = "Pick a person from the list"
	}
	return n
}

// filterQuery is the query of the filter as typed, without the page key.
func filterQuery(v views.HistoryFilter) url.Values {
	q := url.Values{}
	for _, s := range v.States {
		q.Add("state", s)
	}
	for _, kv := range [][2]string{{"from", v.From}, {"to", v.To}, {"maker", v.Maker}, {"approver", v.Approver}, {"recipient", v.Recipient},
		{"currency", v.Currency}, {"min", v.Min}, {"max", v.Max}, {"last4", v.Last4}, {"method", v.Method}, {"country", v.Country},
		{"returned", v.Returned}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	return q
}

func (a *app) history(c echo.Context) error {
	ctx := c.Request().Context()
	clk := a.clock(c)
	f, typed, errs := readHistoryFilter(c.QueryParams(), clk)
	m := views.HistoryModel{Filter: typed, Errors: errs, Currencies: payout.Currencies()}
	for _, country := range bank.Countries() {
		m.Countries = append(m.Countries, views.Option{Value: country.Code, Label: country.Name})
	}
	for _, s := range payout.AllStates() {
		m.States = append(m.States, views.Option{Value: string(s), Label: s.Label()})
	}
	users, err := a.DB.Users(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		m.Users = append(m.Users, views.Option{Value: itoa(u.ID), Label: u.Name + " (" + u.Email + ")"})
	}
	status := http.StatusUnprocessableEntity
	if len(errs) == 0 {
		status = http.StatusOK
		base := filterQuery(typed)
		m.CSVHref = "/payouts.csv?" + base.Encode()
		if !f.After.IsZero() {
			m.FirstHref = "/payouts?" + base.Encode()
		}
		f.Limit = historyPageSize + 1
		if err := a.DB.WeighName(ctx, &f); err != nil { // once, for the rows and the totals
			return err
		}
		rows, err := a.DB.Payouts(ctx, f)
		if err != nil {
			return err
		}
		if len(rows) > historyPageSize {
			rows = rows[:historyPageSize]
			next := filterQuery(typed)
			next.Set("after", rows[len(rows)-1].Key().String())
			m.NextHref = "/payouts?" + next.Encode()
		}
		for _, r := range rows {
			m.Rows = append(m.Rows, historyRow(r, clk))
		}
		// The totals are the filter's, the same on every page: shown on the
		// first. Kept ones, or those of a small set, come with the page; a
		// larger set's are summed when asked (totals=all), since that reads
		// every matching payout.
		if f.After.IsZero() {
			totals, complete := []store.Total(nil), true
			if c.QueryParam("totals") == "all" {
				totals, err = a.DB.PayoutTotals(ctx, f)
			} else {
				totals, complete, err = a.DB.PayoutTotalsUpTo(ctx, f, historyTotalsBound)
			}
			if err != nil {
				return err
			}
			m.Totals = totalRows(totals)
			if !complete {
				all := filterQuery(typed)
				all.Set("totals", "all")
				m.TotalsHref, m.TotalsBound = "/payouts?"+all.Encode(), historyTotalsBound
			}
		}
	}
	if m.Frame, err = a.frame(c, "Payouts", "/payouts"); err != nil {
		return err
	}
	return render(c, status, views.HistoryPage(m))
}

func historyRow(r *store.PayoutRow, clk views.Clock) views.HistoryRow {
	s := payout.State(r.State)
	return views.HistoryRow{ID: r.ID, Href: "/payouts/" + itoa(r.ID), CreatedAt: clk.Time(r.CreatedAt), State: r.State,
		StateLabel: s.Label(), Tone: stateTone(s), Amount: payout.FormatAmount(r.Amount, r.Currency), Currency: r.Currency,
		FullName: r.FullName, PaidTo: payout.Destination(r.Payout), Purpose: payout.PurposeLabel(r.Purpose), Returned: r.Returned(),
		Maker: r.MakerName, Approvers: r.Approvers}
}

// totalRows shows the totals per currency, each currency's states in the
// order of a payout's journey.
func totalRows(totals []store.Total) []views.TotalRow {
	order := map[string]int{}
	for i, s := range payout.AllStates() {
		order[string(s)] = i
	}
	slices.SortStableFunc(totals, func(a, b store.Total) int {
		if c := strings.Compare(a.Currency, b.Currency); c != 0 {
			return c
		}
		return order[a.State] - order[b.State]
	})
	out := make([]views.TotalRow, 0, len(totals))
	for _, t := range totals {
		s := payout.State(t.State)
		row := views.TotalRow{Currency: t.Currency, State: t.State, StateLabel: s.Label(), Tone: stateTone(s),
			Count: strconv.FormatInt(t.Count, 10), Amount: payout.FormatAmount(t.Amount, t.Currency)}
		if t.ReturnedCount > 0 {
			row.ReturnedCount, row.ReturnedAmount = strconv.FormatInt(t.ReturnedCount, 10), payout.FormatAmount(t.ReturnedAmount, t.Currency)
		}
		out = append(out, row)
	}
	return out
}

// csvHeader names the export's columns; csvExport.write fills them in this order.
// Columns added later go at the end, so that sheets built on the export keep working.
var csvHeader = []string{"id", "created_at", "state", "amount", "currency", "recipient", "recipient_id", "card_brand", "card_last4",
	"maker", "approvers", "customer_reference", "purpose", "note", "provider_session_id", "finished_at", "failure_code", "failure_reason", "cancel_reason",
	"method", "account", "account_country", "returned_on", "return_reason"}

// csvLines writes CSV as encoding/csv's Writer (UseCRLF, RFC 4180, as
// spreadsheets expect) would, every text cell neutralised against formulas:
// each line is appended to one reused slice and written through one buffer,
// so a line costs its cells' formatting and no more. Both exports use it.
type csvLines struct {
	buf  *bufio.Writer
	line []byte
}

func newCSVLines(w io.Writer) csvLines { return csvLines{buf: bufio.NewWriterSize(w, 64<<10)} }

// cells writes a line of text cells.
func (x *csvLines) cells(cells ...string) error {
	b := x.line[:0]
	for i, cell := range cells {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSVCell(b, cell)
	}
	return x.writeLine(b)
}

// writeLine ends the line and writes it; the line's memory is kept for the
// next.
func (x *csvLines) writeLine(b []byte) error {
	x.line = append(b, '\r', '\n')
	_, err := x.buf.Write(x.line)
	return err
}

// flush writes out what is buffered.
func (x *csvLines) flush() error { return x.buf.Flush() }

// csvExport writes payouts as the export's CSV: amounts as plain decimals
// (1500.00) with the currency in its own column, so a spreadsheet reads them
// as numbers; times in RFC 3339 with the offset of the person's time zone;
// brands upper case, as on the pages. Numbers and times are appended as they
// are (they need no quoting), text through appendCSVCell.
type csvExport struct {
	csvLines
	loc *time.Location
}

func newCSVExport(w io.Writer, clk views.Clock) *csvExport {
	x := &csvExport{csvLines: newCSVLines(w), loc: clk.Loc}
	if x.loc == nil {
		x.loc = time.UTC
	}
	return x
}

func (x *csvExport) header() error { return x.cells(csvHeader...) }

func (x *csvExport) write(r *store.PayoutRow) error {
	b := strconv.AppendInt(x.line[:0], r.ID, 10)
	b = x.appendTime(append(b, ','), r.CreatedAt)
	b = appendCSVCell(append(b, ','), r.State)
	b = appendCSVCell(append(b, ','), payout.PlainAmount(r.Amount, r.Currency))
	b = appendCSVCell(append(b, ','), r.Currency)
	b = appendCSVCell(append(b, ','), r.FullName)
	b = append(b, ',')
	if r.RecipientID != 0 {
		b = strconv.AppendInt(b, r.RecipientID, 10)
	}
	for _, cell := range []string{strings.ToUpper(r.CardBrand), r.CardLast4, r.MakerName, r.Approvers, r.CustomerReference, r.Purpose,
		r.Note, r.ProviderSessionID} {
		b = appendCSVCell(append(b, ','), cell)
	}
	b = x.appendTime(append(b, ','), r.FinishedAt)
	for _, cell := range []string{r.FailureCode, r.FailureReason, r.CancelReason, r.Method, r.AccountLabel, r.AccountCountry, r.ReturnedOn,
		r.ReturnReason} {
		b = appendCSVCell(append(b, ','), cell)
	}
	return x.writeLine(b)
}

// appendTime appends t in RFC 3339 in the person's zone; nothing for a zero time.
func (x *csvExport) appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return t.In(x.loc).AppendFormat(b, time.RFC3339)
}

// startsFormula reports whether a spreadsheet would read s as a formula (or
// as the start of one after a tab or carriage return): the export puts a
// leading quote before such a cell.
func startsFormula(s string) bool { return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) }

// appendCSVCell appends s, neutralised by a leading quote when it
// startsFormula, as encoding/csv's Writer (UseCRLF) writes a field: quoted
// when it holds a comma, a quote, CR or LF, starts with a space or is \.
// (quotes doubled, LF as CRLF, a lone CR dropped).
func appendCSVCell(b []byte, s string) []byte {
	formula := startsFormula(s)
	quote := strings.ContainsAny(s, ",\"\r\n")
	if !formula && s != "" {
		r, _ := utf8.DecodeRuneInString(s)
		quote = quote || unicode.IsSpace(r) || s == `\.`
	}
	if quote {
		b = append(b, '"')
	}
	if formula {
		b = append(b, '\'')
	}
	if !quote {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b = append(b, '"', '"')
		case '\r':
		case '\n':
			b = append(b, '\r', '\n')
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// exportBatchWindow is how long an export may take to write one batch of
// rows. The server's WriteTimeout (a minute) bounds a whole response and
// would cut a long export off mid-file, with nothing the client can see; so
// an export pushes its write deadline on as it streams (extendWriteDeadline),
// while a client that stops reading is still dropped.
const exportBatchWindow = time.Minute

// exportBatch is how many rows an export writes between flushes, each time
// extending its write deadline.
const exportBatch = 500

// extendWriteDeadline gives the response exportBatchWindow more to write.
func (a *app) extendWriteDeadline(c echo.Context) {
	err := http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(exportBatchWindow))
	if err != nil && !errors.Is(err, http.ErrNotSupported) { // a test's recorder has no deadline to extend
		a.Logger.Warn("export: cannot extend the write deadline", "err", err)
	}
}

// exportPayouts streams the filtered history as CSV: rows are written as they
// are read, so a million of them never sit in memory.
func (a *app) exportPayouts(c echo.Context) error {
	clk := a.clock(c)
	f, typed, errs := readHistoryFilter(c.QueryParams(), clk)
	if len(errs) > 0 {
		return fail.Malformed("This filter is not valid. Open the payouts page, correct it and export again.")
	}
	ctx := c.Request().Context()
	if err := a.audit(c, "payout.export", "payout", "", "ok", exportDetail(typed)); err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="payouts-`+a.Now().UTC().Format("20060102-150405")+`.csv"`)
	a.extendWriteDeadline(c)
	res.WriteHeader(http.StatusOK)
	w := newCSVExport(res, clk)
	if err := w.header(); err != nil {
		return nil // the client went away
	}
	n := 0
	err := a.DB.EachPayout(ctx, f, func(r *store.PayoutRow) error {
		if err := w.write(r); err != nil {
			return err
		}
		if n++; n%exportBatch == 0 {
			if err := w.flush(); err != nil {
				return err
			}
			res.Flush()
			a.extendWriteDeadline(c)
		}
		return nil
	})
	if ferr := w.flush(); err == nil {
		err = ferr
	}
	if err != nil && ctx.Err() == nil {
		// The status line is gone; the file ends early and the log says why.
		a.Logger.Error("payout export failed part-way", "rows", n, "err", err)
	}
	return nil
}

// exportDetail is the filter of an export as the audit log keeps it:
// "key=value" pairs as typed, sorted, with any card number masked, so that
// one typed into a search box (with or without spaces) never reaches the log.
func exportDetail(typed views.HistoryFilter) string {
	q := filterQuery(typed)
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[k] {
			parts = append(parts, k+"="+card.MaskText(v))
		}
	}
	return strings.Join(parts, "&")
}

// badDate is what a date filter says about a date it cannot read; the same
// on every page.
const badDate = "Type the day as year-month-day, like 2026-11-21"

// parseDateRange reads a "from" and an inclusive "to" date (YYYY-MM-DD, days
// of the person's time zone) as the half-open range [from, to+1 day); a
// blank side is the zero time. What is wrong goes into errs under "from" and
// "to".
func parseDateRange(from, to string, clk views.Clock, errs views.FieldErrors) (time.Time, time.Time) {
	var start, end time.Time
	if from != "" {
		t, err := time.ParseInLocation(time.DateOnly, from, clk.Loc)
		if err != nil {
			errs["from"] = badDate
		}
		start = t
	}
	if to != "" {
		t, err := time.ParseInLocation(time.DateOnly, to, clk.Loc)
		if err != nil {
			errs["to"] = badDate
		} else if !start.IsZero() && t.Before(start) {
			errs["to"] = "This day is before the first one: pick a later day"
		} else {
			end = t.AddDate(0, 0, 1)
		}
	}
	return start, end
}
