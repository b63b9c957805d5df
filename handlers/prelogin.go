package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
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
)

// signer signs pre-login nonces. Its key is derived from the secret key file
// (Config.PreLoginKey), which every instance of one installation shares, so
// a form served by one instance is accepted by another.
type signer struct{ key []byte }

func (s signer) sign(nonce string) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("countersign pre-login csrf\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// preLoginToken returns the anonymous visitor's CSRF token, setting the
// nonce cookie when the browser has none. Nothing is written to the database.
func (a *app) preLoginToken(c echo.Context) string {
	req := current(c)
	if req.preLogin == "" {
		if ck, err := c.Cookie(preLoginCookie); err == nil && len(ck.Value) == len(randomToken()) {
			req.preLogin = ck.Value
		} else {
			req.preLogin = randomToken()
			c.SetCookie(a.preLoginCookie(req.preLogin, int(preLoginLifetime/time.Second)))
		}
	}
	return a.signer.sign(req.preLogin)
}

// checkPreLoginToken reports whether got is the token of the request's nonce cookie.
func (a *app) checkPreLoginToken(c echo.Context, got string) bool {
	ck, err := c.Cookie(preLoginCookie)
	if err != nil || ck.Value == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(a.signer.sign(ck.Value))) == 1
}

// dropPreLoginCookie tells the browser to forget the nonce (at sign-in).
func (a *app) dropPreLoginCookie(c echo.Context) {
	c.SetCookie(a.preLoginCookie("", -1))
}

func (a *app) preLoginCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: preLoginCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.SecureCookies, SameSite: http.SameSiteStrictMode}
}
