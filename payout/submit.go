package payout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"countersign/card"
	"countersign/fail"
	"countersign/smartglocal"
	"countersign/smartglocal/bank"
	"countersign/store"
	"countersign/text"
)

// Draft is what the maker typed on the new-payout form (strings as typed).
// A card payout (Method "card" or "") names the recipient and a typed or
// saved card; a bank-account payout (Method "bank_account") a saved,
// verified bank account, whose holder is the recipient, and a remittance
// purpose code.
type Draft struct {
	Method            string
	RecipientID       int64
	FullName          string // card payouts only
	Amount            string
	Currency          string
	CardNumber        string // typed PAN; used once, never stored, logged or returned
	CardID            int64  // OR a saved, verified card
	BankAccountID     int64  // a saved, verified bank account
	Purpose           string // bank-account payouts: a remittance purpose code (cards take none)
	CustomerReference string
	Note              string
	ConfirmDuplicate  bool // the maker saw the duplicate warning and goes ahead
}

// Field limits of a draft, in characters.
const (
	MaxFullNameLen  = 100
	MaxReferenceLen = 64
	MaxNoteLen      = 500
)

// DuplicateWindow is how far back Submit looks for the same payout.
const DuplicateWindow = 24 * time.Hour

// DuplicateError means the same card or bank account and the same amount and currency were
// prepared in the last 24 hours (in any state but rejected); Matches lists
// those payouts, newest first, so the form can name them. Submit again with
// ConfirmDuplicate to go ahead.
// It unwraps to ErrDuplicate, so its kind is Conflict.
type DuplicateError struct{ Matches []*store.Payout }

// ErrDuplicate matches every *DuplicateError.
var ErrDuplicate = fail.New(fail.Conflict, "duplicate", "A payout like this one was prepared in the last 24 hours")

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("payout: %d similar payout(s) prepared in the last 24 hours", len(e.Matches))
}

// Unwrap gives the duplicate warning its kind and code.
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

// checked is a validated draft. pan is the normalised typed card number,
// kept only on the stack of Submit; account is what a bank-account payout
// sends in session/start/payout.
type checked struct {
	payout  store.Payout
	pan     string
	card    *store.Card
	account *accountRequest
}

// accountRequest is the destination part of a bank-account payout's start.
type accountRequest struct {
	method  smartglocal.PaymentMethod
	parties *smartglocal.ParticipantDetails
}

// Submit validates the draft, records the payout and hands it to the provider
// (session/create, then session/start/payout with the card). It returns the
// recorded payout whatever the provider said: its State tells
// (awaiting_provider or pending_approval when all went well, rejected when
// the provider refused, unknown when a reply was lost: the reconciler then
// finds out). An error means no payout was recorded: a *fail.FieldError
// (method, recipient_id, full_name, amount, currency, card_number, card_id,
// bank_account_id, purpose, sender, customer_reference, note), a
// *DuplicateError, another refusal, or a failure of the database.
func (s *Service) Submit(ctx context.Context, a Actor, d Draft) (*store.Payout, error) {
	if !slices.Contains(a.Roles, RoleMaker) || a.UserID <= 0 {
		s.denied(ctx, a, "payout.create", 0, ErrNotMaker)
		return nil, ErrNotMaker
	}
	c, err := s.validate(ctx, d)
	if err != nil {
		return nil, err
	}
	p := &c.payout
	p.State, p.MakerID = string(StateSubmitting), a.UserID

	var call *store.ProviderCall
	var done func()
	defer func() {
		if done != nil {
			done()
		}
	}()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if !d.ConfirmDuplicate {
			since := tx.Now().Add(-DuplicateWindow)
			matches, err := tx.SimilarPayouts(ctx, since, p)
			if err != nil {
				return err
			}
			if len(matches) > 0 {
				return &DuplicateError{Matches: matches}
			}
		}
		if err := tx.CreatePayout(ctx, p); err != nil {
			return err
		}
		done = s.markInflight(p.ID)
		var err error
		if call, err = startCall(ctx, tx, a, p, actionCreate, s.idempotencyKey(p.ID, actionCreate, p.Version)); err != nil {
			return err
		}
		source := "typed card"
		switch {
		case c.card != nil:
			source = fmt.Sprintf("saved card #%d", c.card.ID)
		case c.account != nil:
			source = fmt.Sprintf("bank account #%d in %s; purpose %s (%s)", p.BankAccountID, CountryName(p.AccountCountry), p.Purpose, PurposeLabel(p.Purpose))
		}
		detail := fmt.Sprintf("%s to %s (%s), recipient %q", money(p.Amount, p.Currency), Destination(p), source, p.FullName)
		if d.ConfirmDuplicate {
			detail += "; duplicate warning acknowledged"
		}
		return tx.Audit(ctx, a.audit("payout.create", p.ID, "ok", detail))
	})
	if err != nil {
		if done != nil {
			done()
			done = nil
		}
		return nil, err
	}
	s.log.Info("payout created", "payout", p.ID, "maker", a.UserID, "amount", p.Amount, "currency", p.Currency)

	sessionID, err := s.createSession(ctx, a, p, call)
	if err != nil || sessionID == "" {
		return s.result(ctx, p.ID, err)
	}
	err = s.startPayout(ctx, a, p.ID, sessionID, c)
	return s.result(ctx, p.ID, err)
}

