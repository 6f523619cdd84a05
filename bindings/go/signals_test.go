package copilot

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Native code that installs signal handlers without SA_ONSTACK crashes Go
// programs when the signal lands on a goroutine stack. Start and stop the CLI
// repeatedly while this process is pelted with SIGCHLD and SIGURG.
func TestStartStopUnderSignals(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, sig := range []syscall.Signal{syscall.SIGCHLD, syscall.SIGURG} {
		wg.Add(1)
		go func(sig syscall.Signal) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					_ = syscall.Kill(os.Getpid(), sig)
					time.Sleep(200 * time.Microsecond)
				}
			}
		}(sig)
	}
	for i := 0; i < 5; i++ {
		c := env.client(t)
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Ping(context.Background(), "under fire"); err != nil {
			t.Fatal(err)
		}
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	close(stop)
	wg.Wait()
}
