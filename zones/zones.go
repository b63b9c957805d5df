// Package zones is the list of time zones a person may read times in.
package zones

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // every zone on the list loads, whatever the machine has installed
)

//go:embed zones.txt
var file string

// Names is the list, UTC first.
var Names = sync.OnceValue(func() []string {
	var out []string
	for _, line := range strings.Split(file, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
})

// Valid reports whether name is on the list: nothing else is stored.
func Valid(name string) bool { return slices.Contains(Names(), name) }

var locations sync.Map // zone name → *time.Location

// Location returns the zone named, loaded once; UTC for anything that does
// not load (a name stored before the list changed).
func Location(name string) *time.Location {
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