// ErrNotMaker refuses a payout or card change by someone without the maker role.
var ErrNotMaker = fail.New(fail.Forbidden, "not_maker", "Only makers can prepare payouts and save cards.")

// result returns the payout as it now stands, or err.
func (s *Service) result(ctx context.Context, id int64, err error) (*store.Payout, error) {
	if err != nil {
		return nil, err
	}
	return s.reload(ctx, id)
}

// validate checks the draft and builds the payout it describes.
func (s *Service) validate(ctx context.Context, d Draft) (*checked, error) {
	bad := map[string]string{}
	var c checked
	p := &c.payout

	p.CustomerReference = checkText(bad, "customer_reference", d.CustomerReference, MaxReferenceLen, "")
	cur, curOK := code(strings.TrimSpace(d.Currency))
	switch {
	case !curOK || !Payable(cur) && !isFund(cur):
		bad["currency"] = "Choose a currency"
	case isFund(cur):
		bad["currency"] = cur + " is a fund code, not money a card is paid in: choose a currency"
	default:
		p.Currency = cur
		amount, err := ParseAmount(d.Amount, cur)
		if err != nil {
			bad["amount"] = fail.MessageOf(err)
		} else if limit, ok := s.limits.Max(cur); ok && amount > limit {
			bad["amount"] = fmt.Sprintf("A payout can be at most %s", money(limit, cur))
		} else {
			p.Amount = amount
		}
	}
	p.Note = checkText(bad, "note", d.Note, MaxNoteLen, "")
	if d.RecipientID != 0 {
		if _, err := s.db.RecipientByID(ctx, d.RecipientID); errors.Is(err, store.ErrNotFound) {
			bad["recipient_id"] = "Choose a recipient"
		} else if err != nil {
			return nil, err
		}
		p.RecipientID = d.RecipientID
	}

	var err error
	switch d.Method {
	case MethodCard, "":
		p.Method = MethodCard
		err = s.validateCard(ctx, d, &c, bad)
	case MethodBankAccount:
		p.Method = MethodBankAccount
		err = s.validateAccount(ctx, d, &c, bad)
	default:
		bad["method"] = "Choose a card or a bank account"
	}
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		return nil, fail.Fields(bad)
	}
	return &c, nil
}

