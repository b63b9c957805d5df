package views

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestConfirmButton: a question names what is signed, and a payout's
// approve button has an id that survives a refresh.
func TestConfirmButton(t *testing.T) {
	p := PayoutView{ID: 12, Amount: "1,500.00", Currency: "USD", FullName: "Pat <Pending>", PaidTo: "VISA •••• 4242", ApprovalsNeeded: 2,
		AfterApproval: "998,500.00 USD left"}
	var b strings.Builder
	if err := confirmButton(approveButton(p, "approve")).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	n, err := html.Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	var btn *html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && d.Data == "button" {
			btn = d
		}
	}
	if btn == nil {
		t.Fatalf("no button in %s", b.String())
	}
	get := func(k string) string {
		for _, a := range btn.Attr {
			if a.Key == k {
				return a.Val
			}
		}
		return ""
	}
	if get("id") != "approve-12" || get("type") != "submit" || get("data-confirm-yes") != "Approve 1,500.00 USD" {
		t.Errorf("button attributes: %v", btn.Attr)
	}
	if q := get("data-confirm"); q != "1,500.00 USD to Pat <Pending>, VISA •••• 4242. Yours is the first of two approvals; the money moves after the second. After approving: 998,500.00 USD left." {
		t.Errorf("question %q", q)
	}
}

// TestPollAttrs: a live part polls with its fingerprint and the poll header;
// a final one does not poll.
func TestPollAttrs(t *testing.T) {
	a := Poll{URL: "/queue/live", Every: "5s", Seen: "abc"}.Attrs()
	if a["hx-get"] != "/queue/live" || a["hx-trigger"] != "every 5s" || a["hx-swap"] != "outerHTML" ||
		a["hx-headers"] != `{"X-Countersign-Poll": "1", "X-Countersign-Seen": "abc"}` {
		t.Errorf("attrs %v", a)
	}
	if a := (Poll{URL: "/payouts/1/live"}).Attrs(); len(a) != 0 {
		t.Errorf("a final part polls: %v", a)
	}
}
