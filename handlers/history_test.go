package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"countersign/payout"
	"countersign/store"
)

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"Jane Doe":          "Jane Doe",
		"=1+2":              "'=1+2",
		"+44 20":            "'+44 20",
		"-5":                "'-5",
		"@SUM(A1)":          "'@SUM(A1)",
		"\tx":               "'\tx",
		"\rx":               "'\rx",
		"a=b":               "a=b",
		" =1":               " =1",
		"'already":          "'already",
		"1,234.50":          "1,234.50",
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// historyFixture: two makers, two approvers, two recipients, and payouts an
// hour apart from 2026-11-21 09:00 UTC (the harness's clock).
type historyFixture struct {
	h          *moneyHarness
	ann, bob   *store.User
	cat, dan   *store.User
	jane, john *store.Recipient
	ids        map[string]int64
}

func newHistoryFixture(t *testing.T) *historyFixture {
	h := newMoneyHarness(t, nil)
	f := &historyFixture{h: h, ids: map[string]int64{}}
	f.ann, f.bob = h.user("ann@example.com", "maker"), h.user("bob@example.com", "maker")
	f.cat, f.dan = h.user("cat@example.com", "approver"), h.user("dan@example.com", "approver")
	h.user("auditor@example.com", "auditor")
	f.jane, f.john = h.recipient(t, "Jane Doe", f.ann), h.recipient(t, "John Smith", f.ann)
	for _, s := range []struct {
		name string
		seed seed
	}{
		{"p1", seed{maker: f.ann, recipientID: f.jane.ID, name: "Jane Doe", amount: 1000, state: payout.StateSucceeded, confirmed: true, approvers: []*store.User{f.cat}}},
		{"p2", seed{maker: f.ann, recipientID: f.john.ID, name: "John Smith", amount: 2500, currency: "EUR", last4: "1111", state: payout.StatePendingApproval}},
		{"p3", seed{maker: f.bob, recipientID: f.jane.ID, name: "Jane Doe", amount: 50000, state: payout.StateFailed, confirmed: true, approvers: []*store.User{f.dan}, failure: "Declined"}},
		{"p4", seed{maker: f.bob, name: "jane doherty", amount: 750, last4: "0005", state: payout.StateCancelled, approvers: []*store.User{f.cat, f.dan}}},
		{"p5", seed{maker: f.ann, recipientID: f.john.ID, name: "John Smith", amount: 1000, last4: "1111", state: payout.StateConfirmed, confirmed: true, approvers: []*store.User{f.dan}}},
		{"p6", seed{maker: f.bob, recipientID: f.jane.ID, name: "Jane Doe", amount: 99, currency: "JPY", state: payout.StateSucceeded, confirmed: true, approvers: []*store.User{f.cat}}},
	} {
		h.clock.Advance(time.Hour)
		f.ids[s.name] = h.seed(t, s.seed).ID
	}
	return f
}

// rows returns the fixture names of the payouts a history page lists, in order.
func (f *historyFixture) rows(body string) []string {
	out := []string{}
	for _, id := range attrs(body, "history-row", "data-payout") {
		name := "#" + id
		for n, v := range f.ids {
			if itoa(v) == id {
				name = n
			}
		}
		out = append(out, name)
	}
	return out
}

