package sandbox

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"countersign/card"
	sg "countersign/smartglocal"
	"countersign/smartglocal/bank"
)

// testOutcome is the error code a test card's payout fails with after
// confirm; any other valid card succeeds.
func testOutcome(pan string) string {
	switch pan {
	case "4000000000000002":
		return sg.CodeDeclinedByIssuerBank
	}
	return ""
}

// cardDest is all the sandbox keeps of a card: never the full number.
type cardDest struct {
	last4, brand, bin string
	outcome           string // error code after confirm, "" = success
}

func newCardDest(pan string) cardDest {
	return cardDest{last4: card.Last4(pan), brand: card.Brand(pan), bin: pan[:6], outcome: testOutcome(pan)}
}

// dest is where a started payout goes: a card or a checked bank account.
type dest struct {
	card    *cardDest
	account *bank.Payout
}

// view is the destination as replies and webhooks show it. A card shows
// last4, brand and bin (as the provider's examples do); a bank account shows
// its purpose and identifiers with the account number and IBAN masked (the
// provider's pages do not show a masked bank account [A]).
func (d dest) view() sg.PaymentMethod {
	if d.account == nil {
		return sg.PaymentMethod{Type: sg.MethodCard, Card: &sg.Card{Last4: d.card.last4, Brand: d.card.brand, Bin: d.card.bin}}
	}
	g := sg.BankAccountGlobal{Description: d.account.Purpose}
	v := d.account.Account.Values
	g.SwiftBicCode, g.SortCode, g.BranchNumber = v["swift_bic_code"], v["sort_code"], v["branch_number"]
	g.RoutingCode, g.BsbNumber, g.AccountType = v["routing_code"], v["bsb_number"], v["account_type"]
	if iban := v["iban"]; iban != "" {
		g.IBAN = bank.MaskIBAN(iban)
	}
	if n := v["account_number"]; n != "" {
		g.AccountNumber = bank.MaskNumber(n)
	}
	if n := v["bank_account_number"]; n != "" {
		g.BankAccountNumber = bank.MaskNumber(n)
	}
	return sg.BankAccountMethod(g)
}

// outcome is the error code the payout fails with after confirm; "" for
// success.
func (d dest) outcome() string {
	if d.card != nil {
		return d.card.outcome
	}
	return ""
}

// returnedAccount reports whether a payout to the account comes back from the
// receiving bank after it succeeded: test accounts whose number or IBAN
// ends in 0000.
func returnedAccount(a bank.Account) bool {
	id := a.Number()
	if id == "" {
		id = a.Values["iban"]
	}
	return strings.HasSuffix(id, "0000")
}

// draft holds payout fields given to session/create or session/start/payout;
// nil means not given. A bank account is kept as sent until the payout
// starts: checking it needs the recipient, which may come in another call.
type draft struct {
	card         *cardDest
	account      *sg.PaymentMethod
	amount       *sg.AmountDetails
	participants *sg.ParticipantDetails
	customer     *sg.Customer
	metadata     json.RawMessage
}

// over returns d with every field that o gives replaced.
func (d draft) over(o draft) draft {
	if o.card != nil || o.account != nil {
		d.card, d.account = o.card, o.account
	}
	if o.amount != nil {
		d.amount = o.amount
	}
	if o.participants != nil {
		d.participants = o.participants
	}
	if o.customer != nil {
		d.customer = o.customer
	}
	if o.metadata != nil {
		d.metadata = o.metadata
	}
	return d
}

type session struct {
	id                   string
	status               string
	createdAt, updatedAt time.Time
	draft                draft // from session/create, until the payout starts
	payout               *payout
}

type payout struct {
	id                    string
	status                string
	confirmed             bool // in_progress after confirm, not before validation
	createdAt, finishedAt time.Time
	deadline              time.Time // confirm deadline while pending
	dest                  dest
	amount                sg.AmountDetails
	participants          *sg.ParticipantDetails
	customer              *sg.Customer
	metadata              json.RawMessage
	txn                   *sg.TransactionInfo
	err                   *sg.ErrorDetail
}

