package handlers

import (
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"countersign/views"
	"countersign/zones"
)

// clock shows times to the signed-in person in the zone they chose; UTC to
// anyone else.
func (a *app) clock(c echo.Context) views.Clock {
	if u := currentUser(c); u != nil {
		return views.Clock{Loc: zones.Location(u.TimeZone)}
	}
	return views.Clock{Loc: time.UTC}
}

// zoneRegions groups the list for a select: UTC alone, then by region.
func zoneRegions() []views.ZoneRegion {
	var out []views.ZoneRegion
	for _, z := range zones.Names() {
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
