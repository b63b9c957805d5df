package sandbox

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"time"

	sg "countersign/smartglocal"
)

// ReturnReason is why the sandbox's test accounts send payouts back.
const ReturnReason = "Account closed: the receiving bank returned the payout"

// Return is a bank-account payout that the receiving bank sent back after it
// had succeeded. The provider handles returns by hand and tells nobody: no
// webhook, no change in session/status (payouts-intro). The sandbox keeps
// them here and at /sandbox/returns, so that a test or a demo can see what an
// operator would learn from their Smart Glocal manager, and record the
// return in the console by hand. The amount goes back to the wallet.
type Return struct {
	Time      time.Time        `json:"time"`
	SessionID string           `json:"session_id"`
	PayoutID  string           `json:"payout_id"`
	Amount    sg.AmountDetails `json:"amount_details"`
	Account   string           `json:"account"` // masked, as bank.Account.Masked shows it
	Reason    string           `json:"reason"`
}

// returnLocked sends the succeeded bank-account payout of ss back at time at.
// s.mu must be held.
func (s *Sandbox) returnLocked(ss *session, at time.Time) {
	p := ss.payout
	s.wallets[p.amount.Currency] += p.amount.Amount
	s.returns = append(s.returns, Return{
		Time: at, SessionID: ss.id, PayoutID: p.id, Amount: p.amount,
		Account: p.dest.account.Account.Masked(), Reason: ReturnReason,
	})
	s.log.Info("sandbox payout returned by the receiving bank", "session", ss.id, "payout", p.id)
}

// Returns lists the payouts returned by receiving banks, oldest first.
func (s *Sandbox) Returns() []Return {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.returns)
}

var returnsPage = template.Must(template.New("returns").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox: returned bank payouts</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ddd; }
p.note { color: #666; font-size: .875rem; }
</style>
</head>
<body>
<h1>Returned bank payouts</h1>
<p class="note">Simulated provider. A payout to a test account whose number or IBAN ends in 0000 succeeds, then comes back from the receiving bank. The real provider sends no notification for this: record the return in the console by hand.</p>
{{if .}}
<table data-testid="returns">
<thead><tr><th>Returned</th><th>Session</th><th>Payout</th><th>Amount</th><th>Account</th><th>Reason</th></tr></thead>
<tbody>
{{range .}}<tr data-testid="return"><td>{{.Time.UTC.Format "2006-01-02 15:04 MST"}}</td><td>{{.SessionID}}</td><td>{{.PayoutID}}</td><td>{{.Amount.Amount}} {{.Amount.Currency}}</td><td>{{.Account}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody>
</table>
{{else}}
<p data-testid="no-returns">No payout has been returned.</p>
{{end}}
</body>
</html>
`))

// serveReturns is GET /sandbox/returns: the returns as a page, or as JSON
// ({"returns":[…]}) with ?format=json. Amounts are in minor units.
func (s *Sandbox) serveReturns(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rs := s.Returns()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("format") == "json" {
		if rs == nil {
			rs = []Return{}
		}
		b, _ := json.Marshal(struct {
			Returns []Return `json:"returns"`
		}{rs})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	var buf bytes.Buffer
	if err := returnsPage.Execute(&buf, rs); err != nil {
		s.log.Error("sandbox: render returns", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