func TestHistoryFilters(t *testing.T) {
	f := newHistoryFixture(t)
	b := f.h.browser()
	b.login("auditor@example.com")
	// p1 was created 10:00, p2 11:00, … p6 15:00 on 2026-11-21.
	tests := []struct {
		query  string
		want   []string
		totals []string // "CUR state count amount", per currency in the states' journey order
	}{
		{"", []string{"p6", "p5", "p4", "p3", "p2", "p1"}, []string{"EUR pending_approval 1 25.00 EUR", "JPY succeeded 1 99 JPY",
			"USD confirmed 1 10.00 USD", "USD succeeded 1 10.00 USD", "USD failed 1 500.00 USD", "USD cancelled 1 7.50 USD"}},
		{"state=pending_approval", []string{"p2"}, []string{"EUR pending_approval 1 25.00 EUR"}},
		{"state=succeeded&state=failed", []string{"p6", "p3", "p1"}, []string{"JPY succeeded 1 99 JPY", "USD succeeded 1 10.00 USD", "USD failed 1 500.00 USD"}},
		{"maker=" + itoa(f.bob.ID), []string{"p6", "p4", "p3"}, []string{"JPY succeeded 1 99 JPY", "USD failed 1 500.00 USD", "USD cancelled 1 7.50 USD"}},
		{"approver=" + itoa(f.cat.ID), []string{"p6", "p4", "p1"}, []string{"JPY succeeded 1 99 JPY", "USD succeeded 1 10.00 USD", "USD cancelled 1 7.50 USD"}},
		{"approver=" + itoa(f.dan.ID), []string{"p5", "p4", "p3"}, []string{"USD confirmed 1 10.00 USD", "USD failed 1 500.00 USD", "USD cancelled 1 7.50 USD"}},
		{"recipient=JANE+DO", []string{"p6", "p4", "p3", "p1"}, nil},
		{"recipient=%23" + itoa(f.john.ID), []string{"p5", "p2"}, nil},
		{"currency=usd", []string{"p5", "p4", "p3", "p1"}, []string{"USD confirmed 1 10.00 USD", "USD succeeded 1 10.00 USD", "USD failed 1 500.00 USD", "USD cancelled 1 7.50 USD"}},
		{"currency=USD&min=7.50&max=10", []string{"p5", "p4", "p1"}, []string{"USD confirmed 1 10.00 USD", "USD succeeded 1 10.00 USD", "USD cancelled 1 7.50 USD"}},
		{"currency=USD&min=10.01", []string{"p3"}, nil},
		{"last4=1111", []string{"p5", "p2"}, nil},
		{"from=2026-11-21&to=2026-11-21", []string{"p6", "p5", "p4", "p3", "p2", "p1"}, nil},
		{"from=2026-11-22", []string{}, []string{}},
		{"to=2026-11-20", []string{}, []string{}},
		{"maker=" + itoa(f.ann.ID) + "&currency=USD&state=succeeded&state=confirmed", []string{"p5", "p1"}, []string{"USD confirmed 1 10.00 USD", "USD succeeded 1 10.00 USD"}},
	}
	for _, tt := range tests {
		p := b.get("/payouts?" + tt.query)
		if p.status != http.StatusOK {
			t.Errorf("%q: status %d", tt.query, p.status)
			continue
		}
		if got := f.rows(p.body); !slices.Equal(got, tt.want) {
			t.Errorf("%q: rows %v, want %v", tt.query, got, tt.want)
		}
		if tt.totals == nil {
			continue
		}
		got := []string{}
		for _, row := range findAll(doc(t, p.body), testID("total-row")) {
			var cells []string
			for _, td := range findAll(row, func(n *html.Node) bool { return n.Data == "td" }) {
				cells = append(cells, text(td))
			}
			got = append(got, attr(row, "data-currency")+" "+attr(row, "data-state")+" "+strings.Join(cells[2:4], " "))
		}
		if !slices.Equal(got, tt.totals) {
			t.Errorf("%q: totals %v, want %v", tt.query, got, tt.totals)
		}
	}
}

