package bank

// The field tables, from the provider's country pages
// (/docs/payouts/payout-<country>, summarised in provider-api.md "Bank-account
// payouts by country"). Every page also requires the purpose
// (global.description) and the recipient's bank_name, currency,
// country_iso3, first_name and last_name, which are not repeated here.
//
// What the pages do not say and we assume [A]:
//   - Currencies: only Czechia (CZK), Hungary (EUR), Hong Kong (HKD) and the
//     Philippines (PHP) name theirs; elsewhere we take the country's own
//     currency.
//   - Account-number lengths and alphabets are not given: we take what the
//     country's banks use where that is settled (UK 8 digits, US 4–17,
//     Australia 5–9, Canada 7–12) and 4–34 letters and digits elsewhere.
//   - Address limits are Australia's (street 256, city, postal code and state
//     64), applied everywhere.

// Fields several countries share. Copy and adjust; never change in place.
var (
	addressLine = Field{Key: "address_line", Label: "Street address", Help: "Building and street; the city and postal code go below",
		Place: InRecipient, Required: true, MaxLen: 256}
	city       = Field{Key: "city", Label: "City", Place: InRecipient, Required: true, MaxLen: 64}
	postalCode = Field{Key: "postal_code", Label: "Postal code", Place: InRecipient, Required: true, MaxLen: 64}
	state      = Field{Key: "state", Label: "State", Place: InRecipient, Required: true, MaxLen: 64}

	bankAccountNumber = Field{Key: "bank_account_number", Label: "Account number", Help: "As the bank prints it; spaces and dashes are dropped",
		Place: InGlobal, Required: true, MaxLen: 34, kind: kindAccount, min: 4}
	iban = Field{Key: "iban", Label: "IBAN", Help: "Two letters, two check digits and the account; spaces are fine",
		Place: InGlobal, Required: true, MaxLen: 34, kind: kindIBAN}
	swiftBIC = Field{Key: "swift_bic_code", Label: "SWIFT/BIC", Help: "The bank's code: 8 or 11 letters and digits, as BARCGB22",
		Place: InGlobal, Required: true, MaxLen: 11, kind: kindBIC}
	branchNumber = Field{Key: "branch_number", Label: "Branch number", Help: "The branch's code at the bank",
		Place: InGlobal, Required: true, MaxLen: 10, kind: kindDigits, min: 1}
)

// in returns f as part of scheme.
func in(scheme string, f Field) Field { f.Scheme = scheme; return f }

// optional returns f as not required.
func optional(f Field) Field { f.Required = false; return f }

// relabel returns f with another label and help.
func relabel(f Field, label, help string) Field { f.Label, f.Help = label, help; return f }

// sender needs: the common four, plus what some pages add.
func senderWith(extra ...senderNeed) []senderNeed {
	return append(append([]senderNeed(nil), commonSender...), extra...)
}

