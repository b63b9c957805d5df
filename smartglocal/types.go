package smartglocal

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"countersign/card"
)

// Session states (PaymentSession.status).
const (
	SessionCreated    = "created"
	SessionInProgress = "in_progress"
	SessionAccepted   = "accepted"
	SessionCancelled  = "cancelled"
	SessionError      = "error" // not final: the provider asks to contact support
)

// Payout (Payment) states.
const (
	PaymentInProgress = "in_progress"
	PaymentPending    = "pending" // waiting for session/confirm or session/cancel
	PaymentSucceeded  = "succeeded"
	PaymentFailed     = "failed"
)

// NextActionConfirm is Session.NextAction while the provider waits for session/confirm.
const NextActionConfirm = "confirm"

// Session is a payment session ("PaymentSession" in the provider's docs).
type Session struct {
	ID         string       `json:"id"`
	Status     string       `json:"status"`
	CreatedAt  string       `json:"created_at"`
	UpdatedAt  string       `json:"updated_at"`
	Payments   []Payment    `json:"payments,omitempty"`
	NextAction string       `json:"next_action,omitempty"`
	Error      *ErrorDetail `json:"error,omitempty"`
}

// Payout returns the session's first payout, or nil when it has none.
func (s *Session) Payout() *Payment {
	if s == nil || len(s.Payments) == 0 {
		return nil
	}
	return &s.Payments[0]
}

// Payment is one payout inside a session. In replies and webhooks its card
// is masked to last4, brand and bin.
type Payment struct {
	ID                 string              `json:"id"`
	Status             string              `json:"status"`
	CreatedAt          string              `json:"created_at"`
	FinishedAt         string              `json:"finished_at,omitempty"`
	PaymentMethod      PaymentMethod       `json:"payment_method"`
	AmountDetails      AmountDetails       `json:"amount_details"`
	ParticipantDetails *ParticipantDetails `json:"participant_details,omitempty"`
	Customer           *Customer           `json:"customer,omitempty"`
	TransactionInfo    *TransactionInfo    `json:"transaction_info,omitempty"`
	Metadata           json.RawMessage     `json:"metadata,omitempty"`
	Error              *ErrorDetail        `json:"error,omitempty"`
}

// PaymentMethod is where a payout goes: Type "card" with Card, or Type
// "bank_account" with BankAccount.
type PaymentMethod struct {
	Type        string       `json:"type"`
	Card        *Card        `json:"card,omitempty"`
	BankAccount *BankAccount `json:"bank_account,omitempty"`
}

// Payment method types.
const (
	MethodCard        = "card"
	MethodBankAccount = "bank_account"
)

// BankCardMethod is a payout destination given by a raw card number.
func BankCardMethod(number string) PaymentMethod {
	return PaymentMethod{Type: MethodCard, Card: &Card{Type: "bank_card", BankCard: &BankCard{Number: number}}}
}

// EncryptedCardMethod is a payout destination given by the card hash the
// tokenization widget returned.
func EncryptedCardMethod(numberHash string) PaymentMethod {
	return PaymentMethod{Type: MethodCard, Card: &Card{Type: "encrypted_card", EncryptedCard: &EncryptedCard{NumberHash: numberHash}}}
}

// LogValue describes the method without the card or account number.
func (m PaymentMethod) LogValue() slog.Value {
	switch {
	case m.Card != nil:
		return slog.GroupValue(slog.String("type", m.Type), slog.Any("card", *m.Card))
	case m.BankAccount != nil && m.BankAccount.Global != nil:
		return slog.GroupValue(slog.String("type", m.Type), slog.Any("global", *m.BankAccount.Global))
	}
	return slog.StringValue(m.Type)
}

// BankAccountMethod is a payout destination given by bank account details
// (system_type "global"); g.Description carries the remittance purpose.
func BankAccountMethod(g BankAccountGlobal) PaymentMethod {
	return PaymentMethod{Type: MethodBankAccount, BankAccount: &BankAccount{SystemType: SystemGlobal, Global: &g}}
}

// SystemGlobal is the only bank_account.system_type the provider's payout
// pages use.
const SystemGlobal = "global"

// BankAccount is a bank-account destination.
type BankAccount struct {
	SystemType string             `json:"system_type"`
	Global     *BankAccountGlobal `json:"global,omitempty"`
}

// BankAccountGlobal holds the account details of a "global" bank-account
// payout. Which identifiers a country needs is in the provider's country
// pages (and in package bank's field table). Description is the remittance
// purpose code, required for every bank-account payout. In replies the
// sandbox masks the account numbers and the IBAN.
type BankAccountGlobal struct {
	Description       string `json:"description"`
	IBAN              string `json:"iban,omitempty"`
	SwiftBicCode      string `json:"swift_bic_code,omitempty"`
	AccountNumber     string `json:"account_number,omitempty"` // UK and Canada
	SortCode          string `json:"sort_code,omitempty"`
	BankAccountNumber string `json:"bank_account_number,omitempty"` // every other country
	BranchNumber      string `json:"branch_number,omitempty"`
	RoutingCode       string `json:"routing_code,omitempty"`
	BsbNumber         string `json:"bsb_number,omitempty"`
	AccountType       string `json:"account_type,omitempty"`
}

