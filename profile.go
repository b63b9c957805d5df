package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startCPUProfile profiles the whole process into path until the returned
// function is called (at shutdown). It is for measuring the console under a
// benchmark (COUNTERSIGN_CPU_PROFILE, which go run ./bench sets with
// -console-profile), not a setting of the product: nothing is served, and the
// file is written only when the console stops.
func startCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
