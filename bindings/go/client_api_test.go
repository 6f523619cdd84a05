package copilot

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// The official SDK's client and session helpers, against the real CLI.
func TestStatusAuthSessionsAndModelHelpers(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	client := env.client(t)
	ctx := context.Background()
	// Listing starts the client, as in the official SDK; GetStatus does not.
	if _, err := client.GetStatus(ctx); !isStatus(err, StatusInvalidState) {
		t.Fatalf("GetStatus before Start: %v", err)
	}
	if _, err := client.ListSessions(ctx, nil); err != nil || client.State() != StateConnected {
		t.Fatalf("ListSessions on a client not started: %v, state %v", err, client.State())
	}
	status, err := client.GetStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if status.Version == "" || status.ProtocolVersion < 3 {
		t.Fatalf("status: %+v", status)
	}
	auth, err := client.GetAuthStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if auth.IsAuthenticated || auth.StatusMessage == nil {
		t.Fatalf("auth of a client with no token: %+v", auth)
	}

	var mu sync.Mutex
	var logged []string
	s, err := client.CreateSession(ctx, env.config(SessionConfig{
		OnEvent: func(e SessionEvent) {
			if d, ok := e.Data.(*SessionInfoData); ok {
				mu.Lock()
				logged = append(logged, d.Message)
				mu.Unlock()
			}
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := client.GetSessionMetadata(ctx, s.SessionID); err != nil || m != nil {
		t.Fatalf("metadata before the first turn: %+v, %v", m, err)
	}
	answer, err := s.SendPromptAndWait(ctx, "What is the capital of France?")
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := answer.Data.(*AssistantMessageData); !ok || m.Content == "" {
		t.Fatalf("answer: %s", answer.Raw)
	}

	// Listed once the first turn ended; the filter narrows by working directory.
	var listed []SessionMetadata
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		listed, err = client.ListSessions(ctx, &SessionListFilter{WorkingDirectory: env.home})
		if err != nil {
			t.Fatal(err)
		}
		if len(listed) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(listed) != 1 || listed[0].SessionID != s.SessionID || listed[0].StartTime.IsZero() ||
		listed[0].Context == nil || listed[0].Context.WorkingDirectory != env.home {
		t.Fatalf("sessions in %s: %+v", env.home, listed)
	}
	if none, err := client.ListSessions(ctx, &SessionListFilter{WorkingDirectory: "/nonexistent"}); err != nil || len(none) != 0 {
		t.Fatalf("sessions in /nonexistent: %+v, %v", none, err)
	}
	m, err := client.GetSessionMetadata(ctx, s.SessionID)
	if err != nil || m == nil || m.SessionID != s.SessionID {
		t.Fatalf("metadata after the turn: %+v, %v", m, err)
	}

	events, err := s.GetEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 3 || events[0].Type() != SessionEventTypeSessionStart {
		t.Fatalf("history: %d events, first %v", len(events), events[0].Type())
	}

	effort := "high"
	if err := s.SetModel(ctx, "gpt-5", &SetModelOptions{ReasoningEffort: &effort}); err != nil {
		t.Fatal(err)
	}
	current, err := s.RPC.Model.GetCurrent(ctx)
	if err != nil || current.ModelID == nil || *current.ModelID != "gpt-5" {
		t.Fatalf("model after SetModel: %+v, %v", current, err)
	}

	if err := s.Log(ctx, "hello from the host", &LogOptions{Level: rpc.SessionLogLevelInfo}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(logged)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no session.info event for Log")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if logged[0] != "hello from the host" {
		t.Fatalf("logged %q", logged)
	}
}

// SessionConfig's pass-through fields reach session.create under the wire
// names the CLI reads.
func TestSessionConfigWireNames(t *testing.T) {
	cfg := &SessionConfig{
		Streaming: Bool(false), EnableExperimentalMode: Bool(true), ConfigDirectory: "/cfg",
		EnableMCPApps: true, ExcludedBuiltInAgents: []string{"x"}, AuthClientIDMetadataURL: "u",
		DisabledMCPServers: []string{}, ClientName: "host", FeatureFlags: map[string]bool{"f": true},
	}
	raw, err := cfg.fieldsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"streaming": false, "isExperimentalMode": true, "configDir": "/cfg", "requestMcpApps": true,
		"excludedBuiltinAgents": []any{"x"}, "authClientIdMetadataUrl": "u", "disabledMcpServers": []any{},
		"clientName": "host", "featureFlags": map[string]any{"f": true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("wire fields:\n got %v\nwant %v", got, want)
	}
}

// A pass-through field the real CLI reports back: the client name in the
// session's listing.
func TestClientNameReachesTheCLI(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	client := env.client(t)
	ctx := context.Background()
	s, err := client.CreateSession(ctx, env.config(SessionConfig{ClientName: "libcopilot-go-test"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendPromptAndWait(ctx, "What is the capital of France?"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var r struct {
			Sessions []struct {
				SessionID  string `json:"sessionId"`
				ClientName string `json:"clientName"`
			} `json:"sessions"`
		}
		if err := client.Call(ctx, "session.list", nil, &r); err != nil {
			t.Fatal(err)
		}
		for _, e := range r.Sessions {
			if e.SessionID == s.SessionID {
				if e.ClientName != "libcopilot-go-test" {
					t.Fatalf("clientName %q", e.ClientName)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("session not listed: %+v", r.Sessions)
		}
	}
}

// What a DefineTool handler returns becomes the official ToolResult.
func TestToolResultsNormalize(t *testing.T) {
	for _, c := range []struct {
		in   any
		want ToolResult
	}{
		{"sunny", ToolResult{TextResultForLLM: "sunny", ResultType: "success"}},
		{nil, ToolResult{ResultType: "success"}},
		{map[string]int{"t": 18}, ToolResult{TextResultForLLM: `{"t":18}`, ResultType: "success"}},
		{ToolResult{TextResultForLLM: "no", ResultType: "denied"}, ToolResult{TextResultForLLM: "no", ResultType: "denied"}},
	} {
		got, err := toolResultOf(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%#v: got %#v, %v", c.in, got, err)
		}
	}
	if _, err := toolResultOf(func() {}); err == nil {
		t.Error("a function result marshalled")
	}
}

// Structured options: MCP servers carry their "type", custom agents reach the
// CLI (its agent list shows them).
func TestMCPServersAndCustomAgents(t *testing.T) {
	cfg := &SessionConfig{MCPServers: map[string]MCPServerConfig{
		"files": MCPStdioServerConfig{Command: "mcp-files", Args: []string{"--ro"}, Tools: []string{"*"}},
		"web":   MCPHTTPServerConfig{URL: "http://127.0.0.1:1/mcp"},
	}}
	raw, err := cfg.fieldsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		MCPServers map[string]map[string]any `json:"mcpServers"`
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	if got.MCPServers["files"]["type"] != "stdio" || got.MCPServers["files"]["command"] != "mcp-files" ||
		got.MCPServers["web"]["type"] != "http" || got.MCPServers["web"]["url"] != "http://127.0.0.1:1/mcp" {
		t.Fatalf("mcpServers on the wire: %s", raw)
	}

	env := newEnv(t, "chat.yaml")
	ctx := context.Background()
	s, err := env.client(t).CreateSession(ctx, env.config(SessionConfig{
		CustomAgents: []CustomAgentConfig{{Name: "reviewer", DisplayName: "Reviewer",
			Description: "Reviews changes", Prompt: "You review code."}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	agents, err := s.RPC.Agent.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents.Agents {
		if a.Name == "reviewer" && a.DisplayName == "Reviewer" && a.Description == "Reviews changes" {
			return
		}
	}
	t.Fatalf("custom agent not listed: %+v", agents.Agents)
}

// A message's typed attachments, agent mode and display prompt reach the CLI,
// which echoes them in the user.message event.
func TestMessageOptionsReachTheCLI(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	ctx := context.Background()
	file := filepath.Join(env.home, "notes.txt")
	if err := os.WriteFile(file, []byte("capital cities\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	users := make(chan *UserMessageData, 4)
	s, err := env.client(t).CreateSession(ctx, env.config(SessionConfig{
		OnEvent: func(e SessionEvent) {
			if d, ok := e.Data.(*UserMessageData); ok {
				users <- d
			}
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(ctx, MessageOptions{
		Prompt:        "What is the capital of France?",
		Attachments:   []Attachment{&AttachmentFile{Path: file, DisplayName: "notes.txt"}},
		AgentMode:     AgentModePlan,
		DisplayPrompt: "capital?",
		Source:        MessageSourceUser,
	}); err != nil {
		t.Fatal(err)
	}
	u := receive(t, within(t, 10*time.Second), users, "user.message")
	_ = s.Abort(ctx) // the recorded conversation has no attachment: no need to finish the turn
	if len(u.Attachments) != 1 {
		t.Fatalf("attachments: %#v", u.Attachments)
	}
	if f, ok := u.Attachments[0].(*AttachmentFile); !ok || f.Path != file || f.DisplayName != "notes.txt" {
		t.Fatalf("attachment: %#v", u.Attachments[0])
	}
	if u.AgentMode == nil || *u.AgentMode != UserMessageAgentModePlan {
		t.Fatalf("agent mode: %v", u.AgentMode)
	}
}

func TestToolSetBuildsPatternsAndReportsBadNames(t *testing.T) {
	set := NewToolSet().AddBuiltIn(BuiltInToolsIsolated[:2]...).AddCustom("*").AddMCP("search")
	if got := strings.Join(set.ToSlice(), ","); got != "builtin:ask_user,builtin:task_complete,custom:*,mcp:search" || set.Err() != nil {
		t.Fatalf("patterns %q, err %v", got, set.Err())
	}
	bad := NewToolSet().AddCustom("rm -rf").AddCustom("ok")
	if bad.Err() == nil || strings.Join(bad.ToSlice(), ",") != "custom:ok" {
		t.Fatalf("bad name: %v %v", bad.ToSlice(), bad.Err())
	}
}

// SuppressResumeEvent resumes without a session.resume event.
func TestSuppressResumeEvent(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	client := env.client(t)
	ctx := context.Background()
	s, err := client.CreateSession(ctx, env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendPromptAndWait(ctx, "What is the capital of France?"); err != nil {
		t.Fatal(err)
	}
	id := s.SessionID
	if err := s.Disconnect(); err != nil {
		t.Fatal(err)
	}
	resumes := func(cfg SessionConfig) int {
		r, err := client.ResumeSession(ctx, id, env.config(cfg))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Disconnect()
		events, err := r.GetEvents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range events {
			if e.Type() == SessionEventTypeSessionResume {
				n++
			}
		}
		return n
	}
	if n := resumes(SessionConfig{}); n != 1 {
		t.Fatalf("a plain resume left %d session.resume events", n)
	}
	// A resume's event is in the history of the session it resumed; the
	// suppressed one has none.
	if n := resumes(SessionConfig{SuppressResumeEvent: true}); n != 0 {
		t.Fatalf("a suppressed resume left %d session.resume events", n)
	}
}

// The client options that became CLI flags, environment and a start-up
// request, against the real CLI; RuntimePort over TCP.
func TestIdleTimeoutTelemetryAndRuntimePort(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	otel := filepath.Join(env.home, "otel.jsonl")
	client := env.clientWith(t, &ClientOptions{
		SessionIdleTimeoutSeconds: 600,
		Telemetry:                 &TelemetryConfig{FilePath: otel, ExporterType: "file", SourceName: "libcopilot-go-test"},
	})
	ctx := context.Background()
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", client.PID()))
	if !strings.Contains(string(cmdline), "--session-idle-timeout\x00600") {
		t.Fatalf("CLI command line %q", cmdline)
	}
	if client.RuntimePort() != 0 {
		t.Fatalf("stdio runtime port %d", client.RuntimePort())
	}
	s, err := client.CreateSession(ctx, env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendPromptAndWait(ctx, "What is the capital of France?"); err != nil {
		t.Fatal(err)
	}
	if err := client.Stop(); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(otel); err != nil || !strings.Contains(string(data), "libcopilot-go-test") {
		t.Fatalf("telemetry file: %d bytes, %v", len(data), err)
	}

	tcp := env.clientWith(t, &ClientOptions{Connection: TCPConnection{Path: cliPath(t)}})
	if err := tcp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if tcp.RuntimePort() <= 0 {
		t.Fatalf("tcp runtime port %d", tcp.RuntimePort())
	}
}

// Every hook input decodes from its wire shape: cwd, millisecond timestamp,
// the session id from the request when the input leaves it out, and the
// hook's own fields.
func TestHookInputsDecodeFromTheWire(t *testing.T) {
	ref := &sessionRef{id: "s-ref"}
	var stop AgentStopHookInput
	var mcp PreMCPToolCallHookInput
	var end SessionEndHookInput
	hooks := (&SessionHooks{
		OnAgentStop: func(in AgentStopHookInput, inv HookInvocation) (*AgentStopHookOutput, error) {
			stop = in
			return &AgentStopHookOutput{Decision: "block", Reason: "more"}, nil
		},
		OnPreMCPToolCall: func(in PreMCPToolCallHookInput, _ HookInvocation) (*PreMCPToolCallHookOutput, error) {
			mcp = in
			return nil, nil
		},
		OnSessionEnd: func(in SessionEndHookInput, _ HookInvocation) (*SessionEndHookOutput, error) {
			end = in
			return nil, nil
		},
	}).byType(ref)
	out, err := hooks["agentStop"](json.RawMessage(`{"sessionId":"s1","hookType":"agentStop","input":{"timestamp":1700000000123,"cwd":"/w","stopReason":"done","transcriptPath":"/t","stop_hook_active":true}}`))
	if err != nil || stop.SessionID != "s1" || stop.WorkingDirectory != "/w" || stop.StopReason != "done" ||
		stop.TranscriptPath != "/t" || !stop.StopHookActive || stop.Timestamp.UnixMilli() != 1700000000123 {
		t.Fatalf("agentStop input %+v, %v", stop, err)
	}
	if o, ok := out.(*AgentStopHookOutput); !ok || o.Decision != "block" {
		t.Fatalf("agentStop output %#v", out)
	}
	out, err = hooks["preMcpToolCall"](json.RawMessage(`{"input":{"timestamp":1,"cwd":"/w","serverName":"files","toolName":"read","arguments":{"p":1},"toolCallId":"c1","_meta":{"k":"v"}}}`))
	if err != nil || out != nil || mcp.SessionID != "s-ref" || mcp.ServerName != "files" || mcp.ToolCallID != "c1" ||
		mcp.Meta.(map[string]any)["k"] != "v" || mcp.Arguments.(map[string]any)["p"] != float64(1) {
		t.Fatalf("preMcpToolCall input %+v, out %#v, %v", mcp, out, err)
	}
	if _, err := hooks["sessionEnd"](json.RawMessage(`{"sessionId":"s2","input":{"sessionId":"s3","timestamp":2,"cwd":"/w","reason":"abort","finalMessage":"bye","error":"x"}}`)); err != nil ||
		end.SessionID != "s3" || end.Reason != "abort" || end.FinalMessage != "bye" || end.Error != "x" {
		t.Fatalf("sessionEnd input %+v, %v", end, err)
	}
	if _, err := hooks["agentStop"](json.RawMessage(`{"input":{"stop_hook_active":"yes"}}`)); err == nil {
		t.Fatal("a malformed input decoded")
	}
}
