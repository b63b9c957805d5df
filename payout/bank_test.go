package payout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"countersign/fail"
	"countersign/smartglocal"
	"countersign/smartglocal/bank"
	"countersign/smartglocal/sandbox"
	"countersign/store"
)

// acme is the sender company of the bank-account payouts in these tests.
var acme = bank.Sender{CompanyName: "Acme Payroll Ltd", RegistrationNumber: "09876543", CountryISO3: "GBR", Code: "09876543",
	AddressLine: "10 Finsbury Square", City: "London", PostalCode: "EC2A 1AF"}

// The sender as each country's page lists it, written out by hand.
const (
	senderCommon  = `{"company_name":"Acme Payroll Ltd","registration_number":"09876543","country_iso3":"GBR","code":"09876543"}`
	senderStreet  = `{"company_name":"Acme Payroll Ltd","registration_number":"09876543","country_iso3":"GBR","code":"09876543","address_line":"10 Finsbury Square"}`
	senderAddress = `{"company_name":"Acme Payroll Ltd","registration_number":"09876543","country_iso3":"GBR","code":"09876543","address_line":"10 Finsbury Square","city":"London"}`
	senderForUSA  = `{"company_name":"Acme Payroll Ltd","registration_number":"09876543","country_iso3":"GBR","code":"09876543","address_line":"10 Finsbury Square","city":"London","postal_code":"EC2A 1AF"}`
)

