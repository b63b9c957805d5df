// Package views renders the console's pages with templ. Templates take view
// models built by the handlers and know nothing of the store or the provider.
package views

// Frame is what every page's layout needs: who is signed in, the CSRF token for
// its forms, the navigation they may use, and any messages.
type Frame struct {
	Title   string
	User    *User // nil when nobody is signed in
	CSRF    string
	Nav     []NavItem
	Active  string // Nav item Href that is current
	Flashes []Flash
	Banners []string // shown to everyone, e.g. a low balance
	Sandbox bool
	Clock   Clock // the signed-in person's time zone
	// StepUp is what decision forms say about the second factor.
	StepUp StepUp
	// ChangesWaiting is, for admins, how many admin changes wait for a
	// second admin; LoneAdmin says there is no second admin to approve them.
	ChangesWaiting int
	LoneAdmin      bool
}

// StepUp says whether this person's decisions need a code, and until when
// the code they gave last covers them ("" when it covers nothing now).
type StepUp struct {
	Required bool
	Until    string
}

// User is the signed-in person as the frame shows them.
type User struct {
	ID    int64
	Name  string
	Email string
	Roles []string
}

// NavItem is one link in the navigation.
type NavItem struct {
	Href  string
	Label string
}

// Flash is a one-time message after a redirect.
type Flash struct {
	Kind string // "ok", "error", "warn" or "info"
	Text string
}

// FieldErrors maps a form field name to what is wrong with it.
type FieldErrors map[string]string

// Has reports whether the field has an error.
func (e FieldErrors) Has(field string) bool { _, ok := e[field]; return ok }
