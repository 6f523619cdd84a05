package copilot

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// A permission handler answering no-result sends nothing: the request stays
// pending until this test answers it by RPC, and the turn then completes with
// that answer (a "user-not-available" sent instead would have denied the tool).
func TestNoResultPermissionLeavesTheRequestPending(t *testing.T) {
	env := newEnv(t, "weather_tool.yaml")
	var calls atomic.Int32
	asked := make(chan string, 4)
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		Tools: []Tool{weatherTool(&calls, sunny)},
		OnPermissionRequest: func(_ PermissionRequest, inv PermissionInvocation) (rpc.PermissionDecision, error) {
			asked <- inv.RequestID
			return &PermissionDecisionNoResult{}, nil
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := within(t, 20*time.Second)
	type answer struct {
		ev  *SessionEvent
		err error
	}
	done := make(chan answer, 1)
	go func() {
		ev, err := s.SendAndWait(ctx, MessageOptions{Prompt: parisPrompt})
		done <- answer{ev, err}
	}()
	id := receive(t, ctx, asked, "permission request")
	var pending struct {
		Items []struct {
			RequestID string `json:"requestId"`
		} `json:"items"`
	}
	if err := s.Call(ctx, "session.permissions.pendingRequests", nil, &pending); err != nil {
		t.Fatal(err)
	}
	if len(pending.Items) != 1 || pending.Items[0].RequestID != id {
		t.Fatalf("pending %+v, asked %s", pending, id)
	}
	if calls.Load() != 0 {
		t.Fatal("the tool ran before anyone approved it")
	}
	var res struct {
		Success bool `json:"success"`
	}
	if err := s.Call(ctx, "session.permissions.handlePendingPermissionRequest",
		map[string]any{"requestId": id, "result": map[string]any{"kind": "approve-once"}}, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Success {
		t.Fatal("the request was no longer pending: something answered it")
	}
	a := receive(t, ctx, done, "end of the turn")
	if a.err != nil {
		t.Fatal(a.err)
	}
	if got := content(t, a.ev); got != "It is 18C and sunny in Paris." || calls.Load() != 1 {
		t.Fatalf("answer %q, tool calls %d", got, calls.Load())
	}
}
