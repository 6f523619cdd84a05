package copilot

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
)

// What the model was sent, from copilot-replay's request log: the appended
// system message, the custom tool's declaration, and the tool's result text.
func TestTheModelReceivesTheSystemMessageAndTheToolResult(t *testing.T) {
	env := newEnv(t, "weather_tool.yaml")
	const marker = "Answer like a weather reporter (marker 7f3a)."
	var calls atomic.Int32
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		SystemMessage:       &SystemMessageConfig{Mode: "append", Content: marker},
		Tools:               []Tool{weatherTool(&calls, sunny)},
		OnPermissionRequest: PermissionHandler.ApproveAll,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, s, parisPrompt); got != "It is 18C and sunny in Paris." {
		t.Fatalf("answer %q", got)
	}

	requests := env.replay.Requests()
	if len(requests) != 2 {
		t.Fatalf("%d model requests, want the tool call's and the answer's", len(requests))
	}
	for i, r := range requests {
		if r.Method != "POST" || !strings.HasSuffix(r.Path, "/chat/completions") {
			t.Fatalf("request %d: %s %s", i, r.Method, r.Path)
		}
		if !contains(r.ToolNames(), "get_weather") {
			t.Fatalf("request %d offers tools %v, not get_weather", i, r.ToolNames())
		}
		m := r.Messages()
		if len(m) == 0 || m[0].Role != "system" || !strings.Contains(m[0].Text(), marker) {
			t.Fatalf("request %d: the system message lacks the appended text", i)
		}
	}
	// The second request carries the tool's result, answering the first's call.
	msgs := requests[1].Messages()
	result := msgs[len(msgs)-1]
	call := msgs[len(msgs)-2]
	if call.Role != "assistant" || len(call.ToolCalls) != 1 || call.ToolCalls[0].Function.Name != "get_weather" {
		t.Fatalf("the message before the result is not the get_weather call: %+v", call)
	}
	if result.Role != "tool" || result.ToolCallID != call.ToolCalls[0].ID || !strings.Contains(result.Text(), "18C and sunny") {
		t.Fatalf("the last message is not the tool's result: %+v (%s)", result, result.Text())
	}
}
