package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"countersign/fail"
	"countersign/store"
)

// The purposes of a sign-in link.
const (
	LinkNewAccount    = "new_account"
	LinkPasswordReset = "password_reset"
)

// A sign-in link is split knowledge under dual control: the link is shown
// once to the admin who approved the change, and a handover code once to
// the admin who proposed it (they take it from the approved change). The
// link works only with its code, so neither admin alone can choose the
// person's password: only the two together, or the person, given one piece
// by each. Both are stored as hashes only.

// MaxHandoverFailures is how many wrong handover codes burn a link.
const MaxHandoverFailures = 5

// Refusals of sign-in links and handover codes.
var (
	// ErrLinkInvalid refuses a sign-in link that is unknown, used or expired.
	// It does not say which, as a login error does not.
	ErrLinkInvalid   = fail.New(fail.NotFound, "link_invalid", "This sign-in link does not work: it was used, it expired (links last 24 hours), it was replaced by a newer one, or too many wrong handover codes were typed with it. Ask the admins for a new one.")
	ErrHandoverWrong = fail.New(fail.Invalid, "handover_wrong",
		fmt.Sprintf("That handover code is not right. Type the code the admin who proposed the change gave you. After %d wrong codes this link stops working.", MaxHandoverFailures))
	ErrHandoverBurnt = fail.New(fail.Forbidden, "handover_burnt",
		fmt.Sprintf("%d wrong handover codes: this link no longer works. Ask the admins for a new one (a password reset).", MaxHandoverFailures))
	ErrHandoverNotYours = fail.New(fail.Forbidden, "handover_not_yours", "Only the admin who proposed this change receives its handover code: the approving admin holds the link, and nobody may hold both pieces.")
	ErrHandoverTaken    = fail.New(fail.Conflict, "handover_taken", "The handover code of this change was already shown, once. If it was lost, propose a password reset for the person: that issues a new link and a new code.")
	ErrNoOpenLink       = fail.New(fail.Conflict, "no_open_link", "This change has no sign-in link that still works: it was used, it expired or it was replaced.")
)

// newLink issues a sign-in link for userID in tx and returns its token: 32
// random bytes. Only the token's SHA-256 is stored, so the database alone
// does not let anyone in; an older unused link of the user stops working.
func newLink(ctx context.Context, tx *store.Tx, userID int64, purpose string, changeID int64) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	return token, tx.CreateSigninLink(ctx, hashToken(token), userID, purpose, changeID, tx.Now().Add(LinkValidity))
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// handoverAlphabet has no letters or digits that read alike (0/O, 1/I/L).
const handoverAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// newHandoverCode returns ten characters of handoverAlphabet (about 49
// bits) as two groups of five, easy to read out and type.
func newHandoverCode() string {
	b := make([]byte, 10)
	rand.Read(b)
	var out strings.Builder
	for i, c := range b {
		if i == 5 {
			out.WriteByte('-')
		}
		out.WriteByte(handoverAlphabet[int(c)%len(handoverAlphabet)])
	}
	return out.String()
}

// hashHandover hashes a handover code as typed: case, spaces and dashes do
// not matter.
func hashHandover(code string) string {
	code = strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(code)))
	if code == "" {
		return ""
	}
	return hashToken("handover:" + code)
}

// TakeHandover gives the admin who proposed an approved new account or
// password reset its handover code, once: the other piece of the sign-in
// link, which the approving admin holds. It needs their second factor, like
// a decision, and is audited. It returns the code and whose link it opens.
func (s *Service) TakeHandover(ctx context.Context, a Actor, changeID int64) (string, *store.User, error) {
	code := newHandoverCode()
	var person *store.User
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := admin(ctx, tx, a); err != nil {
			return err
		}
		c, err := tx.AdminChangeByID(ctx, changeID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrChangeNotFound
		} else if err != nil {
			return err
		}
		if c.ProposedBy != a.UserID {
			return ErrHandoverNotYours
		}
		l, err := tx.SigninLinkByChange(ctx, c.ID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!l.UsedAt.IsZero() || !tx.Now().Before(l.ExpiresAt))) {
			return ErrNoOpenLink
		} else if err != nil {
			return err
		}
		if l.HandoverHash != "" {
			return ErrHandoverTaken
		}
		if !a.StepUp.Covers(a.UserID) {
			return ErrStepUp
		}
		if person, err = tx.UserByID(ctx, l.UserID); err != nil {
			return err
		}
		if err := tx.SetHandover(ctx, l.TokenHash, hashHandover(code)); errors.Is(err, store.ErrConflict) {
			return ErrHandoverTaken
		} else if err != nil {
			return err
		}
		return tx.Audit(ctx, entry(a, "change.handover", "change", c.ID, "ok", c.Kind+": "+c.Summary+"; handover code shown to the proposer"))
	})
	if err != nil {
		return "", nil, s.denied(ctx, a, "change.handover", "change", changeID, err)
	}
	return code, person, nil
}

