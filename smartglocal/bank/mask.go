package bank

// MaskIBAN shows a normalised IBAN as its country code and its last six
// characters: "GB•• •••• •••• 1234 56". The shape is the same for every
// country, so the mask does not tell the IBAN's length either.
func MaskIBAN(iban string) string {
	if len(iban) < 12 {
		return "••••"
	}
	last := iban[len(iban)-6:]
	return iban[:2] + "•• •••• •••• " + last[:4] + " " + last[4:]
}

// MaskNumber shows an account number as its last four characters:
// "••••5678". A number of four characters or fewer shows none of them.
func MaskNumber(number string) string {
	if len(number) <= 4 {
		return "••••"
	}
	return "••••" + number[len(number)-4:]
}

// Masked is how the console shows an account everywhere but the verify
// step: the IBAN masked when the account is named by one
// ("GB•• •••• •••• 1234 56"), else the bank and the number masked
// ("Barclays ••••5678").
func (a Account) Masked() string {
	if iban := a.Values["iban"]; iban != "" {
		return MaskIBAN(iban)
	}
	return a.BankName + " " + MaskNumber(a.Number())
}
