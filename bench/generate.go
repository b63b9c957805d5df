package main

import (
	"container/heap"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"countersign/password"
	"countersign/payout"
	sg "countersign/smartglocal"
	"countersign/smartglocal/bank"
	"countersign/store"
)

// The generator writes a year of one installation's life through the store's
// own statements (the same Tx methods the console calls), in big
// transactions: people, recipients with verified cards and bank accounts,
// payouts that go through every step the payout service records — intent and
// outcome of each provider call, both webhooks, approvals, cancels, declines,
// expiries and returns, each with its audit entries — and a balance reading a
// minute. It is a simulation in time order: every step is dated when it
// happened (Tx.SetNow), so ids and times rise together as they do in a real
// log. The same seed writes the same history.

// stepsPerTx is how many steps one transaction writes: large enough that
// commits cost nothing, small enough that a transaction stays a few MB.
const stepsPerTx = 20_000

// confirmWindow is how long the provider waits for session/confirm.
const confirmWindow = 240 * time.Minute

// The demo policy (README): from 1,000.00 two approvers must approve.
const twoApproverThreshold = 100_000

// queueWaiting is how many payouts a fresh dataset leaves waiting for approval.
const queueWaiting = 40

type gen struct {
	ctx      context.Context
	db       *store.DB
	rng      *rand.Rand
	makers   []*store.User
	checkers []*store.User // approvers: they verify cards and approve payouts
	people   []*payee      // recipients we pay
	balance  map[string]int64
	events   eventHeap
	seq      int64
	install  string
	written  counts
	// onConfirmed, when set, is told of each payout the provider confirmed.
	onConfirmed func(*store.Payout)
	confirmed   []*store.Payout
	// beside is set when the console runs over the database while the
	// generator writes (payouts added during a run): each event is then
	// applied under a savepoint, and one about a payout the console has
	// moved meanwhile (its reconciler asks about payouts in flight) is
	// dropped and counted in moved, instead of failing the run.
	beside bool
	moved  int
}

// counts is what the generator wrote.
type counts struct {
	payouts, webhooks, calls, readings int64
}

// payee is a recipient with their saved card and perhaps a bank account.
type payee struct {
	id      int64
	name    string
	ref     string
	card    *store.Card
	account *store.BankAccount
}

// event is one step of the simulation.
type event struct {
	at  time.Time
	seq int64
	do  func(tx *store.Tx) error
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func (g *gen) at(t time.Time, do func(tx *store.Tx) error) {
	g.seq++
	heap.Push(&g.events, &event{at: t, seq: g.seq, do: do})
}

// run plays the events in time order, up to until; later ones are dropped
// (the payouts they belong to stay where they are, as at the moment the
// history ends).
func (g *gen) run(until time.Time, progress func(counts)) error {
	for g.events.Len() > 0 {
		err := g.db.InTx(g.ctx, func(tx *store.Tx) error {
			for n := 0; n < stepsPerTx && g.events.Len() > 0; n++ {
				e := heap.Pop(&g.events).(*event)
				if e.at.After(until) {
					continue
				}
				tx.SetNow(e.at)
				if !g.beside {
					if err := e.do(tx); err != nil {
						return err
					}
					continue
				}
				err := tx.Savepoint(g.ctx, func() error { return e.do(tx) })
				if errors.Is(err, store.ErrConflict) {
					g.moved++
					continue
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if progress != nil {
			progress(g.written)
		}
	}
	return nil
}

func (g *gen) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)+1))
}

func (g *gen) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	return hex.EncodeToString(b)
}

func pick[T any](g *gen, xs []T) T { return xs[g.rng.IntN(len(xs))] }

