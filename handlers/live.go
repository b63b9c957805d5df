package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"countersign/views"
)

// Live pages (the queue, a payout that is not final, the dashboard's counts)
// keep themselves up to date by polling: htmx asks the page's live URL every
// few seconds and swaps the live part in. Polling, rather than server-sent
// events or websockets, because it goes through any proxy and load balancer
// as plain requests, holds no connection open per tab, needs nothing more
// than the strict CSP already allows, and reads the state from the database,
// so any console instance can answer any poll.
//
// Polls carry two headers: headerPoll, so that a background refresh does not
// count as the person doing something (their idle time keeps running), and
// headerSeen, the fingerprint of what the page shows. When the answer would
// be the same, the server says 204 and htmx leaves the page alone: nothing
// flickers, focus stays where it is, a half-typed reason stays typed. When it
// changed, the new part comes with its new fingerprint; buttons keep their
// ids, so htmx puts focus back on the one that had it.
const (
	headerPoll = "X-Countersign-Poll"
	headerSeen = "X-Countersign-Seen"
)

// fingerprint returns poll with Seen set to the fingerprint of what
// fragment renders, so that a page is sent with the fingerprint its first
// poll will compare.
func fingerprint(c echo.Context, poll views.Poll, fragment func(views.Poll) templ.Component) (views.Poll, error) {
	if poll.Every == "" {
		return poll, nil // final: no polling, nothing to compare
	}
	var buf bytes.Buffer
	poll.Seen = ""
	if err := fragment(poll).Render(c.Request().Context(), &buf); err != nil {
		return poll, err
	}
	sum := sha256.Sum256(buf.Bytes())
	poll.Seen = hex.EncodeToString(sum[:12])
	return poll, nil
}

// renderLive answers a poll: 204 when the page already shows what fragment
// would render, else the fragment with its new fingerprint.
func renderLive(c echo.Context, poll views.Poll, fragment func(views.Poll) templ.Component) error {
	poll, err := fingerprint(c, poll, fragment)
	if err != nil {
		return err
	}
	if seen := c.Request().Header.Get(headerSeen); seen != "" && seen == poll.Seen {
		return c.NoContent(http.StatusNoContent)
	}
	return render(c, http.StatusOK, fragment(poll))
}
