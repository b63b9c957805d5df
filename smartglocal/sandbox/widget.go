package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"countersign/card"
	sg "countersign/smartglocal"
)

// Tokenize stores a card the way the provider's tokenization widget does and
// returns its number_hash, usable as encrypted_card.number_hash and in
// token/info. The hash is hex(sha256(salt + number)) with a salt random per
// sandbox (provider-api.md §9.6); only last4, brand and bin are kept.
func (s *Sandbox) Tokenize(number string) (string, error) {
	if !card.ValidPAN(number) {
		return "", errors.New("sandbox: not a valid card number")
	}
	h := sha256.New()
	h.Write(s.salt)
	h.Write([]byte(number))
	hash := hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	s.cards[hash] = newCardDest(number)
	s.saveLocked()
	s.mu.Unlock()
	return hash, nil
}

// serveTokenize is POST /sandbox/tokenize {"number":"…"}: what the real
// widget does in the browser. It is not signed: the browser calls it.
func (s *Sandbox) serveTokenize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeResult(w, errResult(http.StatusMethodNotAllowed, sg.CodeInvalidRequest, "use POST"))
		return
	}
	var req struct {
		Number string `json:"number"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err != nil || json.Unmarshal(body, &req) != nil {
		writeResult(w, invalid(`body must be {"number":"…"}`))
		return
	}
	hash, err := s.Tokenize(req.Number)
	if err != nil {
		writeResult(w, invalid("number is not a valid card number"))
		return
	}
	writeResult(w, okResult(struct {
		Status     string `json:"status"`
		NumberHash string `json:"number_hash"`
		Last4      string `json:"last4"`
		Brand      string `json:"brand"`
	}{"ok", hash, card.Last4(req.Number), card.Brand(req.Number)}))
}

// widgetPage is the stand-in tokenization widget: a plain form, no script.
var widgetPage = template.Must(template.New("widget").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox card widget</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
label, input, button { display: block; font-size: 1rem; }
input { width: 100%; padding: .5rem; margin: .25rem 0 1rem; box-sizing: border-box; letter-spacing: .1em; }
button { padding: .5rem 1rem; }
.error { color: #b00020; }
code { word-break: break-all; }
p.note { color: #666; font-size: .875rem; }
</style>
</head>
<body>
<h1>Sandbox card widget</h1>
{{if .Hash}}
<p data-testid="tokenized">Card <strong>{{.Label}}</strong> is stored.</p>
{{if .ReturnTo}}
<form method="post" action="{{.ReturnTo}}">
<input type="hidden" name="number_hash" value="{{.Hash}}">
<button type="submit" autofocus data-testid="widget-return">Back to the console with this card</button>
</form>
{{else}}
<p>number_hash: <code data-testid="number-hash">{{.Hash}}</code></p>
{{end}}
{{else}}
<form method="post" action="/sandbox/widget" autocomplete="off">
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<label for="number">Card number</label>
<input id="number" name="number" inputmode="numeric" autocomplete="off" required maxlength="23" placeholder="4242 4242 4242 4242">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<button type="submit">Save card</button>
</form>
<p class="note">Simulated provider: the number stays in this sandbox, which keeps only its last four digits, brand and BIN. Test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined after confirm.</p>
{{end}}
</body>
</html>
`))

type widgetView struct {
	Hash, Label     string
	Error, ReturnTo string
}

// serveWidget is GET/POST /sandbox/widget. GET shows the form; POST stores
// the card and shows the result: with a return_to, a button that posts the
// card's number_hash back there (a form post, so the token never sits in a
// URL, and the console asks token/info what card it is rather than trusting
// the browser); without one, the token itself. return_to is honoured only
// for http(s) URLs on a loopback host, so the sandbox cannot be used to post
// anywhere else; anything else shows the token instead.
func (s *Sandbox) serveWidget(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Framing is allowed for loopback consoles only; no script runs here.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "+
		"frame-ancestors 'self' http://127.0.0.1:* http://localhost:* http://[::1]:*")
	h.Set("X-Content-Type-Options", "nosniff")
	// strict-origin, not no-referrer: with no-referrer a browser sends
	// "Origin: null" with the post back, and the console checks the Origin.
	h.Set("Referrer-Policy", "strict-origin")
	h.Set("Cache-Control", "no-store")

	switch r.Method {
	case http.MethodGet:
		s.renderWidget(w, http.StatusOK, widgetView{ReturnTo: r.URL.Query().Get("return_to")})
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		if err := r.ParseForm(); err != nil {
			s.renderWidget(w, http.StatusBadRequest, widgetView{Error: "The form could not be read."})
			return
		}
		returnTo := r.PostFormValue("return_to")
		number := strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(r.PostFormValue("number")))
		hash, err := s.Tokenize(number)
		if err != nil {
			// Never echo what was typed.
			s.renderWidget(w, http.StatusUnprocessableEntity, widgetView{Error: "That is not a valid card number.", ReturnTo: returnTo})
			return
		}
		v := widgetView{Hash: hash, Label: card.Label(card.Brand(number), card.Last4(number))}
		if u, ok := loopbackURL(returnTo); ok {
			v.ReturnTo = u.String()
		}
		s.renderWidget(w, http.StatusOK, v)
	default:
		h.Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Sandbox) renderWidget(w http.ResponseWriter, status int, v widgetView) {
	var buf bytes.Buffer
	if err := widgetPage.Execute(&buf, v); err != nil {
		s.log.Error("sandbox: render widget", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// loopbackURL parses raw and accepts it only as an http(s) URL whose host is
// localhost or a loopback IP.
func loopbackURL(raw string) (*url.URL, bool) {
	if raw == "" {
		return nil, false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return nil, false
	}
	host := u.Hostname()
	if host == "localhost" {
		return u, true
	}
	ip := net.ParseIP(host)
	return u, ip != nil && ip.IsLoopback()
}
