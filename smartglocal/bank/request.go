package bank

import (
	"fmt"
	"strings"

	sg "countersign/smartglocal"
)

// Payout is what a bank-account payout sends besides its amount.
type Payout struct {
	Account Account
	Purpose string // a remittance purpose code, e.g. "SALARY_PAYMENT"
	Sender  Sender
}

// Request builds the payout's payment_method and participant_details for
// session/init/payout or session/start/payout, putting each field where its
// country's table says. It checks p first, except the bank name against a
// list (check that with Check and the operator's list before paying), and
// returns Problems when something is wrong: keyed as Check keys them, plus
// "purpose" and "sender.<field>". The amount's currency should be the
// account's.
func (p Payout) Request() (sg.PaymentMethod, *sg.ParticipantDetails, error) {
	a, bad := Check(p.Account, nil)
	if bad == nil {
		bad = Problems{}
	}
	if problem := CheckPurpose(p.Purpose); problem != "" {
		bad["purpose"] = problem
	}
	c, ok := LookupCountry(a.Country)
	if ok {
		for k, v := range c.CheckSender(p.Sender) {
			bad["sender."+k] = v
		}
	}
	if len(bad) > 0 {
		return sg.PaymentMethod{}, nil, bad
	}
	s, _ := normaliseSender(p.Sender)

	g := sg.BankAccountGlobal{Description: p.Purpose}
	r := &sg.Participant{BankName: a.BankName, Currency: a.Currency, CountryISO3: c.Code, FirstName: a.FirstName, LastName: a.LastName}
	for _, f := range c.ActiveFields(a.Scheme) {
		if v := a.Values[f.Key]; v != "" {
			*requestField(f, &g, r) = v
		}
	}
	sender := &sg.Participant{}
	for _, n := range c.senderNeeds(s) {
		*participantField(sender, n.key) = *senderFieldOf(n.key).get(&s)
	}
	return sg.BankAccountMethod(g), &sg.ParticipantDetails{Recipient: r, Sender: sender}, nil
}

// CheckRequest is the provider's side of Request: it reads a bank-account
// payout from a request and checks it by the same tables, taking the first
// scheme whose fields are all there. It returns the payout and "", or a
// description of everything wrong, naming each field by its JSON path and
// never quoting a value. Values must arrive in the provider's form (an IBAN
// without spaces, upper case); names and currency are trimmed and
// case-insensitive. amountCurrency is amount_details.currency: it must be the
// recipient's [A].
func CheckRequest(pm *sg.PaymentMethod, pd *sg.ParticipantDetails, amountCurrency string, banks *Banks) (Payout, string) {
	if pm == nil || pm.Type != sg.MethodBankAccount || pm.BankAccount == nil {
		return Payout{}, "payment_method.bank_account is required"
	}
	if pm.BankAccount.SystemType != sg.SystemGlobal || pm.BankAccount.Global == nil {
		return Payout{}, "payment_method.bank_account.system_type must be global, with the account in global"
	}
	g := *pm.BankAccount.Global
	switch {
	case g.Description == "":
		return Payout{}, "payment_method.bank_account.global.description is required: a remittance purpose code"
	case CheckPurpose(g.Description) != "":
		return Payout{}, "payment_method.bank_account.global.description is not one of the remittance purpose codes"
	case pd == nil || pd.Recipient == nil:
		return Payout{}, "participant_details.recipient is required"
	case pd.Sender == nil:
		return Payout{}, "participant_details.sender is required"
	}
	r := pd.Recipient
	c, ok := LookupCountry(r.CountryISO3)
	if !ok {
		return Payout{}, "participant_details.recipient.country_iso3 is not a country the provider pays bank accounts in"
	}

	sent := Account{Country: c.Code, Currency: r.Currency, BankName: r.BankName, FirstName: r.FirstName, LastName: r.LastName,
		Values: map[string]string{}}
	for _, f := range c.Fields {
		if v := *requestField(f, &g, r); v != "" {
			sent.Values[f.Key] = v
		}
	}
	sent.Scheme = c.sentScheme(sent.Values)
	a, bad := Check(sent, banks)

	var wrong []string
	say := func(path, problem string) { wrong = append(wrong, path+": "+problem) }
	for _, k := range []string{KeyCurrency, KeyBankName, KeyFirstName, KeyLastName} {
		if bad[k] != "" {
			say("participant_details.recipient."+k, bad[k])
		}
	}
	if bad[KeyCurrency] == "" && !strings.EqualFold(amountCurrency, a.Currency) {
		say("amount_details.currency", "must be the recipient's currency")
	}
	for _, f := range c.ActiveFields(a.Scheme) {
		switch v := sent.Values[f.Key]; {
		case bad[f.Key] != "":
			say(f.Path(), bad[f.Key])
		case v == "" && f.Required:
			say(f.Path(), "required")
		case v != a.Values[f.Key]:
			say(f.Path(), "send it in the provider's form ("+f.Help+")")
		}
	}
	s := Sender{CompanyName: pd.Sender.CompanyName, RegistrationNumber: pd.Sender.RegistrationNumber, CountryISO3: pd.Sender.CountryISO3,
		Code: pd.Sender.Code, AddressLine: pd.Sender.AddressLine, City: pd.Sender.City, PostalCode: pd.Sender.PostalCode, State: pd.Sender.State}
	sbad := c.CheckSender(s)
	for _, f := range senderFields {
		if sbad[f.key] != "" {
			say("participant_details.sender."+f.key, sbad[f.key])
		}
	}
	if len(wrong) > 0 {
		return Payout{}, strings.Join(wrong, "; ")
	}
	s, _ = normaliseSender(s)
	return Payout{Account: a, Purpose: g.Description, Sender: s}, ""
}