func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// view is the session as the API shows it. Call with s.mu held.
func (ss *session) view() sg.Session {
	v := sg.Session{ID: ss.id, Status: ss.status, CreatedAt: timestamp(ss.createdAt), UpdatedAt: timestamp(ss.updatedAt)}
	p := ss.payout
	if p == nil {
		return v
	}
	if p.status == sg.PaymentPending {
		v.NextAction = sg.NextActionConfirm
	}
	pv := sg.Payment{
		ID:                 p.id,
		Status:             p.status,
		CreatedAt:          timestamp(p.createdAt),
		PaymentMethod:      p.dest.view(),
		AmountDetails:      p.amount,
		ParticipantDetails: p.participants,
		Customer:           p.customer,
		TransactionInfo:    p.txn,
		Metadata:           p.metadata,
		Error:              p.err,
	}
	if !p.finishedAt.IsZero() {
		pv.FinishedAt = timestamp(p.finishedAt)
	}
	v.Payments = []sg.Payment{pv}
	return v
}

type sessionReply struct {
	Status  string     `json:"status"`
	Session sg.Session `json:"session"`
}

func (s *Sandbox) sessionResult(ss *session) result {
	res := okResult(sessionReply{"ok", ss.view()})
	res.sessionID = ss.id
	return res
}

// payoutFields is the request shape shared by session/create,
// session/init/payout and session/start/payout. Pointers tell "not given".
type payoutFields struct {
	SessionID          string                 `json:"session_id"`
	PaymentMethod      *sg.PaymentMethod      `json:"payment_method"`
	AmountDetails      *sg.AmountDetails      `json:"amount_details"`
	ParticipantDetails *sg.ParticipantDetails `json:"participant_details"`
	Customer           *sg.Customer           `json:"customer"`
	Metadata           json.RawMessage        `json:"metadata"`
}

func decode(body []byte, v any) *result {
	if err := json.Unmarshal(body, v); err != nil {
		r := invalid("request body is not valid JSON for this method")
		return &r
	}
	return nil
}

// draftLocked validates the fields given and keeps only what the sandbox may
// keep: the card number is reduced to last4, brand and bin here.
func (s *Sandbox) draftLocked(f payoutFields) (draft, *result) {
	var d draft
	switch pm := f.PaymentMethod; {
	case pm == nil:
	case pm.Type == sg.MethodBankAccount:
		d.account = pm
	default:
		c, bad := s.destinationLocked(pm)
		if bad != nil {
			return d, bad
		}
		d.card = &c
	}
	if a := f.AmountDetails; a != nil {
		if a.Amount <= 0 {
			r := invalid("amount_details.amount must be greater than zero")
			return d, &r
		}
		cur := strings.ToLower(a.Currency)
		if _, ok := s.wallets[cur]; !ok {
			r := invalid("amount_details.currency is not supported")
			return d, &r
		}
		d.amount = &sg.AmountDetails{Amount: a.Amount, Currency: cur}
	}
	d.participants, d.customer, d.metadata = f.ParticipantDetails, f.Customer, f.Metadata
	return d, nil
}

func (s *Sandbox) destinationLocked(pm *sg.PaymentMethod) (cardDest, *result) {
	bad := func(desc string) (cardDest, *result) { r := invalid(desc); return cardDest{}, &r }
	// Wallets and recurrent tokens are out of scope here (provider-api.md
	// §9.8): refused rather than half-simulated.
	if pm.Type != sg.MethodCard || pm.Card == nil {
		return bad("only payment_method.type card or bank_account is supported by the sandbox")
	}
	switch c := pm.Card; c.Type {
	case "bank_card":
		if c.BankCard == nil || !card.ValidPAN(c.BankCard.Number) {
			return bad("payment_method.card.bank_card.number is not a valid card number")
		}
		return newCardDest(c.BankCard.Number), nil
	case "encrypted_card":
		if c.EncryptedCard == nil {
			return bad("payment_method.card.encrypted_card is missing")
		}
		d, ok := s.cards[c.EncryptedCard.NumberHash]
		if !ok {
			return bad("payment_method.card.encrypted_card.number_hash is unknown")
		}
		return d, nil
	default:
		return bad("payment_method.card.type must be bank_card or encrypted_card")
	}
}