// OpenLink is what the page a sign-in link opens shows: whose it is, what
// for, and who holds which piece.
type OpenLink struct {
	User       *store.User
	Link       *store.SigninLink
	ApprovedBy string // who was shown the link
	ProposedBy string // who gets the handover code
}

// HandoverTaken reports whether the proposer has taken the handover code yet.
func (o OpenLink) HandoverTaken() bool { return o.Link.HandoverHash != "" }

// Link returns whose a sign-in link is and what for, if it still works:
// the page that opens it shows the person's name and asks for the handover
// code and a password.
func (s *Service) Link(ctx context.Context, token string) (OpenLink, error) {
	l, err := s.db.SigninLinkByHash(ctx, hashToken(token))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!l.UsedAt.IsZero() || !s.db.Now().Before(l.ExpiresAt))) {
		return OpenLink{}, ErrLinkInvalid
	}
	if err != nil {
		return OpenLink{}, err
	}
	u, err := s.db.UserByID(ctx, l.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active) {
		return OpenLink{}, ErrLinkInvalid
	}
	if err != nil {
		return OpenLink{}, err
	}
	out := OpenLink{User: u, Link: l, ApprovedBy: "the admin who approved it", ProposedBy: "the admin who proposed it"}
	if c, err := s.db.AdminChangeByID(ctx, l.ChangeID); err == nil {
		out.ApprovedBy, out.ProposedBy = c.DecidedByName, c.ProposedByName
	} else if !errors.Is(err, store.ErrNotFound) {
		return OpenLink{}, err
	}
	return out, nil
}

// RedeemLink uses a sign-in link once, with its handover code: the person's
// password becomes the one they chose (passwordHash; the caller checks the
// password rules first), and the link stops working. Used, expired and
// unknown links are refused alike. A wrong handover code is refused,
// audited and counted; the MaxHandoverFailures-th burns the link.
func (s *Service) RedeemLink(ctx context.Context, token, handover, passwordHash, ip string) (*store.User, error) {
	var u *store.User
	var refusal error // a wrong code: refused, but its count commits
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		l, err := tx.SigninLinkByHash(ctx, hashToken(token))
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!l.UsedAt.IsZero() || !tx.Now().Before(l.ExpiresAt))) {
			return ErrLinkInvalid
		} else if err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, l.UserID); err != nil {
			return err
		}
		if !u.Active {
			return ErrLinkInvalid
		}
		code := hashHandover(handover)
		if l.HandoverHash == "" || subtle.ConstantTimeCompare([]byte(code), []byte(l.HandoverHash)) != 1 {
			n, err := tx.FailHandover(ctx, l.TokenHash, MaxHandoverFailures)
			if err != nil {
				return err
			}
			refusal = ErrHandoverWrong
			if n >= MaxHandoverFailures {
				refusal = ErrHandoverBurnt
			}
			a := Actor{Email: "anonymous", IP: ip}
			return tx.Audit(ctx, entry(a, "user.password_set", "user", u.ID, "denied",
				fmt.Sprintf("%s: wrong handover code %d of %d (%s)", refusal.(*fail.Error).Code, n, MaxHandoverFailures, l.Purpose)))
		}
		if _, err := tx.UseSigninLink(ctx, l.TokenHash, code); errors.Is(err, store.ErrNotFound) {
			return ErrLinkInvalid
		} else if err != nil {
			return err
		}
		if err := tx.SetPassword(ctx, u.ID, passwordHash); err != nil {
			return err
		}
		a := Actor{UserID: u.ID, Email: u.Email, IP: ip}
		return tx.Audit(ctx, entry(a, "user.password_set", "user", u.ID, "ok", fmt.Sprintf("through a sign-in link and its handover code (%s)", l.Purpose)))
	})
	if err == nil && refusal != nil {
		return nil, refusal
	}
	if err != nil {
		if errors.Is(err, ErrLinkInvalid) {
			if aerr := s.db.Audit(context.WithoutCancel(ctx), store.AuditEntry{Actor: "anonymous", Action: "user.password_set", ObjectType: "user",
				IP: ip, Outcome: "denied", Detail: ErrLinkInvalid.Code}); aerr != nil {
				s.log.Error("audit a refused link", "err", aerr)
			}
		}
		return nil, err
	}
	return u, nil
}

// AwaitsHandover reports whether c issued a sign-in link that still works
// and whose handover code its proposer has not taken yet: their view of the
// change offers it.
func (s *Service) AwaitsHandover(ctx context.Context, c *store.AdminChange) (bool, error) {
	if c.State != store.ChangeApproved || (Kind(c.Kind) != KindCreateUser && Kind(c.Kind) != KindResetPassword) {
		return false, nil
	}
	l, err := s.db.SigninLinkByChange(ctx, c.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return l.HandoverHash == "" && l.UsedAt.IsZero() && s.db.Now().Before(l.ExpiresAt), nil
}
