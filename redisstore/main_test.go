package redisstore

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs a fleet worker when TestFleet started this binary as one
// (see fleet_test.go), else the tests, failing the package if one leaves a
// goroutine behind.
func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		os.Exit(fleetWorker())
	}
	goleak.VerifyTestMain(m)
}