var (
	firstNames = strings.Fields(`James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph
		Jessica Thomas Sarah Charles Karen Chris Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly
		Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca
		Jason Sharon Edward Laura Jeffrey Cynthia Ryan Amy Jacob Kathleen Gary Angela Nicholas Shirley Eric Brenda Jonathan Emma Stephen
		Anna Larry Pamela Justin Nicole Scott Samantha Brandon Katherine Benjamin Christine Samuel Helen Gregory Debra Alexander Rachel
		Patrick Carolyn Frank Janet Raymond Maria Jack Olivia Dennis Heather Jerry Diane Tyler Julie Aaron Joyce Jose Victoria Adam Ruth
		Nathan Virginia Henry Lauren Zachary Kelly Douglas Christina Peter Joan Kyle Evelyn Noah Judith Ethan Andrea Jeremy Hannah Walter
		Megan Christian Cheryl Keith Jacqueline Roger Martha Terry Madison Austin Teresa Sean Gloria Gerald Sara Carl Janice Harold Ann
		Dylan Kathryn Arthur Abigail Lawrence Sophia Jordan Frances Jesse Jean Bryan Alice Billy Judy Bruce Isabella Gabriel Julia Joe
		Grace Logan Amber Alan Denise Juan Danielle Albert Marilyn Willie Beverly Elijah Charlotte Wayne Natalie Randy Theresa Vincent
		Diana Mason Brittany Roy Doris Ralph Kayla Bobby Alexis Russell Lori Bradley Marie`)
	lastNames = strings.Fields(`Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
		Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker
		Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts
		Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz
		Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray
		Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan
		Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds
		Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens
		Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson
		Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd
		Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne
		Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan`)
	cardCurrencies = []string{"USD", "USD", "USD", "USD", "EUR", "EUR", "EUR", "GBP", "GBP", "RUB"}
	purposes       = []string{"SALARY_PAYMENT", "SALARY_PAYMENT", "SALARY_PAYMENT", "PAYMENT_FOR_SERVICES", "INVOICE_PAYMENT", "REFUND"}
)

// newGen starts a generator over db; load reads the people and recipients
// the database already holds.
func newGen(ctx context.Context, db *store.DB, seed uint64) *gen {
	// A context that cannot end: with one that can, the SQLite driver starts
	// a goroutine per statement to interrupt it, a third of the generator's time.
	return &gen{ctx: context.WithoutCancel(ctx), db: db, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), install: db.InstallationID(),
		balance: map[string]int64{"USD": 250_000_000, "EUR": 200_000_000, "GBP": 150_000_000, "RUB": 9_000_000_000}}
}