// LogValue describes the account by its purpose and the last four
// characters of its identifier: logs need no more to follow a payout.
func (g BankAccountGlobal) LogValue() slog.Value {
	number := g.IBAN
	for _, n := range []string{g.AccountNumber, g.BankAccountNumber} {
		if number == "" {
			number = n
		}
	}
	return slog.GroupValue(slog.String("description", g.Description), slog.String("last4", card.Last4(number)))
}

// Card is a card destination in a request (Type plus one of BankCard,
// EncryptedCard, TokenizedCard) or a masked card in a reply (Last4, Brand, Bin).
type Card struct {
	Type          string         `json:"type,omitempty"`
	BankCard      *BankCard      `json:"bank_card,omitempty"`
	EncryptedCard *EncryptedCard `json:"encrypted_card,omitempty"`
	TokenizedCard *TokenizedCard `json:"tokenized_card,omitempty"`
	Last4         string         `json:"last4,omitempty"`
	Brand         string         `json:"brand,omitempty"`
	Bin           string         `json:"bin,omitempty"`
	CountryISO3   string         `json:"country_iso3,omitempty"`
}

// LogValue describes the card without its number.
func (c Card) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("type", c.Type)}
	if c.BankCard != nil {
		attrs = append(attrs, slog.String("bank_card", c.BankCard.String()))
	}
	if c.EncryptedCard != nil {
		attrs = append(attrs, slog.String("number_hash", c.EncryptedCard.NumberHash))
	}
	if c.Last4 != "" {
		attrs = append(attrs, slog.String("last4", c.Last4), slog.String("brand", c.Brand))
	}
	return slog.GroupValue(attrs...)
}

// BankCard carries a full card number (PAN). It formats itself masked for
// every fmt verb and for slog, so that logging a request by accident does not
// leak the number; only encoding/json sees Number.
type BankCard struct {
	Number string `json:"number"`
}

// String returns the card masked to its last four digits.
func (b BankCard) String() string {
	return "BankCard(" + card.MaskNumber(b.Number) + ")"
}

// GoString is String: %#v must not print the number either.
func (b BankCard) GoString() string { return b.String() }

// Format prints the masked form for every verb; without it %d or %x would
// print the struct's fields.
func (b BankCard) Format(f fmt.State, verb rune) { fmt.Fprint(f, b.String()) }

// LogValue is the masked form.
func (b BankCard) LogValue() slog.Value { return slog.StringValue(b.String()) }

// EncryptedCard names a card stored at the provider by its hash.
type EncryptedCard struct {
	NumberHash string `json:"number_hash"`
}

// TokenizedCard names a card by a token from tokenize/elements.
type TokenizedCard struct {
	Token string `json:"token"`
}

// AmountDetails is an amount in minor units (10000 = 100.00 USD) and a
// lowercase ISO 4217 currency code.
type AmountDetails struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// ParticipantDetails names the payout's recipient and sender.
type ParticipantDetails struct {
	Recipient *Participant `json:"recipient,omitempty"`
	Sender    *Participant `json:"sender,omitempty"`
}

// Participant is a subset of the provider's participant fields. FullName is
// required for the recipient of a card payout; a bank-account payout names
// the account holder by FirstName and LastName plus BankName, Currency,
// CountryISO3 and the address its country needs, and its sender (a company)
// by CompanyName, RegistrationNumber, CountryISO3 and Code.
type Participant struct {
	FullName           string `json:"full_name,omitempty"`
	FirstName          string `json:"first_name,omitempty"`
	LastName           string `json:"last_name,omitempty"`
	MiddleName         string `json:"middle_name,omitempty"`
	CompanyName        string `json:"company_name,omitempty"`
	Reference          string `json:"reference,omitempty"`
	TaxReference       string `json:"tax_reference,omitempty"`
	CountryISO2        string `json:"country_iso2,omitempty"`
	CountryISO3        string `json:"country_iso3,omitempty"`
	City               string `json:"city,omitempty"`
	PostalCode         string `json:"postal_code,omitempty"`
	AddressLine        string `json:"address_line,omitempty"`
	State              string `json:"state,omitempty"`
	Email              string `json:"email,omitempty"`
	MSISDN             string `json:"msisdn,omitempty"`
	BankName           string `json:"bank_name,omitempty"`
	Currency           string `json:"currency,omitempty"`
	RegistrationNumber string `json:"registration_number,omitempty"`
	Code               string `json:"code,omitempty"`

	IdentityDocument *IdentityDocument `json:"identity_document,omitempty"`
}

// IdentityDocument identifies a person by a national number (Brazil: the
// recipient's CPF).
type IdentityDocument struct {
	IDNumber string `json:"id_number"`
}

// Customer is the recipient as known in our system.
type Customer struct {
	Reference string    `json:"reference,omitempty"`
	Contacts  []Contact `json:"contacts,omitempty"`
}

