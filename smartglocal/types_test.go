package smartglocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const testPAN = "4242424242424242"

// TestCardNumberNeverFormatted: printing or logging any request that holds a
// card number, by any verb or handler, shows at most its last four digits.
func TestCardNumberNeverFormatted(t *testing.T) {
	pm := BankCardMethod(testPAN)
	amount := AmountDetails{Amount: 1000, Currency: "usd"}
	values := map[string]any{
		"BankCard":             *pm.Card.BankCard,
		"*BankCard":            pm.Card.BankCard,
		"Card":                 *pm.Card,
		"*Card":                pm.Card,
		"PaymentMethod":        pm,
		"InitPayoutRequest":    InitPayoutRequest{PaymentMethod: pm, AmountDetails: amount},
		"*InitPayoutRequest":   &InitPayoutRequest{PaymentMethod: pm, AmountDetails: amount},
		"StartPayoutRequest":   StartPayoutRequest{SessionID: "ps_1", PaymentMethod: pm},
		"CreateSessionRequest": CreateSessionRequest{PaymentMethod: &pm, AmountDetails: &amount},
		"TokenInfoRequest":     TokenInfoRequest{Type: "card", Card: pm.Card},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
			if s := fmt.Sprintf(verb, v); strings.Contains(s, testPAN) || strings.Contains(s, fmt.Sprintf("%x", testPAN)) {
				t.Errorf("Sprintf(%s, %s) leaks the card number: %s", verb, name, s)
			}
		}
		var buf bytes.Buffer
		for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
			slog.New(h).Info("request", "req", v)
		}
		if strings.Contains(buf.String(), testPAN) {
			t.Errorf("slog of %s leaks the card number: %s", name, buf.String())
		}
	}
	if got := pm.Card.BankCard.String(); !strings.Contains(got, "4242") {
		t.Errorf("BankCard.String() = %q, want it to show last4", got)
	}
	// The wire form must still carry the number.
	b, _ := json.Marshal(InitPayoutRequest{PaymentMethod: pm, AmountDetails: amount})
	if !strings.Contains(string(b), `"number":"`+testPAN+`"`) {
		t.Errorf("JSON lost the card number: %s", b)
	}
}

