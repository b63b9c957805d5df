package views

import "time"

// Clock shows times to one person: in the time zone they chose on /account,
// with the zone named, so that nobody has to guess what "14:03" means.
type Clock struct {
	Loc *time.Location // nil is UTC
}

func (c Clock) loc() *time.Location {
	if c.Loc == nil {
		return time.UTC
	}
	return c.Loc
}

// Zone is the IANA name of the clock's time zone, e.g. "Europe/Berlin".
func (c Clock) Zone() string { return c.loc().String() }

// Time is t to the minute with the zone's abbreviation: "2026-11-21 14:03 CET";
// "—" for the zero time (never happened).
func (c Clock) Time(t time.Time) string { return c.format(t, "2006-01-02 15:04 MST") }

// Seconds is Time to the second, for the timeline and the audit log.
func (c Clock) Seconds(t time.Time) string { return c.format(t, "2006-01-02 15:04:05 MST") }

// Day is t's date in the zone: "2026-11-21".
func (c Clock) Day(t time.Time) string { return c.format(t, time.DateOnly) }

func (c Clock) format(t time.Time, layout string) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(c.loc()).Format(layout)
}