// validateCard checks a card payout's name and card. Cards take no
// remittance purpose (the provider's card payouts have none): a purpose sent
// along is not kept.
func (s *Service) validateCard(ctx context.Context, d Draft, c *checked, bad map[string]string) error {
	p := &c.payout
	p.FullName = checkText(bad, "full_name", d.FullName, MaxFullNameLen, missingName)
	pan := strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(d.CardNumber))
	switch {
	case pan != "" && d.CardID != 0:
		bad["card_number"] = "Type a card number or choose a saved card, not both"
	case pan == "" && d.CardID == 0:
		bad["card_number"] = "Enter a card number or choose a saved card"
	case pan != "":
		// Never quote the number back: it may be a real card, slightly mistyped.
		if strings.IndexFunc(pan, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			bad["card_number"] = "Use digits only for the card number"
		} else if !card.ValidPAN(pan) {
			bad["card_number"] = "This is not a valid card number. Check it and type it again"
		} else if !card.KnownBrand(pan) {
			bad["card_number"] = "This number belongs to no card scheme we know (Visa, Mastercard, Mir, …). Check it and type it again"
		} else {
			c.pan = pan
			p.CardLast4, p.CardBrand = card.Last4(pan), card.Brand(pan)
			p.CardFingerprint = s.cardFingerprint(pan)
		}
	default:
		saved, err := s.db.CardByID(ctx, d.CardID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			bad["card_id"] = "Choose a saved card"
		case err != nil:
			return err
		case saved.Removed():
			bad["card_id"] = "This card was removed. Choose another"
		case !saved.Verified():
			bad["card_id"] = "This card is waiting for a second person to verify it"
		case p.RecipientID != 0 && saved.RecipientID != p.RecipientID:
			bad["card_id"] = "This card belongs to another recipient"
		default:
			c.card = saved
			p.CardID, p.CardLast4, p.CardBrand, p.RecipientID = saved.ID, saved.Last4, saved.Brand, saved.RecipientID
			if err := s.bindToOwner(ctx, p, bad); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateAccount checks a bank-account payout: a saved, verified account of
// the recipient, paid in its own currency, a remittance purpose, and the
// sender company with what the account's country asks of it. The account is
// checked again against today's list of banks the provider accepts. The
// payout is to the account holder, by the name the bank knows.
func (s *Service) validateAccount(ctx context.Context, d Draft, c *checked, bad map[string]string) error {
	p := &c.payout
	p.Purpose = strings.TrimSpace(d.Purpose)
	if msg := bank.CheckPurpose(p.Purpose); msg != "" {
		bad["purpose"] = msg
	}
	acc, err := s.db.BankAccountByID(ctx, d.BankAccountID)
	switch {
	case d.BankAccountID == 0 || errors.Is(err, store.ErrNotFound):
		bad["bank_account_id"] = "Choose a saved bank account"
		return nil
	case err != nil:
		return err
	case acc.Removed():
		bad["bank_account_id"] = "This bank account was removed. Choose another"
		return nil
	case !acc.Verified():
		bad["bank_account_id"] = "This bank account is waiting for a second person to verify it"
		return nil
	case p.RecipientID != 0 && acc.RecipientID != p.RecipientID:
		bad["bank_account_id"] = "This bank account belongs to another recipient"
		return nil
	}
	p.BankAccountID, p.RecipientID, p.FullName = acc.ID, acc.RecipientID, acc.Holder()
	p.AccountLabel, p.AccountCountry = acc.Masked, acc.Country
	if p.Currency != "" && p.Currency != acc.Currency {
		bad["currency"] = fmt.Sprintf("Payouts to this account are in %s", acc.Currency)
	}
	account, problems := bank.Check(Account(acc), s.banks)
	if problems != nil {
		if problems[bank.KeyBankName] != "" {
			bad["bank_account_id"] = fmt.Sprintf("The provider no longer lists %s among the banks it pays in %s: remove this account and save it with a supported bank",
				acc.BankName, CountryName(acc.Country))
		} else {
			bad["bank_account_id"] = "This bank account's details no longer pass the checks: remove it and save it again"
		}
		return nil
	}
	sender, ok, err := s.Sender(ctx)
	if err != nil {
		return err
	}
	if !ok {
		bad["sender"] = ErrNoSender.Message
		return nil
	}
	if len(bad) > 0 {
		return nil
	}
	pm, pd, err := bank.Payout{Account: account, Purpose: p.Purpose, Sender: sender}.Request()
	var rest bank.Problems
	switch {
	case errors.As(err, &rest):
		// The account and the purpose were checked above: what is left is what
		// the account's country asks of the sender.
		for _, k := range slices.Sorted(maps.Keys(rest)) {
			if strings.HasPrefix(k, "sender.") {
				bad["sender"] = rest[k]
				return nil
			}
		}
		bad["bank_account_id"] = "This bank account cannot be paid as it is: remove it and save it again"
	case err != nil:
		return err
	default:
		c.account = &accountRequest{method: pm, parties: pd}
	}
	return nil
}

// missingName is the problem of a draft with no name.
const missingName = "Enter the recipient's full name"

// bindToOwner pays a saved card only to its recipient: the payout carries the
// recipient's name (what the provider receives, the queue shows and exports
// carry), and a draft that names someone else is refused. A blank name takes
// the recipient's. p.FullName is the name as typed, already through checkText.
func (s *Service) bindToOwner(ctx context.Context, p *store.Payout, bad map[string]string) error {
	r, err := s.db.RecipientByID(ctx, p.RecipientID)
	if err != nil {
		return err
	}
	owner, _ := text.CheckName(r.FullName, MaxFullNameLen)
	switch {
	case bad["full_name"] == missingName: // a blank name is the recipient's
		delete(bad, "full_name")
	case bad["full_name"] != "": // what was typed cannot be read: say that first
		return nil
	case !strings.EqualFold(p.FullName, owner):
		bad["full_name"] = fmt.Sprintf("This saved card belongs to %s and is paid only to them. To pay %s, type their card number or choose a card saved for them.", r.FullName, p.FullName)
		return nil
	}
	p.FullName = r.FullName
	return nil
}

// checkText cleans and checks one line of text an approver will read and the
// provider will get (text.CheckName: no line breaks, invisible characters or
// text-direction marks), recording a problem under field; missing, when not
// "", is the problem of an empty value.
func checkText(bad map[string]string, field, value string, limit int, missing string) string {
	v, problem := text.CheckName(value, limit)
	switch {
	case problem != "":
		bad[field] = problem
	case v == "" && missing != "":
		bad[field] = missing
	}
	return v
}

// createRequest is the session/create body for p. It is built from the
// stored payout only, so that the reconciler can replay the very same request
// under the same idempotency key to learn a session id it never received.
func createRequest(p *store.Payout) smartglocal.CreateSessionRequest {
	req := smartglocal.CreateSessionRequest{
		AmountDetails: &smartglocal.AmountDetails{Amount: p.Amount, Currency: strings.ToLower(p.Currency)},
		Metadata:      json.RawMessage(fmt.Sprintf(`{"payout_id":%d}`, p.ID)),
	}
	// A bank-account payout's recipient and sender go, whole, with its
	// account in session/start/payout.
	if p.Method != MethodBankAccount {
		req.ParticipantDetails = &smartglocal.ParticipantDetails{Recipient: &smartglocal.Participant{FullName: p.FullName}}
	}
	if p.CustomerReference != "" {
		req.Customer = &smartglocal.Customer{Reference: p.CustomerReference}
	}
	return req
}

// createSession calls session/create for the intent in call and records the
// outcome. It returns the session id, or "" when there is none to go on with
// (refused: the payout is rejected; unknown: the reconciler takes over).
func (s *Service) createSession(ctx context.Context, a Actor, p *store.Payout, call *store.ProviderCall) (string, error) {
	if s.crashed("before", call.Action) {
		return "", errCrashed
	}
	cctx, cancel := s.callCtx(ctx)
	sess, err := s.sg.CreateSession(cctx, createRequest(p), call.IdempotencyKey)
	cancel()
	if s.crashed("after", call.Action) {
		return "", errCrashed
	}
	return s.recordCreate(ctx, a, p.ID, call, sess, err)
}

// recordCreate records a session/create outcome (first call or replay).
func (s *Service) recordCreate(ctx context.Context, a Actor, payoutID int64, call *store.ProviderCall, sess *smartglocal.Session, callErr error) (string, error) {
	ctx = context.WithoutCancel(ctx) // what the provider did must be recorded even if the caller gives up
	result, code, desc := outcome(callErr)
	s.log.Info("provider call", "payout", payoutID, "action", call.Action, "outcome", result, "code", code)
	var sessionID string
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		p, err := load(ctx, tx, payoutID)
		if err != nil {
			return err
		}
		cur := State(p.State)
		detail := ""
		switch result {
		case store.CallOK:
			if p.ProviderSessionID == "" {
				p.ProviderSessionID = sess.ID
				if err := tx.SavePayout(ctx, p); err != nil {
					return err
				}
			}
			sessionID = p.ProviderSessionID
			detail = "session " + sess.ID
		case store.CallRefused:
			if CanMove(cur, StateRejected) {
				s.moveTo(p, StateRejected, providerView{errorCode: code, errorDesc: desc}, tx.Now())
				if err := tx.SavePayout(ctx, p); err != nil {
					return err
				}
			}
			detail = "provider refused; payout " + p.State
		default:
			if cur == fromState(call.Action) {
				p.State = string(StateUnknown)
				if err := tx.SavePayout(ctx, p); err != nil {
					return err
				}
			}
			detail = "no reply; payout " + p.State
		}
		if err := s.announce(ctx, tx, p, cur); err != nil {
			return err
		}
		return finishCall(ctx, tx, a, call, result, code, desc, detail)
	})
	if err != nil {
		return "", fmt.Errorf("record %s outcome for payout %d: %w", call.Action, payoutID, err)
	}
	return sessionID, nil
}

