package stepup

import (
	"context"
	"encoding/base32"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"countersign/store"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// The settings of the second factor. They are changed through the admin
// service, under dual control when they loosen.
const (
	RolesSetting  = "stepup.required_roles" // comma-separated roles that must give a code
	WindowSetting = "stepup.window_seconds" // how long a correct code covers a session's decisions
)

// Defaults: approvers and admins give a code; a code covers five minutes.
var (
	DefaultRoles  = []string{"admin", "approver"}
	DefaultWindow = 5 * time.Minute
)

// MaxWindow is the longest step-up window the policy may set.
const MaxWindow = 30 * time.Minute

// Policy says who must give a second factor, and how long a code covers.
type Policy struct {
	Roles  []string // sorted
	Window time.Duration
}

// Policy reads the second-factor policy.
func (s *Service) Policy(ctx context.Context) (Policy, error) {
	return ReadPolicy(ctx, s.db.Setting)
}

// ReadPolicy reads the policy through get (a DB's or a transaction's
// Setting). A stored value that does not parse is an error, not a default:
// asking for less than the admins set is the worse failure.
func ReadPolicy(ctx context.Context, get func(ctx context.Context, key, def string) (string, error)) (Policy, error) {
	roles, err := get(ctx, RolesSetting, strings.Join(DefaultRoles, ","))
	if err != nil {
		return Policy{}, err
	}
	window, err := get(ctx, WindowSetting, strconv.Itoa(int(DefaultWindow/time.Second)))
	if err != nil {
		return Policy{}, err
	}
	secs, err := strconv.Atoi(window)
	if err != nil || secs < 0 || time.Duration(secs)*time.Second > MaxWindow {
		return Policy{}, fmt.Errorf("stored %s %q is not a number of seconds up to %d", WindowSetting, window, int(MaxWindow/time.Second))
	}
	p := Policy{Window: time.Duration(secs) * time.Second}
	for r := range strings.SplitSeq(roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			p.Roles = append(p.Roles, r)
		}
	}
	slices.Sort(p.Roles)
	return p, nil
}

// Save writes the policy in tx.
func (p Policy) Save(ctx context.Context, tx *store.Tx) error {
	if err := tx.SetSetting(ctx, RolesSetting, strings.Join(p.sorted(), ",")); err != nil {
		return err
	}
	return tx.SetSetting(ctx, WindowSetting, strconv.Itoa(int(p.Window/time.Second)))
}

func (p Policy) sorted() []string {
	r := slices.Clone(p.Roles)
	slices.Sort(r)
	return slices.Compact(r)
}

// Looser reports whether p asks less than old: a role no longer asked for a
// code, or a longer window.
func (p Policy) Looser(old Policy) bool {
	for _, r := range old.Roles {
		if !slices.Contains(p.Roles, r) {
			return true
		}
	}
	return p.Window > old.Window
}

// Equal reports whether p and o ask the same.
func (p Policy) Equal(o Policy) bool {
	return slices.Equal(p.sorted(), o.sorted()) && p.Window == o.Window
}

// String is the policy as people read it, for the audit log and the changes page.
func (p Policy) String() string {
	roles := "nobody"
	if len(p.Roles) > 0 {
		roles = strings.Join(p.sorted(), ", ")
	}
	return fmt.Sprintf("second factor for %s; a code covers %s", roles, p.Window)
}