// completeLocked checks what a payout needs before it can start and returns
// its destination. A bank account is checked here, whole, by the same field
// tables the console uses: purpose, country fields, IBAN, supported bank,
// sender.
func (s *Sandbox) completeLocked(d draft) (dest, *result) {
	var desc string
	switch {
	case d.card == nil && d.account == nil:
		desc = "payment_method is required"
	case d.amount == nil:
		desc = "amount_details is required"
	case d.account != nil:
		p, problem := bank.CheckRequest(d.account, d.participants, d.amount.Currency, s.banks)
		if problem == "" {
			return dest{account: &p}, nil
		}
		desc = problem
	case d.participants == nil || d.participants.Recipient == nil || strings.TrimSpace(d.participants.Recipient.FullName) == "":
		desc = "participant_details.recipient.full_name is required for card payouts"
	default:
		return dest{card: d.card}, nil
	}
	r := invalid(desc)
	return dest{}, &r
}

func (s *Sandbox) newSessionLocked() *session {
	now := s.now()
	ss := &session{id: randomID("ps_"), status: sg.SessionCreated, createdAt: now, updatedAt: now}
	s.sessions[ss.id] = ss
	return ss
}

// sessionLocked finds a session, first applying a confirm deadline that the
// clock has passed, so a test clock can expire payouts without timers.
func (s *Sandbox) sessionLocked(id string) (*session, *result) {
	ss, ok := s.sessions[id]
	if !ok {
		// provider-api.md §9.3: 404 invalid_request for an unknown session.
		r := errResult(http.StatusNotFound, sg.CodeInvalidRequest, "session not found")
		return nil, &r
	}
	if p := ss.payout; p != nil && p.status == sg.PaymentPending && !s.now().Before(p.deadline) {
		s.failLocked(ss, sg.CodeConfirmTimeout)
	}
	return ss, nil
}

func wrongState() result {
	return errResult(http.StatusConflict, sg.CodeSessionWrongState, "the session is not in a state that allows this")
}

func (s *Sandbox) createSession(body []byte) result {
	var f payoutFields
	if bad := decode(body, &f); bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, bad := s.draftLocked(f)
	if bad != nil {
		return *bad
	}
	ss := s.newSessionLocked()
	ss.draft = d
	return s.sessionResult(ss)
}

func (s *Sandbox) initPayout(body []byte) result {
	var f payoutFields
	if bad := decode(body, &f); bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, bad := s.draftLocked(f)
	if bad != nil {
		return *bad
	}
	to, bad := s.completeLocked(d)
	if bad != nil {
		return *bad
	}
	ss := s.newSessionLocked()
	s.startLocked(ss, d, to)
	return s.sessionResult(ss)
}

func (s *Sandbox) startPayout(body []byte) result {
	var f payoutFields
	if bad := decode(body, &f); bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, bad := s.sessionLocked(f.SessionID)
	if bad != nil {
		return *bad
	}
	if ss.status != sg.SessionCreated {
		return wrongState()
	}
	d, bad := s.draftLocked(f)
	if bad != nil {
		return *bad
	}
	d = ss.draft.over(d)
	to, bad := s.completeLocked(d)
	if bad != nil {
		return *bad
	}
	s.startLocked(ss, d, to)
	return s.sessionResult(ss)
}

