package copilot

import (
	"os"
	"sync"
	"testing"
	"time"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// Each client's callbacks run on a dispatch goroutine of its own (real CLI).
// Close ends it without waiting for it, called from another goroutine or
// from one of the client's own handlers (on that goroutine, mid-dispatch),
// and the loop's duplicate of the dispatch fd is closed with the rest (the
// sessions are freed too: a live session handle keeps its client's runtime).
func TestDispatchLoopEndsWithTheClient(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	before := openFDs(t)
	for _, fromHandler := range []bool{false, true} {
		c := env.client(t)
		loop := c.conn.dispatch
		if loop == nil {
			t.Fatal("a client without a dispatch loop")
		}
		closedByHandler := make(chan struct{})
		var cfg SessionConfig
		var once sync.Once
		if fromHandler {
			cfg.OnEvent = func(e SessionEvent) {
				if e.Type() == SessionEventTypeAssistantMessage {
					c.Close()
					once.Do(func() { close(closedByHandler) })
				}
			}
		}
		s, err := c.CreateSession(within(t, 30*time.Second), env.config(cfg))
		if err != nil {
			t.Fatal(err)
		}
		if fromHandler {
			if _, err := s.Send(within(t, 10*time.Second), MessageOptions{Prompt: "What is the capital of France?"}); err != nil {
				t.Fatal(err)
			}
			receive(t, within(t, 30*time.Second), closedByHandler, "Close from the event handler")
			_ = s.Disconnect() // its client is gone: this only frees the handle
		} else {
			if _, err := s.SendAndWait(within(t, 30*time.Second), MessageOptions{Prompt: "What is the capital of France?"}); err != nil {
				t.Fatal(err)
			}
			if err := s.Disconnect(); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			c.Close()
			if d := time.Since(start); d > time.Second {
				t.Fatalf("Close took %v", d)
			}
		}
		select {
		case <-loop.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("the dispatch loop still runs 10 s after Close (from a handler: %v)", fromHandler)
		}
	}
	// The CLIs' pipes close as they exit: wait for the count to come back.
	deadline := time.Now().Add(10 * time.Second)
	for openFDs(t) > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if after := openFDs(t); after > before {
		t.Fatalf("%d file descriptors open before two clients, %d after they were closed", before, after)
	}
}