// sentScheme is the first scheme whose required fields all have values, or
// the default scheme when none has.
func (c *Country) sentScheme(values map[string]string) string {
	for _, s := range c.Schemes {
		complete := true
		for _, f := range c.Fields {
			if f.Scheme == s.ID && f.Required && values[f.Key] == "" {
				complete = false
			}
		}
		if complete {
			return s.ID
		}
	}
	return c.scheme("")
}

// requestField is where field f's value sits in a request: in g or in the
// recipient r.
func requestField(f Field, g *sg.BankAccountGlobal, r *sg.Participant) *string {
	switch f.Place {
	case InGlobal:
		return globalField(g, f.Key)
	case InRecipientDocument:
		if r.IdentityDocument == nil {
			r.IdentityDocument = &sg.IdentityDocument{}
		}
		return &r.IdentityDocument.IDNumber
	}
	return participantField(r, f.Key)
}

// globalField maps a global key of the field tables to its struct field.
func globalField(g *sg.BankAccountGlobal, key string) *string {
	switch key {
	case "iban":
		return &g.IBAN
	case "swift_bic_code":
		return &g.SwiftBicCode
	case "account_number":
		return &g.AccountNumber
	case "sort_code":
		return &g.SortCode
	case "bank_account_number":
		return &g.BankAccountNumber
	case "branch_number":
		return &g.BranchNumber
	case "routing_code":
		return &g.RoutingCode
	case "bsb_number":
		return &g.BsbNumber
	case "account_type":
		return &g.AccountType
	}
	panic(fmt.Sprintf("bank: no global field %q", key))
}

// participantField maps a recipient or sender key of the tables to its
// struct field.
func participantField(p *sg.Participant, key string) *string {
	switch key {
	case "address_line":
		return &p.AddressLine
	case "city":
		return &p.City
	case "postal_code":
		return &p.PostalCode
	case "state":
		return &p.State
	case "email":
		return &p.Email
	case "msisdn":
		return &p.MSISDN
	case SenderCompanyName:
		return &p.CompanyName
	case SenderRegistrationNumber:
		return &p.RegistrationNumber
	case SenderCountry:
		return &p.CountryISO3
	case SenderCode:
		return &p.Code
	}
	panic(fmt.Sprintf("bank: no participant field %q", key))
}
