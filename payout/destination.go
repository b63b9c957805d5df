package payout

import (
	"countersign/card"
	"countersign/smartglocal"
	"countersign/smartglocal/bank"
	"countersign/store"
)

// Payout methods, as store.Payout.Method holds them: the provider's
// payment_method.type of the payout.
const (
	MethodCard        = smartglocal.MethodCard
	MethodBankAccount = smartglocal.MethodBankAccount
)

// Destination is where a payout goes, as people see it everywhere: the card
// ("VISA •••• 4242") or the bank account masked ("Barclays ••••5678",
// "GB•• •••• •••• 1234 56").
func Destination(p *store.Payout) string {
	if p.Method == MethodBankAccount {
		return p.AccountLabel
	}
	return card.Label(p.CardBrand, p.CardLast4)
}

// MethodLabel is a payout method in words.
func MethodLabel(method string) string {
	if method == MethodBankAccount {
		return "Bank account"
	}
	return "Card"
}

// PurposeLabel is a payout's remittance purpose in words: "Payment of
// salary" for SALARY_PAYMENT. Free text kept from card payouts made before
// purposes became codes is shown as it is.
func PurposeLabel(purpose string) string {
	if words, ok := bank.PurposeWords(purpose); ok {
		return words
	}
	return purpose
}

// CountryName is the name of a country bank accounts are paid in, by its
// alpha-3 code; the code itself for any other.
func CountryName(code string) string {
	if c, ok := bank.LookupCountry(code); ok {
		return c.Name
	}
	return code
}
