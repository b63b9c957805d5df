package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"countersign/store"
)

// Before sign-in there is no stored session, so the sign-in form's CSRF
// token cannot be bound to one. It is a signed double-submit token instead:
// a random nonce in a cookie (HttpOnly, SameSite=Strict) and, in the form,
// an HMAC of that nonce under a key only the server knows. A cross-site page
// can neither read the cookie nor compute the HMAC for a cookie it planted,
// and checkCSRF also refuses cross-site requests by Origin and
// Sec-Fetch-Site. Sign-in drops the cookie and issues the real session.

const (
	preLoginCookie   = "countersign_prelogin"
	preLoginLifetime = 12 * time.Hour
	// preLoginSecret names the key in the database: every instance over one
	// database signs with the same key.
	preLoginSecret = "prelogin_csrf"
)

// signer holds the pre-login key, read from the database on first use.
type signer struct {
	db  *store.DB
	mu  sync.Mutex
	key []byte
}

func (s *signer) sign(ctx context.Context, nonce string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key == nil {
		key, err := s.db.Secret(context.WithoutCancel(ctx), preLoginSecret)
		if err != nil {
			return "", err
		}
		s.key = key
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("countersign pre-login csrf\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// preLoginToken returns the anonymous visitor's CSRF token, setting the
// nonce cookie when the browser has none. Nothing is written to the database.
func (a *app) preLoginToken(c echo.Context) (string, error) {
	req := current(c)
	if req.preLogin == "" {
		if ck, err := c.Cookie(preLoginCookie); err == nil && len(ck.Value) == len(randomToken()) {
			req.preLogin = ck.Value
		} else {
			req.preLogin = randomToken()
			c.SetCookie(a.preLoginCookie(req.preLogin, int(preLoginLifetime/time.Second)))
		}
	}
	return a.signer.sign(c.Request().Context(), req.preLogin)
}

// checkPreLoginToken reports whether got is the token of the request's nonce cookie.
func (a *app) checkPreLoginToken(c echo.Context, got string) (bool, error) {
	ck, err := c.Cookie(preLoginCookie)
	if err != nil || ck.Value == "" || got == "" {
		return false, nil
	}
	want, err := a.signer.sign(c.Request().Context(), ck.Value)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1, nil
}

// dropPreLoginCookie tells the browser to forget the nonce (at sign-in).
func (a *app) dropPreLoginCookie(c echo.Context) {
	c.SetCookie(a.preLoginCookie("", -1))
}

func (a *app) preLoginCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: preLoginCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.SecureCookies, SameSite: http.SameSiteStrictMode}
}