// Contact is one way to reach a customer.
type Contact struct {
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// TransactionInfo identifies a finished card transaction at the card scheme.
type TransactionInfo struct {
	RRN      string `json:"rrn,omitempty"`
	AuthCode string `json:"auth_code,omitempty"`
}

// ErrorDetail is the provider's error object, in error replies and on
// sessions and payouts.
type ErrorDetail struct {
	Code        string `json:"code"`
	Description string `json:"description,omitempty"`
}

// Wallet is one prefunding balance.
type Wallet struct {
	ID            string        `json:"id"`
	AmountDetails AmountDetails `json:"amount_details"`
}

// TokenInfo is what token/info tells about a card hash or a token. Cards
// fill NumberHash, Brand, Last4; tokens fill CreatedAt, ExpiresAt, Active
// (field names for tokens are an assumption, provider-api.md §9.7).
type TokenInfo struct {
	Type        string `json:"type"`
	NumberHash  string `json:"number_hash,omitempty"`
	Brand       string `json:"brand,omitempty"`
	Last4       string `json:"last4,omitempty"`
	CountryISO3 string `json:"country_iso3,omitempty"`
	Token       string `json:"token,omitempty"`
	CreatedAt   string `json:"created_at,omitempty"`
	ExpiresAt   string `json:"expires_at,omitempty"`
	Active      *bool  `json:"active,omitempty"`
}

// CreateSessionRequest is session/create. Every field is optional; what is
// left out here must be given to session/start/payout.
type CreateSessionRequest struct {
	PaymentMethod      *PaymentMethod      `json:"payment_method,omitempty"`
	AmountDetails      *AmountDetails      `json:"amount_details,omitempty"`
	ParticipantDetails *ParticipantDetails `json:"participant_details,omitempty"`
	Customer           *Customer           `json:"customer,omitempty"`
	Metadata           json.RawMessage     `json:"metadata,omitempty"`
}

// LogValue describes the request without the card number.
func (r CreateSessionRequest) LogValue() slog.Value {
	var attrs []slog.Attr
	if r.PaymentMethod != nil {
		attrs = append(attrs, slog.Any("payment_method", *r.PaymentMethod))
	}
	if r.AmountDetails != nil {
		attrs = append(attrs, slog.Int64("amount", r.AmountDetails.Amount), slog.String("currency", r.AmountDetails.Currency))
	}
	return slog.GroupValue(attrs...)
}

// InitPayoutRequest is session/init/payout: create a session and start its
// payout in one call.
type InitPayoutRequest struct {
	PaymentMethod      PaymentMethod       `json:"payment_method"`
	AmountDetails      AmountDetails       `json:"amount_details"`
	ParticipantDetails *ParticipantDetails `json:"participant_details,omitempty"`
	Customer           *Customer           `json:"customer,omitempty"`
	Metadata           json.RawMessage     `json:"metadata,omitempty"`
}

// LogValue describes the request without the card number.
func (r InitPayoutRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("payment_method", r.PaymentMethod),
		slog.Int64("amount", r.AmountDetails.Amount),
		slog.String("currency", r.AmountDetails.Currency),
	)
}

// StartPayoutRequest is session/start/payout. Fields left zero are taken from
// session/create.
type StartPayoutRequest struct {
	SessionID          string              `json:"session_id"`
	PaymentMethod      PaymentMethod       `json:"payment_method,omitzero"`
	AmountDetails      AmountDetails       `json:"amount_details,omitzero"`
	ParticipantDetails *ParticipantDetails `json:"participant_details,omitempty"`
	Customer           *Customer           `json:"customer,omitempty"`
	Metadata           json.RawMessage     `json:"metadata,omitempty"`
}

// LogValue describes the request without the card number.
func (r StartPayoutRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("session_id", r.SessionID),
		slog.Any("payment_method", r.PaymentMethod),
		slog.Int64("amount", r.AmountDetails.Amount),
		slog.String("currency", r.AmountDetails.Currency),
	)
}

// TokenRequest is the token method. Only the tokenization widget is modelled.
type TokenRequest struct {
	TokenizeWidget *TokenizeWidget `json:"tokenize_widget,omitempty"`
}

// TokenizeWidget asks for a public token for the card tokenization widget.
type TokenizeWidget struct {
	Access bool   `json:"access"`
	Locale string `json:"locale,omitempty"`
}

// TokenInfoRequest is token/info: Type "card" with Card.EncryptedCard, or
// Type "public_token" with PublicToken.
type TokenInfoRequest struct {
	Type        string       `json:"type"`
	Card        *Card        `json:"card,omitempty"`
	PublicToken *PublicToken `json:"public_token,omitempty"`
}

// LogValue describes the request without any card number.
func (r TokenInfoRequest) LogValue() slog.Value {
	if r.Card == nil {
		return slog.GroupValue(slog.String("type", r.Type))
	}
	return slog.GroupValue(slog.String("type", r.Type), slog.Any("card", *r.Card))
}

// PublicToken refers to a token returned by the token method.
type PublicToken struct {
	Token string `json:"token"`
}
