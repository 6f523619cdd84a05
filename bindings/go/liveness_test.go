package copilot

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestCrashedCLIIsRestartedAndTheSessionContinues(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	c := env.client(t)
	var mu sync.Mutex
	var states []ClientState
	if err := c.OnStateChange(func(s ClientState, _ string) { mu.Lock(); states = append(states, s); mu.Unlock() }); err != nil {
		t.Fatal(err)
	}
	s, err := c.CreateSession(context.Background(), env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, s, "What is the capital of France?"); got != "The capital of France is Paris." {
		t.Fatalf("answer %q", got)
	}
	old := c.PID()
	_ = syscall.Kill(old, syscall.SIGKILL)
	deadline := time.Now().Add(30 * time.Second)
	for c.PID() == old || c.PID() == 0 || c.State() != StateConnected {
		if time.Now().After(deadline) {
			mu.Lock() // the handler may still be appending
			defer mu.Unlock()
			t.Fatalf("not restarted; states %v", states)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := ask(t, s, "And the capital of Italy?"); got != "The capital of Italy is Rome." {
		t.Fatalf("answer after restart %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	sawRestarting := false
	for _, st := range states {
		sawRestarting = sawRestarting || st == StateRestarting
	}
	if !sawRestarting {
		t.Fatalf("states %v", states)
	}
}

func TestStallGuard(t *testing.T) {
	env := newEnv(t, "stall.yaml")
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.SendAndWaitWith(context.Background(), MessageOptions{Prompt: "This request never gets an answer."},
		WaitOptions{MaxSilence: time.Second, AbortOnStall: true})
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("want ErrStalled, got %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("the guard fired only after %v", d)
	}
}
