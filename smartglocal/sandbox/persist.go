package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	sg "countersign/smartglocal"
	"countersign/smartglocal/bank"
)

// The embedded sandbox of `go run .` keeps its state in a file beside the
// console's database (Config.StateFile), so that a restarted console can
// still ask session/status about its own sessions, confirm what waits, and
// replay what it sent under an idempotency key. The file holds what the
// simulated provider keeps and nothing more: no card number (only last
// four, brand and BIN), the salt its card hashes are made with, its
// wallets, sessions, stored replies and returns. Webhooks on their way when
// the process stopped are not sent again: the console's reconciler asks.

// savedState is the file's content.
type savedState struct {
	Salt      []byte               `json:"salt"`
	Wallets   map[string]int64     `json:"wallets"`
	WalletIDs map[string]string    `json:"wallet_ids"`
	Sessions  []savedSession       `json:"sessions"`
	Cards     map[string]savedCard `json:"cards"`
	Tokens    map[string]tokenTime `json:"tokens"`
	Replies   []savedReply         `json:"replies"`
	Returns   []Return             `json:"returns"`
}

type savedCard struct {
	Last4, Brand, Bin, Outcome string
}

type tokenTime struct {
	Created, Expires time.Time
}

type savedSession struct {
	ID, Status           string
	CreatedAt, UpdatedAt time.Time
	Draft                savedDraft
	Payout               *savedPayout `json:",omitempty"`
}

type savedDraft struct {
	Card         *savedCard             `json:",omitempty"`
	Account      *sg.PaymentMethod      `json:",omitempty"`
	Amount       *sg.AmountDetails      `json:",omitempty"`
	Participants *sg.ParticipantDetails `json:",omitempty"`
	Customer     *sg.Customer           `json:",omitempty"`
	Metadata     json.RawMessage        `json:",omitempty"`
}

type savedPayout struct {
	ID, Status                      string
	Confirmed                       bool
	CreatedAt, FinishedAt, Deadline time.Time
	Card                            *savedCard   `json:",omitempty"`
	Account                         *bank.Payout `json:",omitempty"`
	Amount                          sg.AmountDetails
	Participants                    *sg.ParticipantDetails `json:",omitempty"`
	Customer                        *sg.Customer           `json:",omitempty"`
	Metadata                        json.RawMessage        `json:",omitempty"`
	Txn                             *sg.TransactionInfo    `json:",omitempty"`
	Err                             *sg.ErrorDetail        `json:",omitempty"`
}

type savedReply struct {
	Key       string // method, NUL, idempotency key
	Hash      []byte
	Status    int
	Body      []byte
	SessionID string
	Code      string
}

func saveCard(c *cardDest) *savedCard {
	if c == nil {
		return nil
	}
	return &savedCard{c.last4, c.brand, c.bin, c.outcome}
}

func (c *savedCard) load() *cardDest {
	if c == nil {
		return nil
	}
	return &cardDest{last4: c.Last4, brand: c.Brand, bin: c.Bin, outcome: c.Outcome}
}

// stateLocked is the sandbox's state as the file keeps it. s.mu must be held.
func (s *Sandbox) stateLocked() savedState {
	st := savedState{Salt: s.salt, Wallets: s.wallets, WalletIDs: s.walletIDs, Cards: map[string]savedCard{},
		Tokens: map[string]tokenTime{}, Returns: s.returns}
	for h, c := range s.cards {
		st.Cards[h] = *saveCard(&c)
	}
	for t, info := range s.tokens {
		st.Tokens[t] = tokenTime{info.created, info.expires}
	}
	for _, ss := range s.sessions {
		d := ss.draft
		saved := savedSession{ID: ss.id, Status: ss.status, CreatedAt: ss.createdAt, UpdatedAt: ss.updatedAt,
			Draft: savedDraft{Card: saveCard(d.card), Account: d.account, Amount: d.amount, Participants: d.participants, Customer: d.customer, Metadata: d.metadata}}
		if p := ss.payout; p != nil {
			saved.Payout = &savedPayout{ID: p.id, Status: p.status, Confirmed: p.confirmed, CreatedAt: p.createdAt, FinishedAt: p.finishedAt,
				Deadline: p.deadline, Card: saveCard(p.dest.card), Account: p.dest.account, Amount: p.amount, Participants: p.participants,
				Customer: p.customer, Metadata: p.metadata, Txn: p.txn, Err: p.err}
		}
		st.Sessions = append(st.Sessions, saved)
	}
	for k, e := range s.idem {
		select {
		case <-e.done:
			st.Replies = append(st.Replies, savedReply{Key: k, Hash: e.hash[:], Status: e.res.status, Body: e.res.body, SessionID: e.res.sessionID, Code: e.res.code})
		default: // still running: its reply is saved once it is done
		}
	}
	return st
}