func TestHistoryFilterErrors(t *testing.T) {
	f := newHistoryFixture(t)
	b := f.h.browser()
	b.login("auditor@example.com")
	for _, tt := range []struct {
		query, field, message string
	}{
		{"min=5", "min", "Pick a currency to filter by amount"},
		{"min=abc", "min", "This is not an amount"},
		{"currency=USD&max=abc", "max", "This is not an amount"},
		{"currency=USD&min=5.001", "min", "USD has at most 2 decimals"},
		{"currency=USD&min=10&max=5", "max", "The upper amount is below the lower one"},
		{"currency=XYZ", "currency", "Pick a currency from the list"},
		{"state=paid", "state", "Tick states from the list"},
		{"from=21.11.2026", "from", "Type the day as year-month-day, like 2026-11-21"},
		{"from=2026-11-21&to=2026-11-20", "to", "This day is before the first one"},
		{"last4=42", "last4", "Type the last four digits of the card"},
		{"maker=abc", "maker", "Pick a person from the list"},
		{"recipient=%23x", "recipient", "# and a recipient number"},
	} {
		p := b.get("/payouts?" + tt.query)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="`+tt.field+`-error"`) || !strings.Contains(p.body, tt.message) {
			t.Errorf("%q: status %d, want 422 with %q on %s", tt.query, p.status, tt.message, tt.field)
		}
		if len(attrs(p.body, "history-row", "data-payout")) != 0 {
			t.Errorf("%q: rows listed for an invalid filter", tt.query)
		}
		if p := b.get("/payouts.csv?" + tt.query); p.status != http.StatusBadRequest {
			t.Errorf("%q: CSV status %d, want 400", tt.query, p.status)
		}
	}
	// What was typed comes back.
	p := b.get("/payouts?min=5&recipient=%3Cb%3E&last4=42")
	for _, want := range []string{`value="5"`, `value="&lt;b&gt;"`, `value="42"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the form lacks %s", want)
		}
	}
}

