package admin

import (
	"errors"
	"strconv"
	"testing"
)

// TestSetTimeZone: a zone on the list is stored with its audit entry; any
// other is refused, and nothing is stored or recorded.
func TestSetTimeZone(t *testing.T) {
	f := newFixture(t)
	mia := f.user("mia@example.com", "Mia")
	a := f.actor(mia)
	before := f.load(mia.ID).TimeZone
	for _, bad := range []string{"", "Mars/Olympus_Mons", "Local", "europe/berlin"} {
		if err := f.s.SetTimeZone(t.Context(), a, bad); !errors.Is(err, ErrTimeZone) {
			t.Errorf("zone %q: %v; want ErrTimeZone", bad, err)
		}
	}
	if got := f.load(mia.ID).TimeZone; got != before {
		t.Errorf("a refused zone was stored: %q", got)
	}
	if es := f.audits("user.time_zone"); len(es) != 0 {
		t.Errorf("a refused zone was recorded: %+v", es)
	}
	if err := f.s.SetTimeZone(t.Context(), a, "Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	if got := f.load(mia.ID).TimeZone; got != "Europe/Berlin" {
		t.Errorf("zone %q stored; want Europe/Berlin", got)
	}
	es := f.audits("user.time_zone")
	if len(es) != 1 || es[0].ActorID != mia.ID || es[0].ObjectID != strconv.FormatInt(mia.ID, 10) || es[0].Detail != before+" → Europe/Berlin" {
		t.Errorf("audit %+v; want one entry by Mia about herself, old → new", es)
	}
}