// saveLocked writes the state file if the state changed since the last
// write: to a temporary file, then renamed over the old one, so that a
// process killed half-way leaves the previous state whole. s.mu must be held.
func (s *Sandbox) saveLocked() {
	if s.cfg.StateFile == "" {
		return
	}
	b, err := json.Marshal(s.stateLocked())
	if err != nil {
		s.log.Error("sandbox: encode state", "err", err)
		return
	}
	if bytes.Equal(b, s.saved) {
		return
	}
	tmp := s.cfg.StateFile + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		s.log.Error("sandbox: save state", "err", err)
		return
	}
	if err := os.Rename(tmp, s.cfg.StateFile); err != nil {
		s.log.Error("sandbox: save state", "err", err)
		return
	}
	s.saved = b
}

// save is saveLocked for callers that do not hold s.mu.
func (s *Sandbox) save() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saveLocked()
}

// load reads the state file, if there is one, into a new sandbox and
// schedules again the steps that were waiting: a payout being checked
// becomes pending, a confirmed one is executed, a pending one expires at its
// deadline.
func (s *Sandbox) load() error {
	b, err := os.ReadFile(s.cfg.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sandbox: state: %w", err)
	}
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("sandbox: state %s: %w", filepath.Base(s.cfg.StateFile), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(st.Salt) > 0 {
		s.salt = st.Salt
	}
	if st.Wallets != nil {
		s.wallets, s.walletIDs = st.Wallets, st.WalletIDs
	}
	for h, c := range st.Cards {
		s.cards[h] = *c.load()
	}
	for t, tt := range st.Tokens {
		s.tokens[t] = tokenInfo{created: tt.Created, expires: tt.Expires}
	}
	for _, r := range st.Replies {
		e := &idemEntry{done: make(chan struct{}), res: result{status: r.Status, body: r.Body, sessionID: r.SessionID, code: r.Code}}
		copy(e.hash[:], r.Hash)
		close(e.done)
		s.idem[r.Key] = e
	}
	s.returns = st.Returns
	for _, saved := range st.Sessions {
		d := saved.Draft
		ss := &session{id: saved.ID, status: saved.Status, createdAt: saved.CreatedAt, updatedAt: saved.UpdatedAt,
			draft: draft{card: d.Card.load(), account: d.Account, amount: d.Amount, participants: d.Participants, customer: d.Customer, metadata: d.Metadata}}
		if sp := saved.Payout; sp != nil {
			ss.payout = &payout{id: sp.ID, status: sp.Status, confirmed: sp.Confirmed, createdAt: sp.CreatedAt, finishedAt: sp.FinishedAt,
				deadline: sp.Deadline, dest: dest{card: sp.Card.load(), account: sp.Account}, amount: sp.Amount, participants: sp.Participants,
				customer: sp.Customer, metadata: sp.Metadata, txn: sp.Txn, err: sp.Err}
		}
		s.sessions[ss.id] = ss
		s.resumeLocked(ss)
	}
	s.saved = b
	return nil
}

// resumeLocked schedules the next step of a loaded session's payout, if one
// was waiting. s.mu must be held.
func (s *Sandbox) resumeLocked(ss *session) {
	p := ss.payout
	switch {
	case p == nil:
	case p.status == sg.PaymentInProgress && !p.confirmed:
		s.afterLocked(s.cfg.ProcessingDelay, func() { s.pend(ss, p) })
	case p.status == sg.PaymentInProgress:
		s.afterLocked(s.cfg.ProcessingDelay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.executeLocked(ss)
		})
	case p.status == sg.PaymentPending:
		s.afterLocked(max(0, p.deadline.Sub(s.now())), func() { s.expire(ss, p) })
	}
}