// startPayout records the intent of session/start/payout, sends the card or
// the bank account and records the outcome. The card number lives in c.pan
// until this returns.
func (s *Service) startPayout(ctx context.Context, a Actor, payoutID int64, sessionID string, c *checked) error {
	ctx = context.WithoutCancel(ctx) // what the provider did must be recorded even if the caller gives up
	var call *store.ProviderCall
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		p, err := load(ctx, tx, payoutID)
		if err != nil {
			return err
		}
		if State(p.State) != StateSubmitting {
			return nil // something else (a webhook, the reconciler) got there first
		}
		call, err = startCall(ctx, tx, a, p, actionStart, s.idempotencyKey(p.ID, actionStart, p.Version))
		return err
	})
	if err != nil || call == nil {
		return err
	}
	if s.crashed("before", call.Action) {
		return errCrashed
	}
	req := smartglocal.StartPayoutRequest{SessionID: sessionID, PaymentMethod: smartglocal.BankCardMethod(c.pan)}
	switch {
	case c.card != nil:
		req.PaymentMethod = smartglocal.EncryptedCardMethod(c.card.NumberHash)
	case c.account != nil:
		req.PaymentMethod, req.ParticipantDetails = c.account.method, c.account.parties
	}
	cctx, cancel := s.callCtx(ctx)
	sess, callErr := s.sg.StartPayout(cctx, req, call.IdempotencyKey)
	cancel()
	if s.crashed("after", call.Action) {
		return errCrashed
	}
	result, code, desc := outcome(callErr)
	s.log.Info("provider call", "payout", payoutID, "action", call.Action, "outcome", result, "code", code)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		p, err := load(ctx, tx, payoutID)
		if err != nil {
			return err
		}
		cur := State(p.State)
		var v providerView
		var to State
		switch result {
		case store.CallOK:
			v = viewOf(sess)
			to = v.truth(p)
		case store.CallRefused:
			v, to = providerView{errorCode: code, errorDesc: desc}, StateRejected
		default:
			to = StateUnknown
		}
		// A lost reply only matters while nothing else told us more; any other
		// move needs CanMove (the ready_to_confirm webhook may have come first).
		if (to == StateUnknown && cur == StateSubmitting) || (to != StateUnknown && CanMove(cur, to)) {
			s.moveTo(p, to, v, tx.Now())
			if err := tx.SavePayout(ctx, p); err != nil {
				return err
			}
		} else if v.payoutID != "" && p.ProviderPayoutID == "" {
			p.ProviderPayoutID = v.payoutID
			if err := tx.SavePayout(ctx, p); err != nil {
				return err
			}
		}
		if err := s.announce(ctx, tx, p, cur); err != nil {
			return err
		}
		detail := "payout " + p.State
		if result == store.CallOK {
			detail = v.String() + "; " + detail
		}
		return finishCall(ctx, tx, a, call, result, code, desc, detail)
	})
	if err != nil {
		return fmt.Errorf("record %s outcome for payout %d: %w", actionStart, payoutID, err)
	}
	return nil
}
