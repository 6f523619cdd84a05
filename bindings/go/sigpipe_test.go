package copilot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A CLI that dies while its request is being answered must be an error in
// the host, never a signal: a SIGPIPE raised on a thread Go did not start
// kills a Go program. The fake CLI asks for user input and exits at once.
// Either a Go handler answers half a second later (the write then happens on
// a Go thread) or, with no handler, the library answers at once on its own
// thread, into a connection whose reader is gone. The test process keeps
// Go's default signal handling.
func TestCLIDyingWhileItsRequestIsAnsweredRaisesNoSIGPIPE(t *testing.T) {
	fake := filepath.Join(repoRoot, "tests/hostile/fake_cli.py")
	for _, c := range []struct {
		tcp, handler bool
	}{{false, true}, {true, true}, {false, false}, {true, false}} {
		tcp := c.tcp
		name := map[bool]string{false: "stdio", true: "tcp"}[tcp] +
			map[bool]string{false: "/library-answers", true: "/handler-answers"}[c.handler]
		t.Run(name, func(t *testing.T) {
			no := false
			var conn RuntimeConnection = StdioConnection{Path: fake}
			if tcp {
				conn = TCPConnection{Path: fake}
			}
			client := NewClient(&ClientOptions{
				Connection:  conn,
				Env:         append(os.Environ(), "FAKE_CLI_MODE=input_then_exit", "FAKE_EXIT_CODE=42"),
				AutoRestart: &no,
			})
			defer client.Close()
			answered := make(chan struct{})
			cfg := &SessionConfig{}
			if c.handler {
				cfg.OnUserInputRequest = func(UserInputRequest, UserInputInvocation) (UserInputResponse, error) {
					defer close(answered)
					time.Sleep(500 * time.Millisecond)
					return UserInputResponse{Answer: "yes"}, nil
				}
			}
			session, err := client.CreateSession(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer session.Disconnect()
			if c.handler {
				select {
				case <-answered:
				case <-time.After(30 * time.Second):
					t.Fatal("the fake CLI's userInput.request never reached the handler")
				}
			}
			// Still alive: the answer met a dead CLI as an error. Later
			// calls fail as disconnected, naming how the CLI ended.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			deadline := time.Now().Add(20 * time.Second)
			for {
				_, err = client.Ping(ctx, "after the crash")
				if err != nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !errors.Is(err, ErrDisconnected) {
				t.Fatalf("ping after the CLI died: %v", err)
			}
			if !strings.Contains(err.Error(), "exit code 42") {
				t.Fatalf("the error does not say how the CLI ended: %v", err)
			}
		})
	}
}