// people adds makers and approvers beside the demo accounts, so that the
// history has twenty of each kind of person, as a finance team does.
func (g *gen) addPeople(at time.Time) error {
	hash := password.Hash(g.hex(16)) // nobody signs in as them
	return g.db.InTx(g.ctx, func(tx *store.Tx) error {
		tx.SetNow(at)
		for i := range 38 {
			role, n := "maker", i/2+1
			if i%2 == 1 {
				role = "approver"
			}
			u := &store.User{Email: fmt.Sprintf("%s%02d@bench.example", role, n), Name: pick(g, firstNames) + " " + pick(g, lastNames),
				PasswordHash: hash, Roles: []string{role}, Active: true}
			if err := tx.CreateUser(g.ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
}

// loadPeople reads the makers, approvers and payable recipients from the database.
func (g *gen) loadPeople() error {
	users, err := g.db.Users(g.ctx)
	if err != nil {
		return err
	}
	g.makers, g.checkers = nil, nil
	for _, u := range users {
		switch {
		case !u.Active:
		case u.HasRole("maker"):
			g.makers = append(g.makers, u)
		case u.HasRole("approver"):
			g.checkers = append(g.checkers, u)
		}
	}
	if len(g.makers) == 0 || len(g.checkers) < 2 {
		return fmt.Errorf("the database has %d makers and %d approvers; the benchmark needs the demo accounts", len(g.makers), len(g.checkers))
	}
	cards, err := g.db.PayableCards(g.ctx, 0, 0)
	if err != nil {
		return err
	}
	byID := map[int64]*payee{}
	g.people = g.people[:0]
	for _, c := range cards {
		p := byID[c.RecipientID]
		if p == nil {
			p = &payee{id: c.RecipientID, name: c.RecipientName, ref: "CUST-" + strconv.FormatInt(c.RecipientID, 10)}
			byID[c.RecipientID] = p
			g.people = append(g.people, p)
		}
		p.card = &store.Card{ID: c.CardID, RecipientID: c.RecipientID, Brand: c.Brand, Last4: c.Last4}
	}
	accounts, err := g.db.PayableAccounts(g.ctx, 0, 0)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if p := byID[a.RecipientID]; p != nil {
			acc, err := g.db.BankAccountByID(g.ctx, a.AccountID)
			if err != nil {
				return err
			}
			p.account = acc
		}
	}
	return nil
}

// addRecipients saves n recipients, each with a card a second person
// verified, and every fourth with a verified bank account, through the first
// week of the history.
func (g *gen) addRecipients(n int, from time.Time) error {
	banks := bank.DefaultBanks()
	for i := 0; i < n; i++ {
		at := from.Add(time.Duration(i) * 7 * 24 * time.Hour / time.Duration(n))
		g.at(at, func(tx *store.Tx) error {
			first, last := pick(g, firstNames), pick(g, lastNames)
			maker, checker := pick(g, g.makers), pick(g, g.checkers)
			r := &store.Recipient{FullName: first + " " + last, CustomerReference: fmt.Sprintf("CUST-%06d", i+1),
				Email: strings.ToLower(first+"."+last) + fmt.Sprintf("%d@mail.example", i), Country: pick(g, []string{"GBR", "USA", "DEU", "FRA", "ESP"}),
				CreatedBy: maker.ID}
			if err := tx.CreateRecipient(g.ctx, r); err != nil {
				return err
			}
			if err := tx.Audit(g.ctx, personAudit(maker, "recipient.create", "recipient", r.ID, r.FullName)); err != nil {
				return err
			}
			c := &store.Card{RecipientID: r.ID, NumberHash: g.hex(16), Last4: fmt.Sprintf("%04d", g.rng.IntN(10000)),
				Brand: pick(g, []string{"visa", "visa", "mastercard", "mir"}), AddedBy: maker.ID}
			if err := tx.CreateCard(g.ctx, c); err != nil {
				return err
			}
			label := strings.ToUpper(c.Brand) + " •••• " + c.Last4
			if err := tx.Audit(g.ctx, personAudit(maker, "card.add", "card", c.ID, fmt.Sprintf("%s for recipient #%d", label, r.ID))); err != nil {
				return err
			}
			if err := tx.VerifyCard(g.ctx, c.ID, checker.ID); err != nil {
				return err
			}
			if err := tx.Audit(g.ctx, personAudit(checker, "card.verify", "card", c.ID, label)); err != nil {
				return err
			}
			p := &payee{id: r.ID, name: r.FullName, ref: r.CustomerReference, card: c}
			g.people = append(g.people, p)
			if i%4 != 0 {
				return nil
			}
			typed := bank.Account{Country: "GBR", Currency: "GBP", Scheme: "sort_code", BankName: pick(g, []string{"Barclays", "HSBC UK", "Lloyds Bank", "NatWest"}),
				FirstName: first, LastName: last, Values: map[string]string{"sort_code": "20-00-00", "account_number": fmt.Sprintf("%08d", 10_000_000+i),
					"address_line": fmt.Sprintf("%d High Street", 1+i%200), "city": "London", "postal_code": "E14 5HP"}}
			if i%8 == 0 {
				typed = bank.Account{Country: "USA", Currency: "USD", BankName: "JPMorgan Chase Bank", FirstName: first, LastName: last,
					Values: map[string]string{"routing_code": "021000021", "bank_account_number": fmt.Sprintf("%012d", 100_000_000+i), "account_type": "checking",
						"address_line": fmt.Sprintf("%d Park Avenue", 1+i%300), "city": "New York", "postal_code": "10017", "state": "NY"}}
			}
			checked, bad := bank.Check(typed, banks)
			if bad != nil {
				return fmt.Errorf("generated bank account: %v", bad)
			}
			acc := payout.SavedAccount(r.ID, checked, maker.ID)
			if err := tx.CreateBankAccount(g.ctx, acc); err != nil {
				return err
			}
			if err := tx.Audit(g.ctx, personAudit(maker, "bank_account.add", "bank_account", acc.ID, acc.Masked+" for recipient #"+strconv.FormatInt(r.ID, 10))); err != nil {
				return err
			}
			if err := tx.VerifyBankAccount(g.ctx, acc.ID, checker.ID); err != nil {
				return err
			}
			acc.VerifiedBy, acc.VerifiedAt = checker.ID, tx.Now()
			p.account = acc
			return tx.Audit(g.ctx, personAudit(checker, "bank_account.verify", "bank_account", acc.ID, acc.Masked))
		})
	}
	return nil
}

func personAudit(u *store.User, action, objectType string, id int64, detail string) store.AuditEntry {
	return store.AuditEntry{ActorID: u.ID, Actor: u.Email, Action: action, ObjectType: objectType, ObjectID: strconv.FormatInt(id, 10),
		IP: fmt.Sprintf("192.0.2.%d", 10+u.ID%200), Outcome: "ok", Detail: detail}
}

func providerAudit(action string, p *store.Payout, outcome, detail string) store.AuditEntry {
	return store.AuditEntry{Actor: "provider", Action: action, ObjectType: "payout", ObjectID: strconv.FormatInt(p.ID, 10), Outcome: outcome, Detail: detail}
}

func payoutAudit(u *store.User, action string, p *store.Payout, outcome, detail string) store.AuditEntry {
	e := personAudit(u, action, "payout", p.ID, detail)
	e.Outcome = outcome
	return e
}

// readings schedules a balance reading a minute from from to until, the
// poller's default, each currency moving with what the payouts took and a
// top-up every morning.
func (g *gen) readings(from, until time.Time) {
	var tick func(at time.Time) func(tx *store.Tx) error
	tick = func(at time.Time) func(tx *store.Tx) error {
		return func(tx *store.Tx) error {
			if at.Hour() == 9 && at.Minute() == 0 {
				for cur := range g.balance {
					g.balance[cur] += g.balance[cur] / 20 // the treasury tops the wallets up
				}
			}
			var snaps []store.BalanceSnapshot
			for _, cur := range []string{"EUR", "GBP", "RUB", "USD"} {
				snaps = append(snaps, store.BalanceSnapshot{Currency: cur, Amount: g.balance[cur]})
			}
			if err := tx.InsertBalanceSnapshot(g.ctx, snaps...); err != nil {
				return err
			}
			g.written.readings++
			if next := at.Add(time.Minute); !next.After(until) {
				g.at(next, tick(next))
			}
			return nil
		}
	}
	g.at(from, tick(from))
}

// plan is how one payout's life goes.
type plan struct {
	stopAt    payout.State  // leave it here (the queue); "" runs it to its end
	reject    bool          // the provider refuses it at start
	cancel    bool          // an approver cancels it
	expire    bool          // nobody decides before the deadline
	decline   bool          // the issuer declines it after confirm
	returned  bool          // the receiving bank sends it back
	decideIn  time.Duration // from ready_to_confirm to the first decision
	secondIn  time.Duration // from the first approval to the second, where two are needed
	approvers []*store.User
}

// payouts schedules n payouts created evenly at random between from and
// until, each living through its plan.
func (g *gen) payouts(n int, from, until time.Time, stopAt payout.State) {
	if n == 0 {
		return
	}
	gap := until.Sub(from) / time.Duration(n)
	var next func(i int, at time.Time) func(tx *store.Tx) error
	next = func(i int, at time.Time) func(tx *store.Tx) error {
		return func(tx *store.Tx) error {
			if err := g.create(tx, g.plan(stopAt, until.Sub(at))); err != nil {
				return err
			}
			if i+1 < n {
				t := at.Add(time.Duration(g.rng.ExpFloat64() * float64(gap)))
				if t.After(until) {
					t = until
				}
				g.at(t, next(i+1, t))
			}
			return nil
		}
	}
	g.at(from, next(0, from))
}

func (g *gen) plan(stopAt payout.State, left time.Duration) plan {
	pl := plan{stopAt: stopAt, decideIn: g.between(time.Minute, 90*time.Minute), secondIn: g.between(30*time.Second, 20*time.Minute)}
	r := g.rng.Float64()
	switch {
	case stopAt != "":
		// Made for a run: it must get where it stops within seconds.
		pl.decideIn, pl.secondIn = g.between(2*time.Second, 10*time.Second), g.between(time.Second, 5*time.Second)
	case r < 0.01:
		pl.reject = true
	case r < 0.05:
		pl.cancel = true
	case r < 0.06 && left > 6*time.Hour:
		pl.expire = true
	case r < 0.11:
		pl.decline = true
	case r < 0.113:
		pl.returned = true
	}
	first := pick(g, g.checkers)
	pl.approvers = []*store.User{first}
	for len(pl.approvers) < 2 {
		if second := pick(g, g.checkers); second.ID != first.ID {
			pl.approvers = append(pl.approvers, second)
		}
	}
	return pl
}

// logAmount is an amount between 5.00 and 5,000.00, small ones more often.
func (g *gen) logAmount() int64 {
	return int64(math.Exp(math.Log(500) + g.rng.Float64()*(math.Log(500_000)-math.Log(500))))
}

// create is the maker's submit: the payout, the intent to call
// session/create and its audit entry, then the provider's steps.
func (g *gen) create(tx *store.Tx, pl plan) error {
	maker := pick(g, g.makers)
	who := pick(g, g.people)
	p := &store.Payout{State: string(payout.StateSubmitting), MakerID: maker.ID, RecipientID: who.id, Amount: g.logAmount(),
		CustomerReference: fmt.Sprintf("INV-%07d", g.rng.IntN(10_000_000))}
	source := "typed card"
	switch r := g.rng.Float64(); {
	case who.account != nil && r < 0.6:
		acc := who.account
		p.Method, p.BankAccountID, p.FullName, p.Currency = payout.MethodBankAccount, acc.ID, acc.Holder(), acc.Currency
		p.AccountLabel, p.AccountCountry, p.Purpose = acc.Masked, acc.Country, pick(g, purposes)
		source = fmt.Sprintf("bank account #%d in %s; purpose %s (%s)", acc.ID, payout.CountryName(acc.Country), p.Purpose, payout.PurposeLabel(p.Purpose))
		pl.returned = pl.returned || g.rng.Float64() < 0.003
	case r < 0.85:
		p.Method, p.CardID, p.CardLast4, p.CardBrand, p.FullName = payout.MethodCard, who.card.ID, who.card.Last4, who.card.Brand, who.name
		p.Currency = pick(g, cardCurrencies)
		source = fmt.Sprintf("saved card #%d", who.card.ID)
		pl.returned = false
	default:
		p.Method, p.CardLast4, p.CardBrand, p.FullName = payout.MethodCard, fmt.Sprintf("%04d", g.rng.IntN(10000)), pick(g, []string{"visa", "mastercard"}), who.name
		p.Currency = pick(g, cardCurrencies)
		pl.returned = false
	}
	if g.rng.IntN(5) == 0 {
		p.Note = pick(g, []string{"March salary", "Expenses, travel", "Bonus Q3", "Contractor invoice", "Refund of deposit"})
	}
	if err := tx.CreatePayout(g.ctx, p); err != nil {
		return err
	}
	g.written.payouts++
	call, err := g.intent(tx, p, maker, "session/create")
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("%s to %s (%s), recipient %q", money(p), payout.Destination(p), source, p.FullName)
	if err := tx.Audit(g.ctx, payoutAudit(maker, "payout.create", p, "ok", detail)); err != nil {
		return err
	}
	sessionAt := tx.Now()
	g.at(tx.Now().Add(g.between(150*time.Millisecond, 400*time.Millisecond)), func(tx *store.Tx) error {
		return g.sessionCreated(tx, p, maker, call, sessionAt, pl)
	})
	return nil
}

func money(p *store.Payout) string {
	return payout.FormatAmount(p.Amount, p.Currency) + " " + p.Currency
}

func (g *gen) intent(tx *store.Tx, p *store.Payout, actor *store.User, action string) (*store.ProviderCall, error) {
	short := strings.TrimPrefix(strings.TrimSuffix(action, "/payout"), "session/")
	c := &store.ProviderCall{PayoutID: p.ID, Action: action, ActorID: actor.ID,
		IdempotencyKey: fmt.Sprintf("countersign-%s-payout-%d-%s-v%d", g.install, p.ID, short, p.Version)}
	if err := tx.StartProviderCall(g.ctx, c); err != nil {
		return nil, err
	}
	g.written.calls++
	return c, nil
}

func (g *gen) outcome(tx *store.Tx, p *store.Payout, actor *store.User, c *store.ProviderCall, result, code, detail string) error {
	desc := ""
	if code != "" {
		desc = sg.CodeMeaning(code)
		detail += "; " + code
	}
	if err := tx.FinishProviderCall(g.ctx, c.ID, result, code, desc); err != nil {
		return err
	}
	return tx.Audit(g.ctx, payoutAudit(actor, "provider."+c.Action, p, result, detail))
}

func (g *gen) sessionCreated(tx *store.Tx, p *store.Payout, maker *store.User, call *store.ProviderCall, sessionAt time.Time, pl plan) error {
	p.ProviderSessionID = "ps_" + g.hex(12)
	if err := tx.SavePayout(g.ctx, p); err != nil {
		return err
	}
	if err := g.outcome(tx, p, maker, call, store.CallOK, "", "session "+p.ProviderSessionID); err != nil {
		return err
	}
	start, err := g.intent(tx, p, maker, "session/start/payout")
	if err != nil {
		return err
	}
	g.at(tx.Now().Add(g.between(150*time.Millisecond, 500*time.Millisecond)), func(tx *store.Tx) error {
		if pl.reject {
			p.State, p.FailureCode, p.FailureReason, p.FinishedAt = string(payout.StateRejected), "invalid_request", sg.CodeMeaning("invalid_request"), tx.Now()
			if err := tx.SavePayout(g.ctx, p); err != nil {
				return err
			}
			return g.outcome(tx, p, maker, start, store.CallRefused, "invalid_request", "provider refused; payout rejected")
		}
		p.ProviderPayoutID = "po_" + g.hex(12)
		p.State = string(payout.StateAwaitingProvider)
		if err := tx.SavePayout(g.ctx, p); err != nil {
			return err
		}
		if err := g.outcome(tx, p, maker, start, store.CallOK, "", "payout "+p.State); err != nil {
			return err
		}
		ready := tx.Now().Add(g.between(500*time.Millisecond, 3*time.Second))
		g.at(ready, func(tx *store.Tx) error { return g.readyToConfirm(tx, p, sessionAt, pl) })
		return nil
	})
	return nil
}

// webhook stores one delivery and its outcome as HandleWebhook does.
func (g *gen) webhook(tx *store.Tx, p *store.Payout, typ string, body []byte, from payout.State, outcome, view string) error {
	if err := tx.SavePayout(g.ctx, p); err != nil {
		return err
	}
	detail := fmt.Sprintf("%s; %s → %s", view, from, p.State)
	e := &store.WebhookEvent{Key: sha256Hex(body), Type: typ, SessionID: p.ProviderSessionID, PayoutID: p.ID, Outcome: outcome, Body: string(body)}
	if _, err := tx.InsertWebhookEvent(g.ctx, e); err != nil {
		return err
	}
	g.written.webhooks++
	return tx.Audit(g.ctx, providerAudit("webhook."+typ, p, outcome, detail))
}

func (g *gen) readyToConfirm(tx *store.Tx, p *store.Payout, sessionAt time.Time, pl plan) error {
	from := payout.State(p.State)
	p.State, p.ReadyAt, p.DeadlineAt = string(payout.StatePendingApproval), tx.Now(), tx.Now().Add(confirmWindow)
	body := webhookBody(sg.WebhookReadyToConfirm, p, sessionAt, tx.Now())
	if err := g.webhook(tx, p, sg.WebhookReadyToConfirm, body, from, store.WebhookApplied, "session in_progress, payout pending, next action confirm"); err != nil {
		return err
	}
	if pl.stopAt == payout.StatePendingApproval {
		return nil
	}
	if pl.expire {
		g.at(p.DeadlineAt.Add(g.between(10*time.Second, 70*time.Second)), func(tx *store.Tx) error {
			p.State, p.FinishedAt = string(payout.StateExpired), tx.Now()
			if err := tx.SavePayout(g.ctx, p); err != nil {
				return err
			}
			return tx.Audit(g.ctx, providerAudit("payout.reconcile", p, "ok", "session cancelled, payout failed, error confirm_timeout; pending_approval → expired"))
		})
		return nil
	}
	g.at(tx.Now().Add(pl.decideIn), func(tx *store.Tx) error { return g.decide(tx, p, sessionAt, pl, 0) })
	return nil
}

// decide is an approver's approve (the n-th) or cancel.
func (g *gen) decide(tx *store.Tx, p *store.Payout, sessionAt time.Time, pl plan, n int) error {
	a := pl.approvers[n]
	if pl.cancel {
		reason := pick(g, []string{"duplicate of another payout", "wrong amount", "the recipient asked to stop it", "wrong card"})
		if err := tx.Audit(g.ctx, payoutAudit(a, "payout.cancel", p, "ok", "reason: "+reason)); err != nil {
			return err
		}
		p.State, p.CancelReason = string(payout.StateCancelling), reason
		if err := tx.SavePayout(g.ctx, p); err != nil {
			return err
		}
		call, err := g.intent(tx, p, a, "session/cancel")
		if err != nil {
			return err
		}
		g.at(tx.Now().Add(g.between(150*time.Millisecond, 500*time.Millisecond)), func(tx *store.Tx) error {
			p.State, p.FinishedAt = string(payout.StateCancelled), tx.Now()
			if err := tx.SavePayout(g.ctx, p); err != nil {
				return err
			}
			return g.outcome(tx, p, a, call, store.CallOK, "", "payout cancelled")
		})
		return nil
	}
	need := 1
	if p.Amount >= twoApproverThreshold {
		need = 2
	}
	if err := tx.AddApproval(g.ctx, store.Approval{PayoutID: p.ID, UserID: a.ID, Version: p.Version}); err != nil {
		return err
	}
	detail := fmt.Sprintf("approval %d of %d for version %d (%s)", n+1, need, p.Version, map[int]string{1: "under the threshold", 2: "at or above the threshold"}[need])
	if n+1 < need {
		if err := tx.Audit(g.ctx, payoutAudit(a, "payout.approve", p, "ok", detail)); err != nil {
			return err
		}
		g.at(tx.Now().Add(pl.secondIn), func(tx *store.Tx) error { return g.decide(tx, p, sessionAt, pl, n+1) })
		return nil
	}
	if err := tx.Audit(g.ctx, payoutAudit(a, "payout.approve", p, "ok", detail+"; policy met, confirming")); err != nil {
		return err
	}
	p.State, p.ConfirmAttempted = string(payout.StateConfirming), true
	if err := tx.SavePayout(g.ctx, p); err != nil {
		return err
	}
	call, err := g.intent(tx, p, a, "session/confirm")
	if err != nil {
		return err
	}
	g.at(tx.Now().Add(g.between(150*time.Millisecond, 600*time.Millisecond)), func(tx *store.Tx) error {
		p.State = string(payout.StateConfirmed)
		if err := tx.SavePayout(g.ctx, p); err != nil {
			return err
		}
		if err := g.outcome(tx, p, a, call, store.CallOK, "", "payout confirmed"); err != nil {
			return err
		}
		if pl.stopAt == payout.StateConfirmed {
			if g.onConfirmed != nil {
				g.onConfirmed(p)
			}
			return nil
		}
		g.at(tx.Now().Add(g.between(time.Second, 20*time.Second)), func(tx *store.Tx) error { return g.finished(tx, p, sessionAt, pl) })
		return nil
	})
	return nil
}

func (g *gen) finished(tx *store.Tx, p *store.Payout, sessionAt time.Time, pl plan) error {
	from := payout.State(p.State)
	p.FinishedAt = tx.Now()
	view := "session accepted, payout succeeded"
	if pl.decline {
		p.State, p.FailureCode, p.FailureReason = string(payout.StateFailed), "declined_by_issuer_bank", sg.CodeMeaning("declined_by_issuer_bank")
		view = "session accepted, payout failed, error declined_by_issuer_bank"
	} else {
		p.State = string(payout.StateSucceeded)
		g.balance[p.Currency] -= p.Amount
	}
	body := webhookBody(sg.WebhookPaymentFinished, p, sessionAt, tx.Now())
	if err := g.webhook(tx, p, sg.WebhookPaymentFinished, body, from, store.WebhookApplied, view); err != nil {
		return err
	}
	if pl.returned && !pl.decline {
		g.at(tx.Now().Add(g.between(24*time.Hour, 72*time.Hour)), func(tx *store.Tx) error {
			a := pl.approvers[0]
			on := tx.Now().Format(time.DateOnly)
			if err := tx.RecordReturn(g.ctx, p, a.ID, on, "account closed"); err != nil {
				return err
			}
			g.balance[p.Currency] += p.Amount
			return tx.Audit(g.ctx, payoutAudit(a, "payout.return", p, "ok", "returned by the receiving bank on "+on+": account closed"))
		})
	}
	return nil
}

// webhookBody is a provider webhook about p as the provider would send it:
// the session with its payout, masked destination, amount and metadata.
func webhookBody(typ string, p *store.Payout, sessionAt, at time.Time) []byte {
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
	pm := sg.PaymentMethod{Type: sg.MethodCard, Card: &sg.Card{Type: "bank_card", Last4: p.CardLast4, Brand: p.CardBrand, Bin: "424242", CountryISO3: "GBR"}}
	recipient := &sg.Participant{FullName: p.FullName}
	if p.Method == payout.MethodBankAccount {
		pm = sg.BankAccountMethod(sg.BankAccountGlobal{Description: p.Purpose, AccountNumber: "••••" + p.AccountLabel[len(p.AccountLabel)-4:], AccountType: "CHECKING"})
		first, last, _ := strings.Cut(p.FullName, " ")
		recipient = &sg.Participant{FirstName: first, LastName: last, CountryISO3: p.AccountCountry, Currency: p.Currency, BankName: strings.Fields(p.AccountLabel)[0]}
	}
	pay := sg.Payment{ID: p.ProviderPayoutID, Status: sg.PaymentPending, CreatedAt: ts(sessionAt), PaymentMethod: pm,
		AmountDetails:      sg.AmountDetails{Amount: p.Amount, Currency: strings.ToLower(p.Currency)},
		ParticipantDetails: &sg.ParticipantDetails{Recipient: recipient},
		Customer:           &sg.Customer{Reference: p.CustomerReference},
		Metadata:           json.RawMessage(fmt.Sprintf(`{"payout_id":%d}`, p.ID))}
	s := sg.Session{ID: p.ProviderSessionID, Status: sg.SessionInProgress, CreatedAt: ts(sessionAt), UpdatedAt: ts(at)}
	switch {
	case typ == sg.WebhookReadyToConfirm:
		s.NextAction = sg.NextActionConfirm
	case p.State == string(payout.StateFailed):
		s.Status, pay.Status, pay.FinishedAt = sg.SessionAccepted, sg.PaymentFailed, ts(at)
		pay.Error = &sg.ErrorDetail{Code: p.FailureCode, Description: p.FailureReason}
	default:
		s.Status, pay.Status, pay.FinishedAt = sg.SessionAccepted, sg.PaymentSucceeded, ts(at)
		pay.TransactionInfo = &sg.TransactionInfo{RRN: fmt.Sprintf("%012d", p.ID*7919%1_000_000_000_000), AuthCode: fmt.Sprintf("%06d", p.ID%1_000_000)}
	}
	s.Payments = []sg.Payment{pay}
	body, err := json.Marshal(sg.Webhook{Type: typ, Session: s})
	if err != nil {
		panic(err) // plain structs always encode
	}
	return body
}
