package bank

// Purpose is a remittance purpose: the code the provider takes in
// payment_method.bank_account.global.description, and its words.
type Purpose struct {
	Code  string // "SALARY_PAYMENT"
	Words string // "Payment of salary"
}

// purposes are the provider's 34 remittance purposes, in the order and words
// of its payouts introduction (provider-api.md §8).
var purposes = []Purpose{
	{"COMPUTER_SERVICES", "Computer service"},
	{"FAMILY_SUPPORT", "Family support"},
	{"EDUCATION", "Education"},
	{"GIFT_AND_DONATION", "Gift and other donations"},
	{"MEDICAL_TREATMENT", "Medical treatment"},
	{"MAINTENANCE_EXPENSES", "Maintenance or other expenses"},
	{"TRAVEL", "Travel"},
	{"SMALL_VALUE_REMITTANCE", "Small value remittance"},
	{"LIBERALIZED_REMITTANCE", "Liberalized remittance"},
	{"CONSTRUCTION_EXPENSES", "Construction expenses"},
	{"HOTEL_ACCOMMODATION", "Hotel accommodation"},
	{"ADVERTISING_EXPENSES", "Advertising and/or public relations related expenses"},
	{"ADVISORY_FEES", "Fees for advisory or consulting service"},
	{"BUSINESS_INSURANCE", "Business related insurance payment"},
	{"INSURANCE_CLAIMS", "Insurance claims payment"},
	{"DELIVERY_FEES", "Delivery fees"},
	{"EXPORTED_GOODS", "Payments for exported goods"},
	{"SERVICE_CHARGES", "Payment for services"},
	{"LOAN_PAYMENT", "Payment of loans"},
	{"OFFICE_EXPENSES", "Office expenses"},
	{"PROPERTY_PURCHASE", "Residential property purchase"},
	{"PROPERTY_RENTAL", "Property rental payment"},
	{"ROYALTY_FEES", "Royalty, trademark, patent and copyright fees"},
	{"SHARES_INVESTMENT", "Investment in shares"},
	{"FUND_INVESTMENT", "Fund investment"},
	{"TAX_PAYMENT", "Tax payment"},
	{"TRANSPORTATION_FEES", "Transportation fees"},
	{"UTILITY_BILLS", "Utility bills"},
	{"PERSONAL_TRANSFER", "Personal transfer"},
	{"SALARY_PAYMENT", "Payment of salary"},
	{"REWARD_PAYMENT", "Payment of rewards"},
	{"INFLUENCER_PAYMENT", "Payment of Influencer"},
	{"OTHER_FEES", "Broker, commitment, guarantee and other fees"},
	{"OTHER", "Other purposes"},
}

// Purposes returns the remittance purposes in the provider's order, for a
// select list.
func Purposes() []Purpose { return append([]Purpose(nil), purposes...) }

// PurposeWords returns the words for a purpose code, and whether the code
// is one of the provider's. Codes are exact: the provider's are upper case.
func PurposeWords(code string) (string, bool) {
	for _, p := range purposes {
		if p.Code == code {
			return p.Words, true
		}
	}
	return "", false
}

// CheckPurpose returns a problem to show beside the purpose field, or "".
func CheckPurpose(code string) string {
	if code == "" {
		return "Choose the purpose of the payout"
	}
	if _, ok := PurposeWords(code); !ok {
		return "Choose one of the provider's purposes"
	}
	return ""
}
