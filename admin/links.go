package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"countersign/fail"
	"countersign/store"
)

// The purposes of a sign-in link.
const (
	LinkNewAccount    = "new_account"
	LinkPasswordReset = "password_reset"
)

// ErrLinkInvalid refuses a sign-in link that is unknown, used or expired.
// It does not say which, as a login error does not.
var ErrLinkInvalid = fail.New(fail.NotFound, "link_invalid", "This sign-in link does not work: it was used, it expired (links last 24 hours), or it was replaced by a newer one. Ask an admin for a new one.")

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

// Link returns whose a sign-in link is and what for, if it still works:
// the page that opens it shows the person's name and asks for a password.
func (s *Service) Link(ctx context.Context, token string) (*store.User, *store.SigninLink, error) {
	l, err := s.db.SigninLinkByHash(ctx, hashToken(token))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!l.UsedAt.IsZero() || !s.db.Now().Before(l.ExpiresAt))) {
		return nil, nil, ErrLinkInvalid
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := s.db.UserByID(ctx, l.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active) {
		return nil, nil, ErrLinkInvalid
	}
	return u, l, err
}

// RedeemLink uses a sign-in link once: the person's password becomes the one
// they chose (passwordHash; the caller checks the password rules first), and
// the link stops working. Used, expired and unknown links are refused alike.
func (s *Service) RedeemLink(ctx context.Context, token, passwordHash, ip string) (*store.User, error) {
	var u *store.User
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		l, err := tx.UseSigninLink(ctx, hashToken(token))
		if errors.Is(err, store.ErrNotFound) {
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
		if err := tx.SetPassword(ctx, u.ID, passwordHash); err != nil {
			return err
		}
		a := Actor{UserID: u.ID, Email: u.Email, IP: ip}
		return tx.Audit(ctx, entry(a, "user.password_set", "user", u.ID, "ok", fmt.Sprintf("through a sign-in link (%s)", l.Purpose)))
	})
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