// startLocked creates the payout (in_progress) and, after ProcessingDelay,
// makes it pending and sends ready_to_confirm (provider-api.md §6).
func (s *Sandbox) startLocked(ss *session, d draft, to dest) {
	now := s.now()
	p := &payout{
		id: randomID("po_"), status: sg.PaymentInProgress, createdAt: now,
		dest: to, amount: *d.amount, participants: d.participants, customer: d.customer, metadata: d.metadata,
	}
	ss.draft = draft{}
	ss.payout = p
	ss.status = sg.SessionInProgress
	ss.updatedAt = now
	s.afterLocked(s.cfg.ProcessingDelay, func() { s.pend(ss, p) })
}

// pend makes a payout that passed its checks pending (it waits for
// session/confirm or session/cancel), sends ready_to_confirm and starts the
// confirm deadline.
func (s *Sandbox) pend(ss *session, p *payout) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.status != sg.PaymentInProgress || p.confirmed {
		return
	}
	p.status = sg.PaymentPending
	p.deadline = s.now().Add(s.cfg.ConfirmDeadline)
	ss.updatedAt = s.now()
	s.emitLocked(sg.WebhookReadyToConfirm, ss)
	s.afterLocked(s.cfg.ConfirmDeadline, func() { s.expire(ss, p) })
}

// expire fails a payout still pending at its deadline.
func (s *Sandbox) expire(ss *session, p *payout) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.status == sg.PaymentPending {
		s.failLocked(ss, sg.CodeConfirmTimeout)
	}
}

func (s *Sandbox) confirm(body []byte) result {
	var f payoutFields
	if bad := decode(body, &f); bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, bad := s.sessionLocked(f.SessionID)
	if bad != nil {
		return *bad
	}
	p := ss.payout
	if p == nil || p.status != sg.PaymentPending {
		return wrongState()
	}
	p.status = sg.PaymentInProgress
	p.confirmed = true
	ss.updatedAt = s.now()
	s.afterLocked(s.cfg.ProcessingDelay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.executeLocked(ss)
	})
	return s.sessionResult(ss)
}

// executeLocked settles a confirmed payout. The wallet is checked and debited
// here, at execution, not at start (provider-api.md §9.10).
func (s *Sandbox) executeLocked(ss *session) {
	p := ss.payout
	if p.status != sg.PaymentInProgress {
		return
	}
	switch {
	case p.dest.outcome() != "":
		s.failLocked(ss, p.dest.outcome())
	case s.wallets[p.amount.Currency] < p.amount.Amount:
		s.failLocked(ss, sg.CodeInsufficientWalletBalance)
	default:
		now := s.now()
		s.wallets[p.amount.Currency] -= p.amount.Amount
		p.status = sg.PaymentSucceeded
		p.finishedAt = now
		if p.dest.card != nil {
			// An RRN and auth code identify card transactions only.
			p.txn = &sg.TransactionInfo{RRN: randomDigits(12), AuthCode: randomDigits(6)}
		}
		ss.status = sg.SessionAccepted
		ss.updatedAt = now
		s.emitLocked(sg.WebhookPaymentFinished, ss)
		if a := p.dest.account; a != nil && returnedAccount(a.Account) {
			s.returnLocked(ss, now)
		}
	}
}

// failLocked ends the payout as failed and the session as cancelled, and
// sends payment_finished for it (provider-api.md §9.5).
func (s *Sandbox) failLocked(ss *session, code string) {
	now := s.now()
	p := ss.payout
	p.status = sg.PaymentFailed
	p.finishedAt = now
	p.err = &sg.ErrorDetail{Code: code, Description: sg.CodeMeaning(code)}
	ss.status = sg.SessionCancelled
	ss.updatedAt = now
	s.emitLocked(sg.WebhookPaymentFinished, ss)
}

func (s *Sandbox) cancelSession(body []byte) result {
	var f payoutFields
	if bad := decode(body, &f); bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, bad := s.sessionLocked(f.SessionID)
	if bad != nil {
		return *bad
	}
	switch {
	case ss.status == sg.SessionCreated:
		// No operation exists yet, so there is nothing to report in a
		// payment_finished webhook.
		ss.status = sg.SessionCancelled
		ss.updatedAt = s.now()
	case ss.payout != nil && ss.payout.status == sg.PaymentPending:
		s.failLocked(ss, sg.CodeSessionCancelledByPartner)
	default:
		return wrongState()
	}
	return s.sessionResult(ss)
}

