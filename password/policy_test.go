package password

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	ann := Account{Email: "ann.smith@example.com", Name: "Ann Smith"}
	for _, tc := range []struct {
		pw   string
		want error
	}{
		{"short", ErrTooShort},
		{"elevenchars", ErrTooShort},
		{"twelve chars", nil},
		{"ünïcødé pässwörd", nil},
		{"correct horse battery", nil},
		{strings.Repeat("x", MaxLength+1), ErrTooLong},
		// What the attack run got accepted.
		{"aaaaaaaaaaaa", ErrRepeated},
		{"            ", ErrRepeated},
		{"123456789012", ErrDigitsOnly},
		{"password1234", ErrCommon},
		{"ann.smith@example.com", ErrPersonal},
		// The account's own words, however dressed.
		{"Ann.Smith@Example.com!", ErrPersonal},
		{"annsmith2026", ErrPersonal},
		{"ANN SMITH 1234", ErrPersonal},
		{"ann.smith123456", ErrPersonal},
		// Common passwords, and common words with only digits or symbols added.
		{"qwertyuiopasdfgh", nil},
		{"baseball!!!!", ErrCommon},
		{"Sunshine2026!", ErrCommon},
		{"1qaz2wsx3edc", ErrCommon},
		{"iloveyou1234", ErrCommon},
	} {
		err := Check(tc.pw, ann)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Check(%.20q) = %v; want %v", tc.pw, err, tc.want)
		}
	}
}

func TestCommonListShipped(t *testing.T) {
	set := commonSet()
	if n := len(set); n < 5000 || n > 6000 {
		t.Errorf("%d common passwords shipped, want the list's 5,000 most common and its long ones", n)
	}
	for _, w := range []string{"123456", "password", "qwerty", "password1234", "123456789012"} {
		if !set[w] {
			t.Errorf("%q is not on the list", w)
		}
	}
}

func TestLimiterBoundsConcurrentHashing(t *testing.T) {
	l := NewLimiter(2, 10*time.Millisecond)
	var mu sync.Mutex
	running, peak, busy := 0, 0, 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			release, err := l.Acquire(context.Background())
			if errors.Is(err, ErrBusy) {
				mu.Lock()
				busy++
				mu.Unlock()
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			defer release()
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			mu.Lock()
			running--
			mu.Unlock()
		})
	}
	wg.Wait()
	if peak > 2 {
		t.Errorf("%d computations ran at once, limit 2", peak)
	}
	if busy == 0 {
		t.Error("no computation was refused although 20 wanted 2 slots for longer than the wait")
	}
}

// TestHashingLeavesNoHeapBehind: a computation's 19 MiB are collected as
// its slot is given back, so sign-ins one after another do not stack them
// up before the collector would get round to it.
func TestHashingLeavesNoHeapBehind(t *testing.T) {
	l := NewLimiter(2, time.Second)
	var m runtime.MemStats
	for i := range 5 {
		if _, err := l.Hash(t.Context(), "correct horse battery staple"); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m)
		if m.HeapAlloc > argonMemory<<10 {
			t.Fatalf("after hash %d the heap holds %d MiB, more than one computation's %d MiB", i+1, m.HeapAlloc>>20, argonMemory>>10)
		}
	}
}