func TestRequestJSON(t *testing.T) {
	tests := []struct {
		name string
		req  any
		want string
	}{
		{
			"init payout (provider-api.md §3.2)",
			InitPayoutRequest{
				PaymentMethod:      BankCardMethod(testPAN),
				AmountDetails:      AmountDetails{Amount: 1000, Currency: "usd"},
				ParticipantDetails: &ParticipantDetails{Recipient: &Participant{FullName: "John Johnson"}},
			},
			`{"payment_method":{"type":"card","card":{"type":"bank_card","bank_card":{"number":"4242424242424242"}}},"amount_details":{"amount":1000,"currency":"usd"},"participant_details":{"recipient":{"full_name":"John Johnson"}}}`,
		},
		{
			"start payout leaves out what session/create gave",
			StartPayoutRequest{SessionID: "ps_1", PaymentMethod: EncryptedCardMethod("abc")},
			`{"session_id":"ps_1","payment_method":{"type":"card","card":{"type":"encrypted_card","encrypted_card":{"number_hash":"abc"}}}}`,
		},
		{
			"create session (provider-api.md §3.1)",
			CreateSessionRequest{AmountDetails: &AmountDetails{Amount: 10000, Currency: "usd"}, Metadata: json.RawMessage(`"order123"`)},
			`{"amount_details":{"amount":10000,"currency":"usd"},"metadata":"order123"}`,
		},
		{"empty create", CreateSessionRequest{}, `{}`},
		{
			"bank account (provider-api.md, PaymentMethod and the UK page)",
			InitPayoutRequest{
				PaymentMethod: BankAccountMethod(BankAccountGlobal{Description: "SALARY_PAYMENT", SortCode: "20-00-00", AccountNumber: "55779911", AccountType: "CHECKING"}),
				AmountDetails: AmountDetails{Amount: 1000, Currency: "gbp"},
				ParticipantDetails: &ParticipantDetails{
					Recipient: &Participant{FirstName: "Jane", LastName: "Smith", BankName: "Barclays", Currency: "GBP", CountryISO3: "GBR"},
					Sender:    &Participant{CompanyName: "Acme", RegistrationNumber: "1", CountryISO3: "GBR", Code: "1"},
				},
			},
			`{"payment_method":{"type":"bank_account","bank_account":{"system_type":"global","global":{"description":"SALARY_PAYMENT","account_number":"55779911","sort_code":"20-00-00","account_type":"CHECKING"}}},` +
				`"amount_details":{"amount":1000,"currency":"gbp"},"participant_details":{"recipient":{"first_name":"Jane","last_name":"Smith","country_iso3":"GBR","bank_name":"Barclays","currency":"GBP"},` +
				`"sender":{"company_name":"Acme","country_iso3":"GBR","registration_number":"1","code":"1"}}}`,
		},
		{
			"identity document",
			Participant{FirstName: "Maria", IdentityDocument: &IdentityDocument{IDNumber: "12345678909"}},
			`{"first_name":"Maria","identity_document":{"id_number":"12345678909"}}`,
		},
		{"token", TokenRequest{TokenizeWidget: &TokenizeWidget{Access: true, Locale: "en"}}, `{"tokenize_widget":{"access":true,"locale":"en"}}`},
		{
			"token info",
			TokenInfoRequest{Type: "card", Card: EncryptedCardMethod("abc").Card},
			`{"type":"card","card":{"type":"encrypted_card","encrypted_card":{"number_hash":"abc"}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("json =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestDecodeDocExample decodes the ready_to_confirm example from the
// provider's page (provider-docs/payout-to-bank-card-pcidss.txt).
func TestDecodeDocExample(t *testing.T) {
	const doc = `{"type":"ready_to_confirm","session":{"id":"ps_3230","status":"in_progress",
	"created_at":"2024-05-27T02:03:00.000000Z","updated_at":"2024-05-27T02:03:00.000000Z","next_action":"confirm",
	"payments":[{"id":"po_1234","status":"pending","created_at":"2024-05-27T02:03:00.000000Z",
	"customer":{"reference":"user","contacts":[{"email":"user@gmail.com"}]},
	"payment_method":{"type":"card","card":{"last4":"4242","brand":"visa"}},
	"amount_details":{"amount":10000,"currency":"rub"},"metadata":"good"}]}}`
	var wh Webhook
	if err := json.Unmarshal([]byte(doc), &wh); err != nil {
		t.Fatal(err)
	}
	p := wh.Session.Payout()
	if wh.Type != WebhookReadyToConfirm || wh.Session.NextAction != NextActionConfirm || p == nil {
		t.Fatalf("decoded %+v", wh)
	}
	if p.ID != "po_1234" || p.Status != PaymentPending || p.AmountDetails != (AmountDetails{10000, "rub"}) ||
		p.PaymentMethod.Card.Last4 != "4242" || p.Customer.Contacts[0].Email != "user@gmail.com" || string(p.Metadata) != `"good"` {
		t.Errorf("payout decoded as %+v", p)
	}
	if (&Session{}).Payout() != nil || (*Session)(nil).Payout() != nil {
		t.Error("Payout() of a session without payouts is not nil")
	}
}

// TestBankAccountLogged: logging a bank-account method shows its purpose and
// the last four characters of its identifier, never the whole.
func TestBankAccountLogged(t *testing.T) {
	for _, g := range []BankAccountGlobal{
		{Description: "SALARY_PAYMENT", IBAN: "GB29NWBK60161331926819", SwiftBicCode: "NWBKGB2L"},
		{Description: "SALARY_PAYMENT", SortCode: "20-00-00", AccountNumber: "55779911"},
		{Description: "SALARY_PAYMENT", BankAccountNumber: "024123456001"},
	} {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("start", "req", StartPayoutRequest{SessionID: "ps_1", PaymentMethod: BankAccountMethod(g)})
		out := buf.String()
		whole := g.IBAN + g.AccountNumber + g.BankAccountNumber
		if strings.Contains(out, whole) || !strings.Contains(out, `"last4":"`+whole[len(whole)-4:]+`"`) || !strings.Contains(out, "SALARY_PAYMENT") {
			t.Errorf("logged %s", out)
		}
	}
}