func (s *Sandbox) status(body []byte) result {
	var f payoutFields
	if bad := decode(body, &f); bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, bad := s.sessionLocked(f.SessionID)
	if bad != nil {
		return *bad
	}
	return s.sessionResult(ss)
}

// ExpirePending acts as if the confirm deadline of every pending payout had
// passed now: each fails with confirm_timeout.
func (s *Sandbox) ExpirePending() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.sessions {
		if p := ss.payout; p != nil && p.status == sg.PaymentPending {
			s.failLocked(ss, sg.CodeConfirmTimeout)
		}
	}
	s.saveLocked()
}

type tokenInfo struct {
	created, expires time.Time
}

func (s *Sandbox) token(body []byte) result {
	var req sg.TokenRequest
	if bad := decode(body, &req); bad != nil {
		return *bad
	}
	if req.TokenizeWidget == nil || !req.TokenizeWidget.Access {
		return invalid("only tokenize_widget with access true is supported by the sandbox")
	}
	tok := randomHex(32)
	now := s.now()
	s.mu.Lock()
	s.tokens[tok] = tokenInfo{created: now, expires: now.Add(24 * time.Hour)}
	s.mu.Unlock()
	return okResult(struct {
		Status      string `json:"status"`
		PublicToken string `json:"public_token"`
	}{"ok", tok})
}

func (s *Sandbox) tokenInfo(body []byte) result {
	var req sg.TokenInfoRequest
	if bad := decode(body, &req); bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var info sg.TokenInfo
	switch req.Type {
	case "card":
		if req.Card == nil || req.Card.Type != "encrypted_card" || req.Card.EncryptedCard == nil {
			return invalid("card.encrypted_card.number_hash is required")
		}
		h := req.Card.EncryptedCard.NumberHash
		c, ok := s.cards[h]
		if !ok {
			return invalid("number_hash is unknown")
		}
		info = sg.TokenInfo{Type: "card", NumberHash: h, Brand: c.brand, Last4: c.last4}
	case "public_token":
		if req.PublicToken == nil {
			return invalid("public_token.token is required")
		}
		t, ok := s.tokens[req.PublicToken.Token]
		if !ok {
			return invalid("public token is unknown")
		}
		// Field names are an assumption (provider-api.md §9.7).
		active := s.now().Before(t.expires)
		info = sg.TokenInfo{Type: "public_token", Token: req.PublicToken.Token,
			CreatedAt: timestamp(t.created), ExpiresAt: timestamp(t.expires), Active: &active}
	default:
		return invalid("type must be card or public_token")
	}
	return okResult(struct {
		Status string       `json:"status"`
		Info   sg.TokenInfo `json:"info"`
	}{"ok", info})
}

func (s *Sandbox) walletBalance(body []byte) result {
	var req struct {
		RequestDatetime string `json:"request_datetime"`
	}
	if bad := decode(body, &req); bad != nil {
		return *bad
	}
	if _, err := time.Parse(time.RFC3339, req.RequestDatetime); err != nil {
		return invalid("request_datetime is required in ISO 8601 form")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := []sg.Wallet{}
	for _, cur := range slices.Sorted(maps.Keys(s.wallets)) {
		ws = append(ws, sg.Wallet{ID: s.walletIDs[cur], AmountDetails: sg.AmountDetails{Amount: s.wallets[cur], Currency: cur}})
	}
	return okResult(struct {
		Status  string      `json:"status"`
		Wallets []sg.Wallet `json:"wallets"`
	}{"ok", ws})
}

func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		fmt.Fprint(&b, d)
	}
	return b.String()
}

func randomHex(nbytes int) string {
	b := make([]byte, nbytes)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}
