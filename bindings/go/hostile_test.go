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

// fakeClient starts a client on the hostile fake CLI in `mode`.
func fakeClient(t *testing.T, mode string, opts ClientOptions) *Client {
	t.Helper()
	no := false
	opts.CLIPath = filepath.Join(repoRoot, "tests/hostile/fake_cli.py")
	opts.Env = append(os.Environ(), "FAKE_CLI_MODE="+mode)
	opts.AutoRestart = &no
	client := NewClient(&opts)
	t.Cleanup(client.Close)
	return client
}

// Input the library had to drop is visible to the host: the fake answers a
// send with an event nested a million levels deep, one with invalid UTF-8,
// one for an unknown session, then session.idle.
func TestDroppedInputIsCountedInStats(t *testing.T) {
	client := fakeClient(t, "bad_events", ClientOptions{})
	idle := make(chan struct{}, 1)
	session, err := client.CreateSession(context.Background(), &SessionConfig{
		OnEvent: func(e SessionEvent) {
			if e.Type() == SessionEventTypeSessionIdle {
				idle <- struct{}{}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer session.Disconnect()
	if st, err := client.Stats(); err != nil || st.DroppedMessages != 0 {
		t.Fatalf("before the send: %+v, %v", st, err)
	}
	if _, err := session.Send(context.Background(), MessageOptions{Prompt: "hi"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-idle:
	case <-time.After(30 * time.Second):
		t.Fatal("no session.idle after the bad events")
	}
	st, err := client.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.DroppedMessages != 3 || st.LastDropReason == "" {
		t.Fatalf("three dropped events expected, with a reason: %+v", st)
	}
}

// RequestTimeout bounds a request the CLI never answers (the fake goes mute
// once the session is created), and the error says it got no reply.
func TestRequestTimeoutBoundsAnUnansweredRequest(t *testing.T) {
	client := fakeClient(t, "mute", ClientOptions{RequestTimeout: 1500 * time.Millisecond})
	session, err := client.CreateSession(context.Background(), &SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer session.Disconnect()
	started := time.Now()
	_, err = session.Send(context.Background(), MessageOptions{Prompt: "hi"})
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "no reply") {
		t.Fatalf("want a timeout naming the missing reply, got %v", err)
	}
	if took := time.Since(started); took < 1500*time.Millisecond {
		t.Fatalf("timed out before the limit: %v", took)
	}
}

// ExtraEnv reaches the CLI on top of the inherited environment: the fake's
// mode comes from it alone here.
func TestExtraEnvAddsToTheInheritedEnvironment(t *testing.T) {
	no := false
	client := NewClient(&ClientOptions{
		CLIPath:        filepath.Join(repoRoot, "tests/hostile/fake_cli.py"),
		ExtraEnv:       []string{"FAKE_CLI_MODE=mute"},
		AutoRestart:    &no,
		RequestTimeout: time.Second,
	})
	t.Cleanup(client.Close)
	session, err := client.CreateSession(context.Background(), &SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer session.Disconnect()
	// Muted by the extra variable: the send gets no reply. (Without it the
	// fake answers, so this fails if ExtraEnv is lost.)
	if _, err := session.Send(context.Background(), MessageOptions{Prompt: "hi"}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("the fake did not get FAKE_CLI_MODE from ExtraEnv: %v", err)
	}
}