var countries = []*Country{
	{
		// The page allows either pair, marking sort code and account number
		// "+" and IBAN and SWIFT/BIC "−"; the sender block is cut after
		// company_name: we assume the common four [A]. Currency not
		// readable: GBP [A].
		Code: "GBR", ISO2: "GB", Name: "United Kingdom", Currencies: []string{"GBP"},
		Schemes: []Scheme{{"sort_code", "Sort code and account number"}, {"iban", "IBAN and SWIFT/BIC"}},
		Fields: []Field{
			in("sort_code", Field{Key: "sort_code", Label: "Sort code", Help: "Six digits, as 12-34-56",
				Place: InGlobal, Required: true, MaxLen: 8, kind: kindSortCode}),
			in("sort_code", Field{Key: "account_number", Label: "Account number", Help: "Eight digits",
				Place: InGlobal, Required: true, MaxLen: 8, kind: kindDigits, min: 8}),
			in("iban", relabel(iban, "IBAN", "Starts with GB; 22 characters, spaces are fine")),
			in("iban", swiftBIC),
			{Key: "account_type", Label: "Account type", Help: "The provider asks for CHECKING for every UK account",
				Place: InGlobal, Required: true, Options: []string{"CHECKING"}, MaxLen: 8, kind: kindChoice},
			addressLine, city, relabel(postalCode, "Postcode", "As SW1A 1AA"), optional(relabel(state, "County", "Optional")),
		},
		Note:   "If a payout with one pair of details fails, try the other. For Revolut use the sort code and account number.",
		sender: senderWith(),
	},
	{
		// The CZK section allows iban, iban + swift_bic_code, or
		// bank_account_number + branch_number; "by default iban".
		Code: "CZE", ISO2: "CZ", Name: "Czechia", Currencies: []string{"CZK"},
		Schemes: []Scheme{{"iban", "IBAN"}, {"account", "Account number and bank code"}},
		Fields: []Field{
			in("iban", relabel(iban, "IBAN", "Starts with CZ; 24 characters, spaces are fine")),
			in("iban", optional(relabel(swiftBIC, "SWIFT/BIC", "Optional: the bank's code, as KOMBCZPP"))),
			in("account", relabel(bankAccountNumber, "Account number", "With its prefix if it has one, without the bank code")),
			// What Czechia's branch_number holds is not said; a Czech account
			// is named by its number and the bank's four-digit code [A].
			in("account", Field{Key: "branch_number", Label: "Bank code", Help: "Four digits, the part after the slash, as 0800",
				Place: InGlobal, Required: true, MaxLen: 4, kind: kindDigits, min: 4}),
		},
		sender: senderWith(),
	},
	{
		// The page's heading is EUR. Another stored copy lacks the address
		// rows; the newer one requires them for recipient and sender.
		Code: "HUN", ISO2: "HU", Name: "Hungary", Currencies: []string{"EUR"},
		Fields: []Field{
			relabel(iban, "IBAN", "Starts with HU; 28 characters, spaces are fine"),
			addressLine, city,
		},
		sender: senderWith(senderNeed{SenderAddressLine, true}, senderNeed{SenderCity, true}),
	},
	{
		// USA uses bank_account_number (the UK account_number). The state's
		// form (code or name) is not said [A]. Senders from Canada must add
		// postal code and state (see senderNeeds).
		Code: "USA", ISO2: "US", Name: "United States", Currencies: []string{"USD"},
		Fields: []Field{
			{Key: "routing_code", Label: "Routing number", Help: "Nine digits (ABA), printed left of the account number on a check",
				Place: InGlobal, Required: true, MaxLen: 9, kind: kindABA},
			{Key: "bank_account_number", Label: "Account number", Help: "4 to 17 digits",
				Place: InGlobal, Required: true, MaxLen: 17, kind: kindDigits, min: 4},
			{Key: "account_type", Label: "Account type", Place: InGlobal, Required: true,
				Options: []string{"CHECKING", "SAVINGS"}, MaxLen: 8, kind: kindChoice},
			addressLine, city,
			{Key: "postal_code", Label: "ZIP code", Help: "Five digits, or five, a dash and four",
				Place: InRecipient, Required: true, MaxLen: 10, kind: kindZIP},
			relabel(state, "State", "As NY or New York"),
		},
		sender: senderWith(senderNeed{SenderAddressLine, true}, senderNeed{SenderCity, true},
			senderNeed{SenderPostalCode, false}, senderNeed{SenderState, false}),
	},
	{
		// The table marks iban "+", but the note above it allows either iban
		// or bank_account_number + branch_number.
		Code: "ISR", ISO2: "IL", Name: "Israel", Currencies: []string{"ILS"},
		Schemes: []Scheme{{"iban", "IBAN"}, {"account", "Account and branch number"}},
		Fields: []Field{
			in("iban", relabel(iban, "IBAN", "Starts with IL; 23 characters, spaces are fine")),
			in("account", relabel(bankAccountNumber, "Account number", "As the bank prints it")),
			in("account", relabel(branchNumber, "Branch number", "The branch's number, usually three digits")),
		},
		sender: senderWith(),
	},
	{
		Code: "TUR", ISO2: "TR", Name: "Turkey", Currencies: []string{"TRY"},
		Fields: []Field{relabel(iban, "IBAN", "Starts with TR; 26 characters, spaces are fine")},
		sender: senderWith(),
	},
	{
		// Canada uses account_number (not bank_account_number) and a routing
		// code 0AAABBBBB: 0, institution, transit.
		Code: "CAN", ISO2: "CA", Name: "Canada", Currencies: []string{"CAD"},
		Fields: []Field{
			{Key: "routing_code", Label: "Routing number", Help: "Nine digits: 0, the 3-digit institution number, the 5-digit transit number",
				Place: InGlobal, Required: true, MaxLen: 9, kind: kindCARouting},
			{Key: "account_number", Label: "Account number", Help: "7 to 12 digits",
				Place: InGlobal, Required: true, MaxLen: 12, kind: kindDigits, min: 7},
		},
		sender: senderWith(),
	},
	{
		// BSB is "6 characters, XX-Y-ZZZ": sent as the six digits [A]. The
		// sender block is cut at code; it lists address_line.
		Code: "AUS", ISO2: "AU", Name: "Australia", Currencies: []string{"AUD"},
		Fields: []Field{
			{Key: "bsb_number", Label: "BSB", Help: "Six digits, as 062-000", Place: InGlobal, Required: true, MaxLen: 6, kind: kindBSB},
			{Key: "bank_account_number", Label: "Account number", Help: "5 to 9 digits",
				Place: InGlobal, Required: true, MaxLen: 9, kind: kindDigits, min: 5},
			addressLine, city, relabel(postalCode, "Postcode", "Four digits"), relabel(state, "State or territory", "As NSW"),
		},
		sender: senderWith(senderNeed{SenderAddressLine, true}),
	},
	{
		// The only page with an identity document: the recipient's CPF.
		Code: "BRA", ISO2: "BR", Name: "Brazil", Currencies: []string{"BRL"},
		Fields: []Field{
			relabel(bankAccountNumber, "Account number", "With its check digit"),
			relabel(branchNumber, "Branch number (agência)", "Usually four digits"),
			{Key: "account_type", Label: "Account type", Place: InGlobal, Required: true,
				Options: []string{"CHECKING", "SAVINGS", "DEPOSIT", "OTHERS"}, MaxLen: 8, kind: kindChoice},
			{Key: "id_number", Label: "CPF", Help: "The account holder's CPF: 11 digits, as 123.456.789-09",
				Place: InRecipientDocument, Required: true, MaxLen: 11, kind: kindCPF},
		},
		sender: senderWith(),
	},
	{
		// No bank or branch code: the bank is named by bank_name alone.
		Code: "HKG", ISO2: "HK", Name: "Hong Kong", Currencies: []string{"HKD"},
		Fields: []Field{
			bankAccountNumber,
			addressLine,
			{Key: "msisdn", Label: "Mobile number", Help: "Optional, with the country code, as +852 9123 4567",
				Place: InRecipient, MaxLen: 15, kind: kindPhone},
			{Key: "email", Label: "Email", Help: "Optional", Place: InRecipient, MaxLen: 254, kind: kindEmail},
		},
		sender: senderWith(),
	},
	{
		Code: "IDN", ISO2: "ID", Name: "Indonesia", Currencies: []string{"IDR"},
		Fields: []Field{bankAccountNumber},
		sender: senderWith(senderNeed{SenderAddressLine, true}),
	},
	{
		// Only the sender's code is required; copies disagree on whether
		// the sender object is. We always send the sender.
		Code: "PHL", ISO2: "PH", Name: "Philippines", Currencies: []string{"PHP"},
		Fields: []Field{bankAccountNumber},
		sender: []senderNeed{{SenderCompanyName, false}, {SenderRegistrationNumber, false}, {SenderCountry, false}, {SenderCode, true}},
	},
	{
		Code: "VNM", ISO2: "VN", Name: "Vietnam", Currencies: []string{"VND"},
		Fields: []Field{bankAccountNumber},
		sender: senderWith(),
	},
	{
		Code: "THA", ISO2: "TH", Name: "Thailand", Currencies: []string{"THB"},
		Fields: []Field{bankAccountNumber},
		sender: senderWith(senderNeed{SenderAddressLine, true}),
	},
	{
		Code: "KOR", ISO2: "KR", Name: "South Korea", Currencies: []string{"KRW"},
		Fields: []Field{bankAccountNumber},
		sender: senderWith(),
	},
	{
		Code: "KEN", ISO2: "KE", Name: "Kenya", Currencies: []string{"KES"},
		Fields: []Field{bankAccountNumber},
		sender: senderWith(),
	},
}