// TestHistoryPagination walks 123 payouts, 120 of them created in the same
// instant, page by page through the "older" links: every payout exactly once,
// newest first, ties by id; the filter survives the walk.
func TestHistoryPagination(t *testing.T) {
	h := newMoneyHarness(t, nil)
	maker := h.user("maker@example.com", "maker")
	other := h.user("other@example.com", "maker")
	ctx := context.Background()
	var want []string
	err := h.db.InTx(ctx, func(tx *store.Tx) error { // one transaction: one created_at for all
		for i := range 120 {
			p := &store.Payout{State: "succeeded", MakerID: maker.ID, FullName: "Bulk", Amount: int64(100 + i), Currency: "USD", CardLast4: "4242", CardBrand: "visa"}
			if err := tx.CreatePayout(ctx, p); err != nil {
				return err
			}
			want = append([]string{itoa(p.ID)}, want...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h.seed(t, seed{maker: other, name: "Not mine", amount: 5, state: payout.StateSucceeded})
	h.clock.Advance(time.Minute)
	var newer []string
	for range 3 {
		newer = append([]string{itoa(h.seed(t, seed{maker: maker, name: "Later", amount: 7, state: payout.StateSucceeded}).ID)}, newer...)
		h.clock.Advance(time.Second)
	}
	want = append(newer, want...)

	b := h.browser()
	b.login("maker@example.com")
	path := "/payouts?maker=" + itoa(maker.ID)
	var got []string
	var sizes []int
	for range 10 {
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("%s: status %d", path, p.status)
		}
		ids := attrs(p.body, "history-row", "data-payout")
		got = append(got, ids...)
		sizes = append(sizes, len(ids))
		next := attrs(p.body, "next-page", "href")
		if len(next) == 0 {
			break
		}
		path = strings.ReplaceAll(next[0], "&amp;", "&")
		if !strings.Contains(path, "maker="+itoa(maker.ID)) {
			t.Fatalf("the next page lost the filter: %s", path)
		}
		later := b.get(path).body
		if len(attrs(later, "first-page", "href")) != 1 {
			t.Error("a later page has no link back to the newest")
		}
		// The filter's totals are summed on its first page only.
		if !strings.Contains(later, `data-testid="totals-on-first"`) || strings.Contains(later, `data-testid="total-row"`) {
			t.Error("a later page sums the totals again, or does not say where they are")
		}
	}
	if !slices.Equal(sizes, []int{50, 50, 23}) {
		t.Errorf("page sizes %v, want [50 50 23]", sizes)
	}
	if !slices.Equal(got, want) {
		t.Errorf("walked %d rows, want %d in order:\n got %v\nwant %v", len(got), len(want), got, want)
	}
}

func TestCSVExportEscapesAndStreams(t *testing.T) {
	h := newMoneyHarness(t, nil)
	maker := h.user("maker@example.com", "maker")
	approver := h.user("approver@example.com", "approver")
	h.user("auditor@example.com", "auditor")
	names := []string{"=HYPERLINK(\"http://evil.example\",\"x\")", "+1 555", "-2+3", "@SUM(A1:A9)", "\tTabbed", "\rReturned", "Plain, with \"quotes\""}
	var ids []int64
	for _, n := range names {
		h.clock.Advance(time.Minute)
		ids = append(ids, h.seed(t, seed{maker: maker, name: n, amount: 123456, state: payout.StateSucceeded, confirmed: true,
			approvers: []*store.User{approver}, failure: "=cmd|' /C calc'!A0"}).ID)
	}
	h.seed(t, seed{maker: maker, name: "Other currency", amount: 1, currency: "EUR", state: payout.StatePendingApproval})

	b := h.browser()
	b.login("auditor@example.com")
	list := b.get("/payouts?currency=USD")
	link := attrs(list.body, "export-csv", "href")
	if len(link) != 1 || link[0] != "/payouts.csv?currency=USD" {
		t.Fatalf("export link %v", link)
	}
	p := b.get(link[0])
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	if ct := p.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := p.header.Get("Content-Disposition"); cd != `attachment; filename="payouts-20261121-090700.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if p.header.Get("Cache-Control") != "no-store" || p.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("export headers: %v", p.header)
	}
	// Amounts are plain decimals with the currency beside them; brands upper case.
	row := func(id int64, name string) string {
		return itoa(id) + ",2026-11-21T09:0" + itoa(id) + ":00Z,succeeded,1234.56,USD," + name + ",,VISA,4242,maker,approver,,,,,2026-11-21T09:0" +
			itoa(id) + ":00Z,,'=cmd|' /C calc'!A0,,card,,,,\r\n"
	}
	want := strings.Join(csvHeader, ",") + "\r\n" +
		row(ids[6], `"Plain, with ""quotes"""`) +
		row(ids[5], "\"'Returned\"") + // neutralised; encoding/csv drops a lone CR in CRLF mode

		row(ids[4], "'\tTabbed") +
		row(ids[3], "'@SUM(A1:A9)") +
		row(ids[2], "'-2+3") +
		row(ids[1], "'+1 555") +
		row(ids[0], `"'=HYPERLINK(""http://evil.example"",""x"")"`)
	if p.body != want {
		t.Errorf("CSV:\n got %q\nwant %q", p.body, want)
	}
	entries, _ := h.db.AuditEntries(t.Context(), store.AuditFilter{Action: "payout.export"})
	if len(entries) != 1 || entries[0].Actor != "auditor@example.com" || entries[0].Detail != "currency=USD" {
		t.Errorf("export audit: %+v", entries)
	}
}

func TestCSVExportOfManyRows(t *testing.T) {
	h := newMoneyHarness(t, nil)
	maker := h.user("maker@example.com", "maker")
	ctx := context.Background()
	const n = 1234 // more than two export batches
	err := h.db.InTx(ctx, func(tx *store.Tx) error {
		for i := range n {
			p := &store.Payout{State: "succeeded", MakerID: maker.ID, FullName: "R" + itoa(int64(i)), Amount: 1, Currency: "USD", CardLast4: "4242", CardBrand: "visa"}
			if err := tx.CreatePayout(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	b.login("maker@example.com")
	p := b.get("/payouts.csv")
	lines := strings.Split(strings.TrimSuffix(p.body, "\r\n"), "\r\n")
	if len(lines) != n+1 {
		t.Fatalf("%d lines, want %d", len(lines), n+1)
	}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		id, _, _ := strings.Cut(l, ",")
		if seen[id] {
			t.Fatalf("payout %s exported twice", id)
		}
		seen[id] = true
	}
	if !strings.HasPrefix(lines[1], itoa(n)+",") || !strings.HasPrefix(lines[n], "1,") {
		t.Errorf("not newest first: first %q, last %q", lines[1], lines[n])
	}
}

func TestCSVExportMasksCardNumbersInTheAudit(t *testing.T) {
	h := newMoneyHarness(t, nil)
	h.user("auditor@example.com", "auditor")
	b := h.browser()
	b.login("auditor@example.com")
	b.get("/payouts.csv?" + url.Values{"recipient": {"4242424242424242"}}.Encode())
	b.get("/payouts.csv?" + url.Values{"recipient": {"4242 4242 4242 4242"}, "currency": {"USD"}}.Encode())
	entries, _ := h.db.AuditEntries(t.Context(), store.AuditFilter{Action: "payout.export", Ascending: true})
	var got []string
	for _, e := range entries {
		got = append(got, e.Detail)
	}
	want := []string{"recipient=************4242", "currency=USD&recipient=**** **** **** 4242"}
	if !slices.Equal(got, want) {
		t.Errorf("export audit details %q; want %q", got, want)
	}
}

// TestHistoryTotalsOnRequest: a filter whose totals are not kept gets them
// with the page while few payouts match; past historyTotalsBound the page
// offers to add them up instead, and doing so gives every payout's.
func TestHistoryTotalsOnRequest(t *testing.T) {
	h := newMoneyHarness(t, nil)
	maker := h.user("maker@example.com", "maker")
	other := h.user("other@example.com", "maker")
	ctx := context.Background()
	err := h.db.InTx(ctx, func(tx *store.Tx) error {
		for range historyTotalsBound + 1 {
			p := &store.Payout{State: "succeeded", MakerID: maker.ID, FullName: "Bulk", Amount: 100, Currency: "USD", CardLast4: "4242", CardBrand: "visa"}
			if err := tx.CreatePayout(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h.seed(t, seed{maker: other, name: "Few", amount: 5, state: payout.StateSucceeded})
	b := h.browser()
	b.login("maker@example.com")

	few := b.get("/payouts?maker=" + itoa(other.ID)).body
	if got := attrs(few, "total-row", "data-currency"); !slices.Equal(got, []string{"USD"}) || strings.Contains(few, `data-testid="sum-totals"`) {
		t.Errorf("a filter of one payout: totals %v, or an offer to add them up", got)
	}
	many := b.get("/payouts?maker=" + itoa(maker.ID)).body
	sum := attrs(many, "sum-totals", "href")
	if len(sum) != 1 || strings.Contains(many, `data-testid="total-row"`) || len(attrs(many, "history-row", "data-payout")) != historyPageSize {
		t.Fatalf("past the bound: offer %v, and the page should list its rows without totals", sum)
	}
	summed := b.get(html.UnescapeString(sum[0]))
	if summed.status != http.StatusOK || !strings.Contains(sum[0], "maker="+itoa(maker.ID)) {
		t.Fatalf("adding up: status %d from %s", summed.status, sum[0])
	}
	var counts []string
	for _, row := range findAll(doc(t, summed.body), testID("total-row")) {
		counts = append(counts, attr(row, "data-currency")+" "+text(findAll(row, func(n *html.Node) bool { return n.Data == "td" })[2]))
	}
	if want := []string{"USD " + strconv.Itoa(historyTotalsBound+1)}; !slices.Equal(counts, want) {
		t.Errorf("added up: %v, want %v", counts, want)
	}
}
