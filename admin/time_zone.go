package admin

import (
	"context"

	"countersign/fail"
	"countersign/store"
	"countersign/zones"
)

// ErrTimeZone refuses a time zone that is not on the list.
var ErrTimeZone = fail.New(fail.Invalid, "time_zone_unknown", "Pick a time zone from the list")

// SetTimeZone stores the zone a person reads times in, with its audit entry.
// It is the one setting anyone signed in changes for themselves, at once:
// it changes how times are shown to them, and nothing anyone else sees.
func (s *Service) SetTimeZone(ctx context.Context, a Actor, zone string) error {
	if !zones.Valid(zone) {
		return ErrTimeZone
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByID(ctx, a.UserID)
		if err != nil {
			return err
		}
		if err := tx.SetUserTimeZone(ctx, u.ID, zone); err != nil {
			return err
		}
		return tx.Audit(ctx, entry(a, "user.time_zone", "user", u.ID, "ok", u.TimeZone+" → "+zone))
	})
}
