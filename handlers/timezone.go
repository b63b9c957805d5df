package handlers

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // every zone on the list loads, whatever the machine has installed

	"github.com/labstack/echo/v4"

	"countersign/views"
)

//go:embed zones.txt
var zonesFile string

// zoneNames is the list a person picks a time zone from, UTC first.
var zoneNames = sync.OnceValue(func() []string {
	var out []string
	for _, line := range strings.Split(zonesFile, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
})

// validZone reports whether name is on the list: nothing else is stored.
func validZone(name string) bool { return slices.Contains(zoneNames(), name) }

var locations sync.Map // zone name → *time.Location

// location returns the zone named, loaded once; UTC for anything that does
// not load (a name stored before the list changed).
func location(name string) *time.Location {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil || name == "" {
		l = time.UTC
	}
	locations.Store(name, l)
	return l
}

// clock shows times to the signed-in person in the zone they chose; UTC to
// anyone else.
func (a *app) clock(c echo.Context) views.Clock {
	if u := currentUser(c); u != nil {
		return views.Clock{Loc: location(u.TimeZone)}
	}
	return views.Clock{Loc: time.UTC}
}

// zoneRegions groups the list for a select: UTC alone, then by region.
func zoneRegions() []views.ZoneRegion {
	var out []views.ZoneRegion
	for _, z := range zoneNames() {
		region, place, ok := strings.Cut(z, "/")
		if !ok {
			region, place = "", z
		}
		if len(out) == 0 || out[len(out)-1].Name != region {
			out = append(out, views.ZoneRegion{Name: region})
		}
		last := &out[len(out)-1]
		last.Zones = append(last.Zones, views.Option{Value: z, Label: strings.ReplaceAll(place, "_", " ")})
	}
	return out
}
