package password

import (
	"context"
	"runtime"
	"time"

	"countersign/fail"
)

// ErrBusy refuses a sign-in that found every hashing slot taken for longer
// than the limiter waits: the server is busy, not the person wrong.
var ErrBusy = fail.New(fail.Unavailable, "password_busy", "Too many people are signing in right now. Try again in a few seconds.")

// Limiter bounds how many argon2id computations run at once. Each takes 19
// MiB: without a bound, a few hundred parallel sign-ins (even with unknown
// emails, which are hashed against a decoy) take gigabytes. A computation
// that finds no free slot waits a little, then is refused with ErrBusy.
type Limiter struct {
	slots chan struct{}
	wait  time.Duration
}

// NewLimiter lets n computations run at once and makes others wait up to wait.
func NewLimiter(n int, wait time.Duration) *Limiter {
	return &Limiter{slots: make(chan struct{}, max(n, 1)), wait: wait}
}

// Acquire takes a slot, waiting at most the limiter's wait, and returns the
// function that gives it back. Take the slot before anything that must not
// happen unless the hash is computed (counting a sign-in attempt, say).
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
	default:
		t := time.NewTimer(l.wait)
		defer t.Stop()
		select {
		case l.slots <- struct{}{}:
		case <-t.C:
			return nil, ErrBusy
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return func() {
		<-l.slots
		// The computation's 19 MiB are garbage once it is done, but the
		// collector waits for the heap to double since its last run: five
		// sign-ins in a row stacked up 19 MiB each (26 MB → 86 MB). Collecting
		// now costs a millisecond or two against the hash's 40, and the next
		// computation takes the same memory again.
		runtime.GC()
	}, nil
}

// Hash is Hash in a slot.
func (l *Limiter) Hash(ctx context.Context, pw string) (string, error) {
	release, err := l.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return Hash(pw), nil
}