// bankCases are one payout for every way of naming an account in every
// country of the field tables (the United Kingdom's sort code and IBAN, and
// the other schemes of Czechia and Israel too): the account as a maker types
// it, and the exact payment_method and participant_details the provider
// must receive in session/start/payout.
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
	{"Czechia, IBAN",
		bank.Account{Country: "CZE", Currency: "CZK", Scheme: "iban", BankName: "Komerční banka", FirstName: "Jan", LastName: "Novák",
			Values: map[string]string{"iban": "CZ65 0800 0000 1920 0014 5399", "swift_bic_code": "GIBACZPX"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","iban":"CZ6508000000192000145399","swift_bic_code":"GIBACZPX"}}}`,
		`{"recipient":{"bank_name":"Komerční banka","currency":"CZK","country_iso3":"CZE","first_name":"Jan","last_name":"Novák"},"sender":` + senderCommon + `}`},
	{"Czechia, account and bank code",
		bank.Account{Country: "CZE", Currency: "CZK", Scheme: "account", BankName: "Česká spořitelna", FirstName: "Jan", LastName: "Novák",
			Values: map[string]string{"bank_account_number": "19-2000145399", "branch_number": "0800"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","bank_account_number":"192000145399","branch_number":"0800"}}}`,
		`{"recipient":{"bank_name":"Česká spořitelna","currency":"CZK","country_iso3":"CZE","first_name":"Jan","last_name":"Novák"},"sender":` + senderCommon + `}`},
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
	{"Israel, account and branch",
		bank.Account{Country: "ISR", Currency: "ILS", Scheme: "account", BankName: "Bank Leumi", FirstName: "Dana", LastName: "Levi",
			Values: map[string]string{"bank_account_number": "12345678", "branch_number": "800"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","bank_account_number":"12345678","branch_number":"800"}}}`,
		`{"recipient":{"bank_name":"Bank Leumi","currency":"ILS","country_iso3":"ISR","first_name":"Dana","last_name":"Levi"},"sender":` + senderCommon + `}`},
	{"Israel, IBAN",
		bank.Account{Country: "ISR", Currency: "ILS", Scheme: "iban", BankName: "Bank Hapoalim", FirstName: "Dana", LastName: "Levi",
			Values: map[string]string{"iban": "IL62 0108 0000 0009 9999 999"}},
		`{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","iban":"IL620108000000099999999"}}}`,
		`{"recipient":{"bank_name":"Bank Hapoalim","currency":"ILS","country_iso3":"ISR","first_name":"Dana","last_name":"Levi"},"sender":` + senderCommon + `}`},
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

// bankWallets funds every currency of the field tables in the sandbox.
func bankWallets() map[string]int64 {
	w := map[string]int64{}
	for _, c := range bank.Countries() {
		for _, cur := range c.Currencies {
			w[strings.ToLower(cur)] = 100_000_000_000
		}
	}
	return w
}

// newBankEnv is a console whose sandbox holds every bank currency, whose
// requests are kept on the wire, whose admins set the sender company, and
// whose policy lets one approver pay up to 10,000.00 in every bank currency
// (a currency with no threshold would need two).
func newBankEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	o.wire = true
	o.sandbox.Wallets = bankWallets()
	e := newEnv(t, o)
	e.setSender(acme)
	e.setPolicy(bankPolicy())
	return e
}

// bankPolicy is one approver below 10,000.00 (major units) in every bank currency.
func bankPolicy() Policy {
	p := Policy{Thresholds: map[string]int64{}}
	for cur := range bankWallets() {
		cur = strings.ToUpper(cur)
		exp, _ := Exponent(cur)
		t := int64(10000)
		for range exp {
			t *= 10
		}
		p.Thresholds[cur] = t
	}
	return p
}

// setSender stores the sender company, checked as the admin service checks
// it, as an approved admin change would.
func (e *env) setSender(typed bank.Sender) {
	e.t.Helper()
	snd, bad := bank.CheckSender(typed)
	if bad != nil {
		e.t.Fatalf("sender %+v: %v", typed, bad)
	}
	v, err := FormatSender(snd)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.db.InTx(ctx, func(tx *store.Tx) error { return tx.SetSetting(ctx, SenderSetting, v) }); err != nil {
		e.t.Fatal(err)
	}
}

// recipient adds a recipient as the maker.
func (e *env) recipient(name string) *store.Recipient {
	e.t.Helper()
	r, err := e.s().CreateRecipient(context.Background(), e.maker, RecipientDraft{FullName: name})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// verifiedAccount saves a for a new recipient as the maker, and has the first
// approver verify it.
func (e *env) verifiedAccount(a bank.Account) *store.BankAccount {
	e.t.Helper()
	ctx := context.Background()
	acc, err := e.s().AddAccount(ctx, e.maker, e.recipient(a.FirstName+" "+a.LastName).ID, a)
	if err != nil {
		e.t.Fatalf("AddAccount(%s): %v", a.Country, err)
	}
	if err := e.s().VerifyAccount(ctx, e.approvers[0], acc.ID); err != nil {
		e.t.Fatalf("VerifyAccount: %v", err)
	}
	return acc
}

func bankDraft(acc *store.BankAccount, amount, purpose string) Draft {
	return Draft{Method: MethodBankAccount, BankAccountID: acc.ID, Amount: amount, Currency: acc.Currency, Purpose: purpose}
}

// lastSent decodes the last body sent to method.
func (e *env) lastSent(method string) map[string]any {
	e.t.Helper()
	bodies := e.wire.sent(method)
	if len(bodies) == 0 {
		e.t.Fatalf("no %s request reached the provider", method)
	}
	var m map[string]any
	if err := json.Unmarshal(bodies[len(bodies)-1], &m); err != nil {
		e.t.Fatal(err)
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

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBankPayoutEveryCountry pays a bank account in every country and scheme
// of the field tables through the whole workflow, over HTTP to the sandbox:
// the maker saves the account, an approver verifies it, the maker prepares
// the payout with the purpose "Payment of salary", another approver approves
// it, and it succeeds. The provider receives exactly the JSON its country
// page asks for: the purpose code in global.description, each field where
// the page puts it, the holder and the sender company in participant_details.
func TestBankPayoutEveryCountry(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	covered := map[string]bool{}
	for _, tt := range bankCases {
		t.Run(tt.name, func(t *testing.T) {
			covered[tt.account.Country+"/"+tt.account.Scheme] = true
			acc := e.verifiedAccount(tt.account)
			p := e.pending(bankDraft(acc, "2500", "SALARY_PAYMENT"))
			if p.Method != MethodBankAccount || p.BankAccountID != acc.ID || p.Purpose != "SALARY_PAYMENT" || p.AccountCountry != acc.Country ||
				p.FullName != acc.Holder() || p.AccountLabel != acc.Masked || p.CardLast4 != "" {
				t.Errorf("payout as recorded: %+v", p)
			}

			created := e.lastSent("session/create")
			if created["participant_details"] != nil || created["payment_method"] != nil {
				t.Errorf("session/create carries the destination: %s", mustJSON(created))
			}
			wantAmount := fmt.Sprintf(`{"amount":%d,"currency":"%s"}`, p.Amount, strings.ToLower(acc.Currency))
			if got := created["amount_details"]; !reflect.DeepEqual(got, decodeJSON(t, wantAmount)) {
				t.Errorf("amount_details sent: %s, want %s", mustJSON(got), wantAmount)
			}
			started := e.lastSent("session/start/payout")
			if got := started["payment_method"]; !reflect.DeepEqual(got, decodeJSON(t, tt.method)) {
				t.Errorf("payment_method sent:\n%s\nwant:\n%s", mustJSON(got), tt.method)
			}
			if got := started["participant_details"]; !reflect.DeepEqual(got, decodeJSON(t, tt.people)) {
				t.Errorf("participant_details sent:\n%s\nwant:\n%s", mustJSON(got), tt.people)
			}
			if started["session_id"] != p.ProviderSessionID || len(started) != 3 {
				t.Errorf("session/start/payout carries %v; want session_id, payment_method and participant_details only", mustJSON(started))
			}

			e.approve(e.approvers[1], p)
			e.waitState(p.ID, StateSucceeded)
		})
	}
	for _, c := range bank.Countries() {
		schemes := []string{""}
		if len(c.Schemes) > 0 {
			schemes = nil
			for _, s := range c.Schemes {
				schemes = append(schemes, s.ID)
			}
		}
		for _, s := range schemes {
			if !covered[c.Code+"/"+s] {
				t.Errorf("no bank case for %s, scheme %q", c.Name, s)
			}
		}
	}
}

// TestBankPayoutRefusedOffline: a missing purpose, an unknown purpose code, a
// bad IBAN checksum and an unsupported bank are refused by the console, with
// a message beside the field, before anything reaches the provider. The
// same mistakes, sent anyway in the request the console builds, are refused
// by the provider (the sandbox) with invalid_request.
func TestBankPayoutRefusedOffline(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	ctx := context.Background()
	ukIBAN := bankCases[1].account
	acc := e.verifiedAccount(ukIBAN)
	r := e.recipient("Jane Smith")

	fieldErr := func(err error, field string) string {
		var fe *fail.FieldError
		if !errors.As(err, &fe) || fe.Fields[field] == "" {
			t.Errorf("err = %v; want a message for %s", err, field)
			return ""
		}
		return fe.Fields[field]
	}
	fieldErr(e.submitErr(bankDraft(acc, "100.00", "")), "purpose")
	if msg := fieldErr(e.submitErr(bankDraft(acc, "100.00", "WAGES")), "purpose"); msg != "Choose one of the provider's purposes" {
		t.Errorf("unknown code: %q", msg)
	}
	fieldErr(e.submitErr(bankDraft(acc, "100.00", "Payment of salary")), "purpose") // the words are not the code

	badIBAN := ukIBAN
	badIBAN.Values = map[string]string{"iban": "GB29 NWBK 6016 1331 9268 91", "swift_bic_code": "NWBKGB2L",
		"address_line": "250 Bishopsgate", "city": "London", "postal_code": "EC2M 4AA"}
	_, err := e.s().AddAccount(ctx, e.maker, r.ID, badIBAN)
	if msg := fieldErr(err, "iban"); !strings.Contains(msg, "check digits") {
		t.Errorf("bad IBAN: %q", msg)
	}
	unsupported := bankCases[0].account
	unsupported.BankName = "Bank of Nowhere"
	_, err = e.s().AddAccount(ctx, e.maker, r.ID, unsupported)
	if msg := fieldErr(err, "bank_name"); !strings.Contains(msg, "banks the provider supports") {
		t.Errorf("unsupported bank: %q", msg)
	}
	for _, m := range []string{"session/create", "session/start/payout", "session/init/payout"} {
		if n := e.sb.CallCount(m); n != 0 {
			t.Errorf("%d %s calls reached the provider", n, m)
		}
	}

	// A good payout, to learn the exact request; then each mistake in it.
	e.pending(bankDraft(acc, "100.00", "SALARY_PAYMENT"))
	var good smartglocal.StartPayoutRequest
	if err := json.Unmarshal(e.wire.sent("session/start/payout")[0], &good); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(pm *smartglocal.BankAccountGlobal, r *smartglocal.Participant)
		want string
	}{
		{"missing purpose", func(g *smartglocal.BankAccountGlobal, _ *smartglocal.Participant) { g.Description = "" },
			"payment_method.bank_account.global.description is required"},
		{"unknown code", func(g *smartglocal.BankAccountGlobal, _ *smartglocal.Participant) { g.Description = "WAGES" },
			"payment_method.bank_account.global.description is not one of the remittance purpose codes"},
		{"bad IBAN checksum", func(g *smartglocal.BankAccountGlobal, _ *smartglocal.Participant) { g.IBAN = "GB29NWBK60161331926891" },
			"payment_method.bank_account.global.iban: The IBAN's check digits do not match"},
		{"unsupported bank", func(_ *smartglocal.BankAccountGlobal, r *smartglocal.Participant) { r.BankName = "Bank of Nowhere" },
			"participant_details.recipient.bank_name"},
	} {
		var req smartglocal.InitPayoutRequest
		raw, _ := json.Marshal(good) // a deep copy
		json.Unmarshal(raw, &req)
		req.AmountDetails = smartglocal.AmountDetails{Amount: 10000, Currency: "gbp"}
		tc.edit(req.PaymentMethod.BankAccount.Global, req.ParticipantDetails.Recipient)
		_, err := e.client.InitPayout(ctx, req, "")
		var pe *smartglocal.Error
		if !errors.As(err, &pe) || pe.HTTPStatus != http.StatusBadRequest || pe.Code != smartglocal.CodeInvalidRequest || !strings.Contains(pe.Description, tc.want) {
			t.Errorf("%s, sent to the provider: %v; want invalid_request saying %q", tc.name, err, tc.want)
		}
	}
}

// submitErr submits d as the maker and returns the refusal; a payout that
// was recorded fails the test.
func (e *env) submitErr(d Draft) error {
	e.t.Helper()
	p, err := e.s().Submit(context.Background(), e.maker, d)
	if err == nil {
		e.t.Errorf("payout #%d was recorded; want a refusal", p.ID)
	}
	return err
}

// TestBankAccountFourEyes: the person who saved a bank account never
// verifies it, whatever roles they hold (the maker here holds every role),
// and an account nobody else verified cannot be paid. The maker of a payout
// never approves it. Refusals are audited.
func TestBankAccountFourEyes(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	ctx := context.Background()
	r := e.recipient("Jane Smith")
	acc, err := e.s().AddAccount(ctx, e.maker, r.ID, bankCases[0].account)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Masked != "Barclays ••••9911" || acc.Verified() {
		t.Errorf("saved account: %+v", acc)
	}
	if _, err := e.s().AddAccount(ctx, e.approvers[0], r.ID, bankCases[0].account); !errors.Is(err, ErrNotMaker) {
		t.Errorf("AddAccount by an approver: %v; want ErrNotMaker", err)
	}
	var fe *fail.FieldError
	if _, err := e.s().AddAccount(ctx, e.maker, r.ID, bankCases[0].account); !errors.As(err, &fe) || fe.Fields["account"] == "" {
		t.Errorf("the same account twice: %v; want a field error", err)
	}
	if _, err := e.s().Submit(ctx, e.maker, bankDraft(acc, "10.00", "SALARY_PAYMENT")); !errors.As(err, &fe) || !strings.Contains(fe.Fields["bank_account_id"], "second person") {
		t.Errorf("payout to an unverified account: %v", err)
	}
	if err := e.s().VerifyAccount(ctx, e.maker, acc.ID); !errors.Is(err, ErrOwnAccount) {
		t.Errorf("the adder verifies: %v; want ErrOwnAccount", err)
	}
	if err := e.s().VerifyAccount(ctx, e.admin, acc.ID); !errors.Is(err, errCardNotAllowed) {
		t.Errorf("an admin verifies: %v; want a refusal", err)
	}
	if n := len(e.audit(store.AuditFilter{ObjectType: "bank_account", ObjectID: fmt.Sprint(acc.ID), Action: "bank_account.verify"})); n != 2 {
		t.Errorf("%d audit entries for the refused verifications, want 2 (denied)", n)
	}
	if err := e.s().VerifyAccount(ctx, e.approvers[0], acc.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s().VerifyAccount(ctx, e.approvers[1], acc.ID); !errors.Is(err, ErrAccountChanged) {
		t.Errorf("verify twice: %v; want ErrAccountChanged", err)
	}
	entries := e.audit(store.AuditFilter{ObjectType: "bank_account", ObjectID: fmt.Sprint(acc.ID), Ascending: true})
	var got []string
	for _, a := range entries {
		got = append(got, a.Action+" "+a.Outcome+" "+a.Actor)
		if strings.Contains(a.Detail, "55779911") {
			t.Errorf("the audit log holds the full account number: %q", a.Detail)
		}
	}
	want := []string{"bank_account.add ok mia@example.com", "bank_account.verify denied mia@example.com", "bank_account.verify denied admin@example.com",
		"bank_account.verify ok approver1@example.com"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("account audit trail:\n%v\nwant\n%v", got, want)
	}

	// The payout: its maker (an approver too) cannot approve it.
	p := e.pending(bankDraft(acc, "10.00", "SALARY_PAYMENT"))
	if _, err := e.s().Approve(ctx, e.maker, p.ID, p.Version); !errors.Is(err, ErrOwnPayout) {
		t.Errorf("maker approves own bank payout: %v; want ErrOwnPayout", err)
	}
	if n := e.sb.CallCount("session/confirm"); n != 0 {
		t.Fatalf("self-approval reached the provider: %d confirms", n)
	}
	e.approve(e.approvers[1], p)
	e.waitState(p.ID, StateSucceeded)

	// A removed account is paid no more; an account of someone else is not theirs.
	if err := e.s().RemoveAccount(ctx, e.approvers[0], acc.ID); err != nil {
		t.Fatal(err)
	}
	d := bankDraft(acc, "10.00", "SALARY_PAYMENT")
	d.ConfirmDuplicate = true
	if _, err := e.s().Submit(ctx, e.maker, d); !errors.As(err, &fe) || !strings.Contains(fe.Fields["bank_account_id"], "removed") {
		t.Errorf("payout to a removed account: %v", err)
	}
	other := e.verifiedAccount(bankCases[1].account)
	d = bankDraft(other, "10.00", "SALARY_PAYMENT")
	d.RecipientID = r.ID
	if _, err := e.s().Submit(ctx, e.maker, d); !errors.As(err, &fe) || !strings.Contains(fe.Fields["bank_account_id"], "another recipient") {
		t.Errorf("payout to another recipient's account: %v", err)
	}
	if _, err := e.s().RecipientAccount(ctx, r.ID, other.ID); !errors.Is(err, ErrAccountNotFound) {
		t.Errorf("RecipientAccount of another recipient: %v", err)
	}
}

// TestBankPayoutChecks: what a bank-account payout needs besides the account:
// its own currency, the sender company (and what the country asks of it),
// a second approval above the currency's threshold like any payout, and the
// duplicate warning for the same account and amount. A card payout keeps no
// purpose.
func TestBankPayoutChecks(t *testing.T) {
	e := newEnv(t, envOptions{wire: true, sandbox: sandbox.Config{Wallets: bankWallets()}})
	ctx := context.Background()
	uk := e.verifiedAccount(bankCases[0].account)
	us := e.verifiedAccount(bankCases[5].account)
	var fe *fail.FieldError

	if _, err := e.s().Submit(ctx, e.maker, bankDraft(uk, "10.00", "SALARY_PAYMENT")); !errors.As(err, &fe) || fe.Fields["sender"] != ErrNoSender.Message {
		t.Errorf("no sender set: %v; want %q", err, ErrNoSender.Message)
	}
	// Who may set the sender, and how, is the admin service's rule (a change
	// a second admin approves): see admin's TestSenderIsAChangeForASecondAdmin.
	// Enough for the United Kingdom, not for the USA, whose page asks for the sender's address.
	e.setSender(bank.Sender{CompanyName: "Acme Payroll Ltd", RegistrationNumber: "09876543", CountryISO3: "gbr", Code: "09876543"})
	if snd, ok, err := e.s().Sender(ctx); err != nil || !ok || snd.CountryISO3 != "GBR" {
		t.Errorf("Sender() = %+v, %v, %v", snd, ok, err)
	}
	if _, err := e.s().Submit(ctx, e.maker, bankDraft(us, "10.00", "SALARY_PAYMENT")); !errors.As(err, &fe) || !strings.Contains(fe.Fields["sender"], "United States need the sender's street address") {
		t.Errorf("USA payout without the sender's address: %v", err)
	}
	if n := e.sb.CallCount("session/create"); n != 0 {
		t.Errorf("%d refused payouts reached the provider", n)
	}

	d := bankDraft(uk, "10.00", "SALARY_PAYMENT")
	d.Currency = "EUR"
	if _, err := e.s().Submit(ctx, e.maker, d); !errors.As(err, &fe) || fe.Fields["currency"] != "Payouts to this account are in GBP" {
		t.Errorf("a GBP account paid in EUR: %v", err)
	}

	// Thresholds are per currency, whatever the method.
	e.setPolicy(Policy{Thresholds: map[string]int64{"GBP": 100000}})
	p := e.pending(bankDraft(uk, "1,500.00", "SALARY_PAYMENT"))
	if got := e.approve(e.approvers[0], p); State(got.State) != StatePendingApproval {
		t.Errorf("after one approval of 1,500.00 GBP: %s; want a second approval", got.State)
	}
	if _, err := e.s().Submit(ctx, e.maker, bankDraft(uk, "1,500.00", "SALARY_PAYMENT")); !errors.As(err, new(*DuplicateError)) {
		t.Errorf("the same account and amount again: %v; want the duplicate warning", err)
	}

	// Cards take no purpose: one sent along is not kept.
	cd := draft(visa)
	cd.Purpose = "SALARY_PAYMENT"
	cp := e.submit(cd)
	if cp.Purpose != "" || cp.Method != MethodCard {
		t.Errorf("card payout: method %q, purpose %q", cp.Method, cp.Purpose)
	}
	if strings.Contains(string(e.wire.sent("session/start/payout")[1]), "description") {
		t.Error("a card payout sent a purpose")
	}
}

// TestBankNotSupportedByProvider: the console's list of banks (the
// operator's file) names a bank the provider does not take. The console lets
// the account through; the provider refuses the payout at start, and the
// payout is rejected with the provider's reason, moving no money.
func TestBankNotSupportedByProvider(t *testing.T) {
	banks, err := bank.ParseBanks(strings.NewReader("GBR Barclays\nGBR Bank of Nowhere\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := newBankEnv(t, envOptions{banks: banks})
	a := bankCases[0].account
	a.BankName = "Bank of Nowhere"
	acc := e.verifiedAccount(a)
	p := e.submit(bankDraft(acc, "10.00", "SALARY_PAYMENT"))
	if State(p.State) != StateRejected || p.FailureCode != smartglocal.CodeInvalidRequest || !strings.Contains(p.FailureReason, "participant_details.recipient.bank_name") {
		t.Errorf("payout to a bank the provider does not take: %s, %s %q", p.State, p.FailureCode, p.FailureReason)
	}
	if got := e.sb.Balance("gbp"); got != 100_000_000_000 {
		t.Errorf("gbp wallet = %d: a refused payout moved money", got)
	}

	// The operator corrects the list: the saved account's bank is on it no
	// more, and the console refuses to pay it before asking the provider.
	e.cfg.Banks = bank.DefaultBanks()
	e.restart()
	creates := e.sb.CallCount("session/create")
	d := bankDraft(acc, "10.00", "SALARY_PAYMENT")
	d.ConfirmDuplicate = true
	var fe *fail.FieldError
	if _, err := e.s().Submit(context.Background(), e.maker, d); !errors.As(err, &fe) ||
		!strings.Contains(fe.Fields["bank_account_id"], "no longer lists Bank of Nowhere among the banks it pays in United Kingdom") {
		t.Errorf("payout to a bank no longer listed: %v", err)
	}
	if n := e.sb.CallCount("session/create"); n != creates {
		t.Errorf("a payout to a bank no longer listed reached the provider")
	}
}

// TestRecordReturn: a payout to a test account ending 0000 succeeds and the
// receiving bank sends it back; as with the real provider nothing announces
// it (the sandbox only lists it). An approver records the return with the
// date and a reason, once; the payout stays succeeded (states only move
// forward) and is marked returned, in the same transaction as its audit
// entry. The payout's maker cannot record it, nor can anyone for a card
// payout or a payout that did not succeed.
func TestRecordReturn(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	ctx := context.Background()
	a := bankCases[0].account
	a.Values = map[string]string{"sort_code": "20-00-00", "account_number": "12340000", "address_line": "1 Churchill Place", "city": "London", "postal_code": "E14 5HP"}
	acc := e.verifiedAccount(a)
	p := e.pending(bankDraft(acc, "250.00", "SALARY_PAYMENT"))
	if _, err := e.s().RecordReturn(ctx, e.approvers[0], p.ID, "Account closed", e.db.Now().Format("2006-01-02")); !errors.Is(err, ErrNotReturnable) {
		t.Errorf("return of a payout waiting for approval: %v; want ErrNotReturnable", err)
	}
	e.approve(e.approvers[1], p)
	p = e.waitState(p.ID, StateSucceeded)
	rs := e.sb.Returns()
	if len(rs) != 1 || rs[0].PayoutID != p.ProviderPayoutID {
		t.Fatalf("sandbox returns = %+v; want payout %s", rs, p.ProviderPayoutID)
	}
	today := e.db.Now().UTC().Format("2006-01-02")

	if _, err := e.s().RecordReturn(ctx, e.maker, p.ID, sandbox.ReturnReason, today); !errors.Is(err, ErrOwnPayoutReturn) {
		t.Errorf("the maker (an approver too) records the return: %v; want ErrOwnPayoutReturn", err)
	}
	var fe *fail.FieldError
	for _, tc := range []struct{ reason, on, field string }{
		{"", today, "return_reason"},
		{strings.Repeat("r", 501), today, "return_reason"},
		{"Account closed", "", "returned_on"},
		{"Account closed", "21/11/2026", "returned_on"},
		{"Account closed", e.db.Now().AddDate(0, 0, 2).Format("2006-01-02"), "returned_on"},
		{"Account closed", p.FinishedAt.AddDate(0, 0, -1).Format("2006-01-02"), "returned_on"},
	} {
		if _, err := e.s().RecordReturn(ctx, e.approvers[0], p.ID, tc.reason, tc.on); !errors.As(err, &fe) || fe.Fields[tc.field] == "" {
			t.Errorf("reason %.20q, date %q: %v; want a message for %s", tc.reason, tc.on, err, tc.field)
		}
	}
	if e.payout(p.ID).Returned() {
		t.Fatal("a refused return was recorded")
	}

	got, err := e.s().RecordReturn(ctx, e.approvers[0], p.ID, " "+sandbox.ReturnReason+" ", today)
	if err != nil {
		t.Fatal(err)
	}
	stored := e.payout(p.ID)
	if State(stored.State) != StateSucceeded || !stored.Returned() || stored.ReturnedBy != e.approvers[0].UserID ||
		stored.ReturnedOn != today || stored.ReturnReason != sandbox.ReturnReason || got.Version != stored.Version {
		t.Errorf("returned payout: %+v", stored)
	}
	if _, err := e.s().RecordReturn(ctx, e.approvers[1], p.ID, "again", today); !errors.Is(err, ErrAlreadyReturned) {
		t.Errorf("a second return: %v; want ErrAlreadyReturned", err)
	}
	if n := e.countAudit(p.ID, "payout.return", "ok"); n != 1 {
		t.Errorf("%d payout.return audit entries, want 1", n)
	}
	if n := e.countAudit(p.ID, "payout.return", "denied"); n != 3 {
		t.Errorf("%d denied payout.return entries, want 3 (not yet succeeded, the maker, the second return)", n)
	}

	// The provider still says succeeded: reconciling changes nothing.
	if err := e.s().ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if again := e.payout(p.ID); State(again.State) != StateSucceeded || !again.Returned() {
		t.Errorf("after reconciling: %s, returned %v", again.State, again.Returned())
	}

	// History and totals show it as returned.
	totals, err := e.db.PayoutTotals(ctx, store.PayoutFilter{Method: MethodBankAccount})
	if err != nil {
		t.Fatal(err)
	}
	if len(totals) != 1 || totals[0] != (store.Total{Currency: "GBP", State: string(StateSucceeded), Count: 1, Amount: 25000, ReturnedCount: 1, ReturnedAmount: 25000}) {
		t.Errorf("totals = %+v", totals)
	}
	rows, err := e.db.Payouts(ctx, store.PayoutFilter{Returned: store.OnlyReturned})
	if err != nil || len(rows) != 1 || rows[0].ID != p.ID {
		t.Errorf("returned payouts = %v, %v", rows, err)
	}

	// A card payout is never returned.
	cp := e.pending(draft(visa))
	e.approve(e.approvers[0], cp)
	e.waitState(cp.ID, StateSucceeded)
	if _, err := e.s().RecordReturn(ctx, e.approvers[1], cp.ID, "Account closed", today); !errors.Is(err, ErrNotReturnable) {
		t.Errorf("return of a card payout: %v; want ErrNotReturnable", err)
	}
	if _, err := e.s().RecordReturn(ctx, e.admin, p.ID, "x", today); !errors.Is(err, ErrCannotRecordReturn) {
		t.Errorf("an admin records a return: %v; want ErrCannotRecordReturn", err)
	}
}

// TestBankPayoutNotifications: the messages about a bank-account payout name
// the account masked, never in full; recording a return tells the maker.
func TestBankPayoutNotifications(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	tl := withNotify(e)
	ctx := context.Background()
	a := bankCases[0].account
	a.Values = map[string]string{"sort_code": "20-00-00", "account_number": "12340000", "address_line": "1 Churchill Place", "city": "London", "postal_code": "E14 5HP"}
	acc := e.verifiedAccount(a)
	p := e.pending(bankDraft(acc, "250.00", "SALARY_PAYMENT"))
	e.approve(e.approvers[0], p)
	e.waitState(p.ID, StateSucceeded)
	if _, err := e.s().RecordReturn(ctx, e.approvers[1], p.ID, "Account closed", e.db.Now().UTC().Format("2006-01-02")); err != nil {
		t.Fatal(err)
	}
	tl.send(t)
	mails, to := tl.mailsAbout(fmt.Sprintf("Payout #%d was returned by the receiving bank", p.ID))
	if len(mails) != 1 || !reflect.DeepEqual(to, []string{"mia@example.com"}) {
		t.Fatalf("return mails to %v", to)
	}
	if !strings.Contains(mails[0].Body, "Barclays ••••0000") || !strings.Contains(mails[0].Body, "Account closed") {
		t.Errorf("return mail:\n%s", mails[0].Body)
	}
	for _, m := range tl.smtp.Mails() {
		if strings.Contains(m.Body, "12340000") {
			t.Errorf("a mail names the full account number: %s", m.Subject)
		}
	}
	if tl.hooksAbout("Barclays ••••0000") < 3 {
		t.Errorf("the chat was not told about the queue, the success and the return with the masked account")
	}
}
