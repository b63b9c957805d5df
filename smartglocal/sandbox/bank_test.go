package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	sg "countersign/smartglocal"
	"countersign/smartglocal/bank"
	"countersign/smartglocal/sandbox"
)

// acme is the sender company of every bank payout in these tests.
var acme = bank.Sender{CompanyName: "Acme Payroll Ltd", RegistrationNumber: "09876543", CountryISO3: "GBR", Code: "09876543",
	AddressLine: "10 Finsbury Square", City: "London", PostalCode: "EC2A 1AF"}

// The sender as each country's page lists it, written out by hand.
const (
	senderCommon   = `{"company_name":"Acme Payroll Ltd","registration_number":"09876543","country_iso3":"GBR","code":"09876543"}`
	senderStreet   = `{"company_name":"Acme Payroll Ltd","registration_number":"09876543","country_iso3":"GBR","code":"09876543","address_line":"10 Finsbury Square"}`
	senderAddress  = `{"company_name":"Acme Payroll Ltd","registration_number":"09876543","country_iso3":"GBR","code":"09876543","address_line":"10 Finsbury Square","city":"London"}`
	senderForUSA   = `{"company_name":"Acme Payroll Ltd","registration_number":"09876543","country_iso3":"GBR","code":"09876543","address_line":"10 Finsbury Square","city":"London","postal_code":"EC2A 1AF"}`
	salaryCode     = "SALARY_PAYMENT"
	bankPayoutSize = 250_000
)

