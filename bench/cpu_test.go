package main

import (
	"os"
	"testing"
	"time"
)

// The burst's CPU figures come from /proc: a process that spins for half a
// second must show at least some of it, in its own count and the machine's.
func TestCPUTicksCountWork(t *testing.T) {
	before, err := cpuNow(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < 500*time.Millisecond; {
	}
	after, err := cpuNow(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	used := after.since(before)
	if used.Clients < ticksPerSecond/10 || used.Console < ticksPerSecond/10 {
		t.Errorf("spinning half a second used %d ticks (read as the console: %d), want at least %d", used.Clients, used.Console, ticksPerSecond/10)
	}
	if used.Busy < used.Clients/2 || used.Idle < 0 {
		t.Errorf("machine busy %d ticks, idle %d, while this process used %d", used.Busy, used.Idle, used.Clients)
	}
}