// bankCases are one payout per country with a bank-account page (the United
// Kingdom twice), each with the account as a person types it and the exact
// payment_method and participant_details the provider must receive.
var bankCases = []struct {
	name    string
	account bank.Account
	method  string // payment_method, as JSON
	people  string // participant_details, as JSON
}{
	{"United Kingdom, sort code",
		bank.Account{Country: "GBR", Currency: "GBP", Scheme: "sort_code", BankName: "Barclays", FirstName: "Jane", LastName: "Smith",
			Values: map[string]string{"sort_code": "20 00 00", "account_number": "5577 9911", "address_line": "1 Churchill Place", "city": "London", "postal_code": "E14 5HP"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","sort_code":"20-00-00","account_number":"55779911","account_type":"CHECKING"}}}`,
		`{"recipient":{"bank_name":"Barclays","currency":"GBP","country_iso3":"GBR","first_name":"Jane","last_name":"Smith","address_line":"1 Churchill Place","city":"London","postal_code":"E14 5HP"},"sender":` + senderCommon + `}`},
	{"United Kingdom, IBAN",
		bank.Account{Country: "GBR", Currency: "GBP", Scheme: "iban", BankName: "NatWest", FirstName: "Jane", LastName: "Smith",
			Values: map[string]string{"iban": "GB29 NWBK 6016 1331 9268 19", "swift_bic_code": "NWBKGB2L", "address_line": "250 Bishopsgate", "city": "London", "postal_code": "EC2M 4AA", "state": "Greater London"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","iban":"GB29NWBK60161331926819","swift_bic_code":"NWBKGB2L","account_type":"CHECKING"}}}`,
		`{"recipient":{"bank_name":"NatWest","currency":"GBP","country_iso3":"GBR","first_name":"Jane","last_name":"Smith","address_line":"250 Bishopsgate","city":"London","postal_code":"EC2M 4AA","state":"Greater London"},"sender":` + senderCommon + `}`},
	{"Czechia",
		bank.Account{Country: "CZE", Currency: "CZK", Scheme: "iban", BankName: "Komerční banka", FirstName: "Jan", LastName: "Novák",
			Values: map[string]string{"iban": "CZ65 0800 0000 1920 0014 5399", "swift_bic_code": "GIBACZPX"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","iban":"CZ6508000000192000145399","swift_bic_code":"GIBACZPX"}}}`,
		`{"recipient":{"bank_name":"Komerční banka","currency":"CZK","country_iso3":"CZE","first_name":"Jan","last_name":"Novák"},"sender":` + senderCommon + `}`},
	{"Hungary",
		bank.Account{Country: "HUN", Currency: "EUR", BankName: "OTP Bank", FirstName: "Anna", LastName: "Kovács",
			Values: map[string]string{"iban": "HU58 1177 3016 1111 1018 1234 5678", "address_line": "Váci utca 1", "city": "Budapest"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","iban":"HU58117730161111101812345678"}}}`,
		`{"recipient":{"bank_name":"OTP Bank","currency":"EUR","country_iso3":"HUN","first_name":"Anna","last_name":"Kovács","address_line":"Váci utca 1","city":"Budapest"},"sender":` + senderAddress + `}`},
	{"USA",
		bank.Account{Country: "USA", Currency: "USD", BankName: "JPMorgan Chase Bank", FirstName: "John", LastName: "Doe",
			Values: map[string]string{"routing_code": "021000021", "bank_account_number": "000123456789", "account_type": "savings",
				"address_line": "270 Park Avenue", "city": "New York", "postal_code": "10017", "state": "NY"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","routing_code":"021000021","bank_account_number":"000123456789","account_type":"SAVINGS"}}}`,
		`{"recipient":{"bank_name":"JPMorgan Chase Bank","currency":"USD","country_iso3":"USA","first_name":"John","last_name":"Doe","address_line":"270 Park Avenue","city":"New York","postal_code":"10017","state":"NY"},"sender":` + senderForUSA + `}`},
	{"Israel",
		bank.Account{Country: "ISR", Currency: "ILS", Scheme: "account", BankName: "Bank Leumi", FirstName: "Dana", LastName: "Levi",
			Values: map[string]string{"bank_account_number": "12345678", "branch_number": "800"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","bank_account_number":"12345678","branch_number":"800"}}}`,
		`{"recipient":{"bank_name":"Bank Leumi","currency":"ILS","country_iso3":"ISR","first_name":"Dana","last_name":"Levi"},"sender":` + senderCommon + `}`},
	{"Turkey",
		bank.Account{Country: "TUR", Currency: "TRY", BankName: "Garanti BBVA", FirstName: "Ayşe", LastName: "Yılmaz",
			Values: map[string]string{"iban": "TR33 0006 1005 1978 6457 8413 26"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","iban":"TR330006100519786457841326"}}}`,
		`{"recipient":{"bank_name":"Garanti BBVA","currency":"TRY","country_iso3":"TUR","first_name":"Ayşe","last_name":"Yılmaz"},"sender":` + senderCommon + `}`},
	{"Canada",
		bank.Account{Country: "CAN", Currency: "CAD", BankName: "Royal Bank of Canada", FirstName: "Émilie", LastName: "Tremblay",
			Values: map[string]string{"routing_code": "000312345", "account_number": "1234567"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","routing_code":"000312345","account_number":"1234567"}}}`,
		`{"recipient":{"bank_name":"Royal Bank of Canada","currency":"CAD","country_iso3":"CAN","first_name":"Émilie","last_name":"Tremblay"},"sender":` + senderCommon + `}`},
	{"Australia",
		bank.Account{Country: "AUS", Currency: "AUD", BankName: "Westpac", FirstName: "Jack", LastName: "Wilson",
			Values: map[string]string{"bsb_number": "032-000", "bank_account_number": "123456", "address_line": "275 Kent Street", "city": "Sydney", "postal_code": "2000", "state": "NSW"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","bsb_number":"032000","bank_account_number":"123456"}}}`,
		`{"recipient":{"bank_name":"Westpac","currency":"AUD","country_iso3":"AUS","first_name":"Jack","last_name":"Wilson","address_line":"275 Kent Street","city":"Sydney","postal_code":"2000","state":"NSW"},"sender":` + senderStreet + `}`},
	{"Brazil",
		bank.Account{Country: "BRA", Currency: "BRL", BankName: "Banco do Brasil", FirstName: "Maria", LastName: "Silva",
			Values: map[string]string{"bank_account_number": "98765-4", "branch_number": "1234", "account_type": "CHECKING", "id_number": "123.456.789-09"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","bank_account_number":"987654","branch_number":"1234","account_type":"CHECKING"}}}`,
		`{"recipient":{"bank_name":"Banco do Brasil","currency":"BRL","country_iso3":"BRA","first_name":"Maria","last_name":"Silva","identity_document":{"id_number":"12345678909"}},"sender":` + senderCommon + `}`},
	{"Hong Kong",
		bank.Account{Country: "HKG", Currency: "HKD", BankName: "Hang Seng Bank", FirstName: "Wing", LastName: "Chan",
			Values: map[string]string{"bank_account_number": "024-123456-001", "address_line": "83 Des Voeux Road Central", "msisdn": "+852 9123 4567", "email": "wing@example.hk"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","bank_account_number":"024123456001"}}}`,
		`{"recipient":{"bank_name":"Hang Seng Bank","currency":"HKD","country_iso3":"HKG","first_name":"Wing","last_name":"Chan","address_line":"83 Des Voeux Road Central","msisdn":"85291234567","email":"wing@example.hk"},"sender":` + senderCommon + `}`},
	{"Indonesia",
		bank.Account{Country: "IDN", Currency: "IDR", BankName: "Bank Mandiri", FirstName: "Budi", LastName: "Santoso", Values: map[string]string{"bank_account_number": "1234567890"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","bank_account_number":"1234567890"}}}`,
		`{"recipient":{"bank_name":"Bank Mandiri","currency":"IDR","country_iso3":"IDN","first_name":"Budi","last_name":"Santoso"},"sender":` + senderStreet + `}`},
	{"Philippines",
		bank.Account{Country: "PHL", Currency: "PHP", BankName: "BDO Unibank", FirstName: "Jose", LastName: "Reyes", Values: map[string]string{"bank_account_number": "001234567890"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","bank_account_number":"001234567890"}}}`,
		`{"recipient":{"bank_name":"BDO Unibank","currency":"PHP","country_iso3":"PHL","first_name":"Jose","last_name":"Reyes"},"sender":` + senderCommon + `}`},
	{"Vietnam",
		bank.Account{Country: "VNM", Currency: "VND", BankName: "Vietcombank", FirstName: "Lan", LastName: "Nguyen", Values: map[string]string{"bank_account_number": "0071000123456"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","bank_account_number":"0071000123456"}}}`,
		`{"recipient":{"bank_name":"Vietcombank","currency":"VND","country_iso3":"VNM","first_name":"Lan","last_name":"Nguyen"},"sender":` + senderCommon + `}`},
	{"Thailand",
		bank.Account{Country: "THA", Currency: "THB", BankName: "Kasikornbank", FirstName: "Somchai", LastName: "Saetang", Values: map[string]string{"bank_account_number": "123-4-56789-0"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","bank_account_number":"1234567890"}}}`,
		`{"recipient":{"bank_name":"Kasikornbank","currency":"THB","country_iso3":"THA","first_name":"Somchai","last_name":"Saetang"},"sender":` + senderStreet + `}`},
	{"Korea",
		bank.Account{Country: "KOR", Currency: "KRW", BankName: "Shinhan Bank", FirstName: "Minjun", LastName: "Kim", Values: map[string]string{"bank_account_number": "110-123-456789"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","bank_account_number":"110123456789"}}}`,
		`{"recipient":{"bank_name":"Shinhan Bank","currency":"KRW","country_iso3":"KOR","first_name":"Minjun","last_name":"Kim"},"sender":` + senderCommon + `}`},
	{"Kenya",
		bank.Account{Country: "KEN", Currency: "KES", BankName: "Equity Bank", FirstName: "Wanjiru", LastName: "Kamau", Values: map[string]string{"bank_account_number": "0123456789012"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","bank_account_number":"0123456789012"}}}`,
		`{"recipient":{"bank_name":"Equity Bank","currency":"KES","country_iso3":"KEN","first_name":"Wanjiru","last_name":"Kamau"},"sender":` + senderCommon + `}`},
}

// bankWallets holds every currency the bank cases pay in.
func bankWallets() map[string]int64 {
	w := map[string]int64{}
	for _, c := range bank.Countries() {
		for _, cur := range c.Currencies {
			w[strings.ToLower(cur)] = 100_000_000
		}
	}
	return w
}

// wire sits between the client and the sandbox and keeps every request body
// exactly as it crossed the network: what the provider receives.
type wire struct {
	mu     sync.Mutex
	bodies map[string][][]byte // path -> bodies
}

// startBank runs a sandbox with every bank currency's wallet, a webhook
// receiver, and a client whose requests pass through a wire.
func startBank(t *testing.T) (*sandbox.Server, *sg.Client, *receiver, *wire) {
	t.Helper()
	srv, _, rc := start(t, sandbox.Config{Wallets: bankWallets()})
	w := &wire{bodies: map[string][][]byte{}}
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.bodies[r.URL.Path] = append(w.bodies[r.URL.Path], body)
		w.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		srv.Sandbox.ServeHTTP(rw, r)
	}))
	t.Cleanup(proxy.Close)
	cfg := srv.ClientConfig(srv.PartnerKey)
	cfg.BaseURL = proxy.URL
	return srv, sg.New(cfg), rc, w
}

// last returns the last body sent to method, decoded.
func (w *wire) last(t *testing.T, method string) map[string]any {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	bs := w.bodies["/api/v1/"+method]
	if len(bs) == 0 {
		t.Fatalf("no %s request went out", method)
	}
	var m map[string]any
	if err := json.Unmarshal(bs[len(bs)-1], &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad expected JSON %s: %v", s, err)
	}
	return v
}

// bankRequest checks an account as the console would and builds the
// session/init/payout request for it.
func bankRequest(t *testing.T, a bank.Account, purpose string) sg.InitPayoutRequest {
	t.Helper()
	checked, bad := bank.Check(a, bank.DefaultBanks())
	if bad != nil {
		t.Fatalf("Check(%s): %v", a.Country, bad)
	}
	pm, pd, err := bank.Payout{Account: checked, Purpose: purpose, Sender: acme}.Request()
	if err != nil {
		t.Fatalf("Request(%s): %v", a.Country, err)
	}
	return sg.InitPayoutRequest{PaymentMethod: pm, ParticipantDetails: pd,
		AmountDetails: sg.AmountDetails{Amount: bankPayoutSize, Currency: strings.ToLower(checked.Currency)}}
}

// TestBankPayoutEveryCountry pays one bank account in every country the
// field tables cover, client to sandbox over HTTP: the provider receives
// exactly the JSON its country page asks for (purpose in global.description,
// each field where the page puts it), the payout goes through
// ready_to_confirm, confirm and payment_finished, and the wallet of its
// currency is debited. Replies and webhooks never carry the full account
// number or IBAN.
func TestBankPayoutEveryCountry(t *testing.T) {
	srv, c, rc, w := startBank(t)
	ctx := context.Background()
	covered := map[string]bool{}
	for _, tt := range bankCases {
		t.Run(tt.name, func(t *testing.T) {
			covered[tt.account.Country] = true
			req := bankRequest(t, tt.account, salaryCode)
			cur := req.AmountDetails.Currency
			before := srv.Balance(cur)

			s, err := c.InitPayout(ctx, req, "bank-"+tt.name)
			if err != nil {
				t.Fatalf("InitPayout: %v", err)
			}
			sent := w.last(t, "session/init/payout")
			if got, want := sent["payment_method"], decodeJSON(t, tt.method); !reflect.DeepEqual(got, want) {
				t.Errorf("payment_method sent:\n%s\nwant:\n%s", mustJSON(got), tt.method)
			}
			if got, want := sent["participant_details"], decodeJSON(t, tt.people); !reflect.DeepEqual(got, want) {
				t.Errorf("participant_details sent:\n%s\nwant:\n%s", mustJSON(got), tt.people)
			}
			if got, want := sent["amount_details"], decodeJSON(t, `{"amount":250000,"currency":"`+cur+`"}`); !reflect.DeepEqual(got, want) {
				t.Errorf("amount_details sent: %v", got)
			}

			ready := rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)
			if p := ready.Session.Payout(); p.Status != sg.PaymentPending || p.PaymentMethod.Type != sg.MethodBankAccount ||
				p.PaymentMethod.BankAccount.Global.Description != salaryCode {
				t.Errorf("ready_to_confirm payout: %+v", p)
			}
			if _, err := c.Confirm(ctx, s.ID, "confirm-"+tt.name); err != nil {
				t.Fatalf("Confirm: %v", err)
			}
			done := rc.waitFor(t, s.ID, sg.WebhookPaymentFinished, 1)
			if p := done.Session.Payout(); done.Session.Status != sg.SessionAccepted || p.Status != sg.PaymentSucceeded {
				t.Errorf("payment_finished: session %s, payout %+v", done.Session.Status, p)
			}
			if got := srv.Balance(cur); got != before-bankPayoutSize {
				t.Errorf("%s wallet = %d, want %d", cur, got, before-bankPayoutSize)
			}

			// Only masked identifiers come back.
			g := req.PaymentMethod.BankAccount.Global
			for _, raw := range rc.rawFor(s.ID) {
				var hook struct {
					Session struct {
						Payments []struct{ PaymentMethod json.RawMessage }
					}
				}
				if err := json.Unmarshal(raw, &hook); err != nil || len(hook.Session.Payments) != 1 {
					t.Fatalf("webhook %s: %v", raw, err)
				}
				for _, secret := range []string{g.IBAN, g.AccountNumber, g.BankAccountNumber} {
					if len(secret) > 4 && bytes.Contains(hook.Session.Payments[0].PaymentMethod, []byte(secret)) {
						t.Errorf("a webhook carries the full account identifier: %s", hook.Session.Payments[0].PaymentMethod)
					}
				}
			}
		})
	}
	for _, country := range bank.Countries() {
		if !covered[country.Code] {
			t.Errorf("no bank case for %s", country.Code)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// rawFor returns the raw bodies of the webhooks accepted for a session.
func (r *receiver) rawFor(sessionID string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	for i, wh := range r.hooks {
		if wh.Session.ID == sessionID {
			out = append(out, r.raw[i])
		}
	}
	return out
}

// TestBankPayoutCreateThenStart: a bank account given to session/create and
// its recipient and sender given to session/start/payout are checked
// together when the payout starts.
func TestBankPayoutCreateThenStart(t *testing.T) {
	srv, c, rc, _ := startBank(t)
	ctx := context.Background()
	req := bankRequest(t, bankCases[0].account, salaryCode)
	created, err := c.CreateSession(ctx, sg.CreateSessionRequest{PaymentMethod: &req.PaymentMethod, AmountDetails: &req.AmountDetails}, "")
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	// Without the recipient the payout cannot start: the country is unknown.
	_, err = c.StartPayout(ctx, sg.StartPayoutRequest{SessionID: created.ID}, "")
	assertRefused(t, err, "participant_details.recipient is required")
	started, err := c.StartPayout(ctx, sg.StartPayoutRequest{SessionID: created.ID, ParticipantDetails: req.ParticipantDetails}, "")
	if err != nil {
		t.Fatalf("StartPayout: %v", err)
	}
	rc.waitFor(t, started.ID, sg.WebhookReadyToConfirm, 1)
	if p := started.Payout(); p == nil || p.PaymentMethod.BankAccount == nil || p.PaymentMethod.BankAccount.Global.AccountNumber != "••••9911" {
		t.Errorf("started payout: %+v", p)
	}
	if srv.Balance("gbp") != 100_000_000 {
		t.Error("a payout that is not confirmed moved money")
	}
}

// TestBankPayoutRefusals: the sandbox refuses, with invalid_request and a
// description naming the field, a missing or unknown purpose, a missing
// country field, a bad IBAN checksum and an unsupported bank; nothing is
// started and no money moves.
func TestBankPayoutRefusals(t *testing.T) {
	srv, c, _, _ := startBank(t)
	ukSort, ukIBAN, usa := bankCases[0].account, bankCases[1].account, bankCases[4].account
	global := func(r *sg.InitPayoutRequest) *sg.BankAccountGlobal { return r.PaymentMethod.BankAccount.Global }
	tests := []struct {
		name    string
		account bank.Account
		edit    func(*sg.InitPayoutRequest)
		want    string
	}{
		{"missing purpose", ukSort, func(r *sg.InitPayoutRequest) { global(r).Description = "" },
			"payment_method.bank_account.global.description is required"},
		{"unknown purpose code", ukSort, func(r *sg.InitPayoutRequest) { global(r).Description = "WAGES" },
			"payment_method.bank_account.global.description is not one of the remittance purpose codes"},
		{"purpose in words instead of its code", ukSort, func(r *sg.InitPayoutRequest) { global(r).Description = "Payment of salary" },
			"payment_method.bank_account.global.description is not one of the remittance purpose codes"},
		{"bad IBAN checksum", ukIBAN, func(r *sg.InitPayoutRequest) { global(r).IBAN = "GB29NWBK60161331926891" },
			"payment_method.bank_account.global.iban: The IBAN's check digits do not match"},
		{"unsupported bank", ukSort, func(r *sg.InitPayoutRequest) { r.ParticipantDetails.Recipient.BankName = "Bank of Nowhere" },
			"participant_details.recipient.bank_name: Choose one of the banks the provider supports in United Kingdom"},
		{"missing sort code", ukSort, func(r *sg.InitPayoutRequest) { global(r).SortCode = "" },
			"payment_method.bank_account.global.sort_code"},
		{"missing UK postcode", ukSort, func(r *sg.InitPayoutRequest) { r.ParticipantDetails.Recipient.PostalCode = "" },
			"participant_details.recipient.postal_code"},
		{"missing US state", usa, func(r *sg.InitPayoutRequest) { r.ParticipantDetails.Recipient.State = "" },
			"participant_details.recipient.state"},
		{"missing US account type", usa, func(r *sg.InitPayoutRequest) { global(r).AccountType = "" },
			"payment_method.bank_account.global.account_type: Choose the account type"},
		{"no sender", ukSort, func(r *sg.InitPayoutRequest) { r.ParticipantDetails.Sender = nil },
			"participant_details.sender is required"},
		{"wallet of another currency", ukSort, func(r *sg.InitPayoutRequest) { r.AmountDetails.Currency = "usd" },
			"amount_details.currency: must be the recipient's currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := bankRequest(t, tt.account, salaryCode)
			tt.edit(&req)
			_, err := c.InitPayout(context.Background(), req, "")
			assertRefused(t, err, tt.want)
		})
	}
	for _, call := range srv.Calls() {
		if call.SessionID != "" {
			t.Errorf("a refused payout left session %s", call.SessionID)
		}
	}
	if srv.Balance("gbp") != 100_000_000 || srv.Balance("usd") != 100_000_000 {
		t.Error("a refused payout moved money")
	}
}

func assertRefused(t *testing.T, err error, want string) {
	t.Helper()
	var pe *sg.Error
	if !errors.As(err, &pe) || pe.HTTPStatus != http.StatusBadRequest || pe.Code != sg.CodeInvalidRequest || !strings.Contains(pe.Description, want) {
		t.Errorf("err = %v, want 400 invalid_request saying %q", err, want)
	}
}

// TestBankPayoutReturned: a payout to a test account ending 0000 (number or
// IBAN) succeeds, and then the receiving bank sends it back. As with the
// real provider nothing announces it (no webhook, session/status still says
// succeeded); the sandbox lists it with its date and reason, at
// /sandbox/returns, and the money is back in the wallet.
func TestBankPayoutReturned(t *testing.T) {
	srv, c, rc, _ := startBank(t)
	ctx := context.Background()
	returning := []bank.Account{bankCases[0].account, bankCases[1].account}
	returning[0].Values = map[string]string{"sort_code": "20-00-00", "account_number": "12340000", "address_line": "1 Churchill Place", "city": "London", "postal_code": "E14 5HP"}
	returning[1].Values = map[string]string{"iban": "GB45 NWBK 6016 1312 3400 00", "swift_bic_code": "NWBKGB2L", "address_line": "250 Bishopsgate", "city": "London", "postal_code": "EC2M 4AA"}
	wantAccounts := []string{"Barclays ••••0000", "GB•• •••• •••• 3400 00"}
	var ids []string
	for i, a := range returning {
		s, err := c.InitPayout(ctx, bankRequest(t, a, salaryCode), "")
		if err != nil {
			t.Fatal(err)
		}
		rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)
		if _, err := c.Confirm(ctx, s.ID, ""); err != nil {
			t.Fatal(err)
		}
		done := rc.waitFor(t, s.ID, sg.WebhookPaymentFinished, 1)
		if done.Session.Payout().Status != sg.PaymentSucceeded {
			t.Fatalf("payout %d: %+v", i, done.Session.Payout())
		}
		ids = append(ids, done.Session.Payout().ID)
		if status, err := c.Status(ctx, s.ID); err != nil || status.Payout().Status != sg.PaymentSucceeded {
			t.Errorf("session/status after the return: %+v, %v; want succeeded, as the provider says nothing", status, err)
		}
		if n := len(rc.rawFor(s.ID)); n != 2 {
			t.Errorf("%d webhooks for the session, want ready_to_confirm and payment_finished only", n)
		}
	}
	// A payout to an ordinary account is not returned.
	s, err := c.InitPayout(ctx, bankRequest(t, bankCases[0].account, salaryCode), "")
	if err != nil {
		t.Fatal(err)
	}
	rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)
	if _, err := c.Confirm(ctx, s.ID, ""); err != nil {
		t.Fatal(err)
	}
	rc.waitFor(t, s.ID, sg.WebhookPaymentFinished, 1)

	rs := srv.Returns()
	if len(rs) != 2 {
		t.Fatalf("returns = %+v, want 2", rs)
	}
	for i, r := range rs {
		if r.PayoutID != ids[i] || r.Amount != (sg.AmountDetails{Amount: bankPayoutSize, Currency: "gbp"}) ||
			r.Account != wantAccounts[i] || r.Reason != sandbox.ReturnReason || r.Time.IsZero() {
			t.Errorf("return %d = %+v", i, r)
		}
	}
	if got, want := srv.Balance("gbp"), int64(100_000_000-bankPayoutSize); got != want {
		t.Errorf("gbp wallet = %d, want %d: returned payouts come back to the wallet", got, want)
	}

	resp, err := http.Get(srv.URL + "/sandbox/returns?format=json")
	if err != nil {
		t.Fatal(err)
	}
	var listed struct{ Returns []sandbox.Return }
	err = json.NewDecoder(resp.Body).Decode(&listed)
	resp.Body.Close()
	if err != nil || len(listed.Returns) != 2 || listed.Returns[1].PayoutID != ids[1] || listed.Returns[1].Reason != sandbox.ReturnReason {
		t.Errorf("/sandbox/returns?format=json = %+v, %v", listed, err)
	}
	resp, err = http.Get(srv.URL + "/sandbox/returns")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!bytes.Contains(page, []byte(ids[0])) || !bytes.Contains(page, []byte("GB•• •••• •••• 3400 00")) {
		t.Errorf("/sandbox/returns = %d %s", resp.StatusCode, page)
	}
	if resp, err := http.Post(srv.URL+"/sandbox/returns", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /sandbox/returns = %v, %v; want 405", resp, err)
	}
}
