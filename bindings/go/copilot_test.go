package copilot

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

type weatherArgs struct {
	City string `json:"city" jsonschema:"the city to look up"`
}

func weatherTool(calls *atomic.Int32, answer func(string) (string, error)) Tool {
	return DefineTool("get_weather", "Current weather for a city", func(a weatherArgs, _ ToolInvocation) (string, error) {
		calls.Add(1)
		return answer(a.City)
	})
}

func sunny(string) (string, error) { return "18C and sunny", nil }

func content(t *testing.T, ev *SessionEvent) string {
	t.Helper()
	if ev == nil {
		t.Fatal("no assistant.message")
	}
	m, ok := ev.Data.(*AssistantMessageData)
	if !ok {
		t.Fatalf("not an assistant.message: %s", ev.Raw)
	}
	return m.Content
}

func ask(t *testing.T, s *Session, prompt string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ev, err := s.SendAndWait(ctx, MessageOptions{Prompt: prompt})
	if err != nil {
		t.Fatal(err)
	}
	return content(t, ev)
}

const parisPrompt = "What is the weather in Paris? Use the get_weather tool."

func TestToolRoundTripWithDerivedSchema(t *testing.T) {
	env := newEnv(t, "weather_tool.yaml")
	var calls atomic.Int32
	tool := weatherTool(&calls, sunny)
	if tool.Parameters["type"] != "object" || tool.Parameters["properties"] == nil {
		t.Fatalf("schema not derived from the argument struct: %v", tool.Parameters)
	}
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		Tools: []Tool{tool}, OnPermissionRequest: PermissionHandler.ApproveAll,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, s, parisPrompt); got != "It is 18C and sunny in Paris." {
		t.Fatalf("answer %q", got)
	}
	if calls.Load() != 1 {
		t.Fatalf("tool called %d times", calls.Load())
	}
}

func TestStreamingDeltasAddUpToTheMessage(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	var mu sync.Mutex
	var deltas []string
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		Streaming: Bool(true),
		OnEvent: func(e SessionEvent) {
			if d, ok := e.Data.(*AssistantMessageDeltaData); ok {
				mu.Lock()
				deltas = append(deltas, d.DeltaContent)
				mu.Unlock()
			}
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := ask(t, s, "Count from one to ten in words.")
	mu.Lock()
	defer mu.Unlock()
	if len(deltas) < 2 || strings.Join(deltas, "") != got {
		t.Fatalf("deltas %q do not add up to %q", deltas, got)
	}
}

func TestPermissionDeniedToolNeverRuns(t *testing.T) {
	env := newEnv(t, "weather_tool.yaml", "denied.yaml")
	var calls atomic.Int32
	var asked atomic.Int32
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		Tools: []Tool{weatherTool(&calls, sunny)},
		OnPermissionRequest: func(r PermissionRequest, inv PermissionInvocation) (rpc.PermissionDecision, error) {
			asked.Add(1)
			tool, ok := r.(*PermissionRequestCustomTool)
			if !ok || r.Kind() != PermissionRequestKindCustomTool || tool.ToolName != "get_weather" {
				t.Errorf("permission request %#v", r)
			}
			if inv.SessionID == "" || inv.RequestID == "" {
				t.Errorf("invocation %+v", inv)
			}
			return &rpc.PermissionDecisionReject{Feedback: String("not allowed")}, nil
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := ask(t, s, "What is the weather in Rome? Use the get_weather tool.")
	if got != "I was not allowed to check the weather in Rome." || calls.Load() != 0 || asked.Load() != 1 {
		t.Fatalf("answer %q, tool calls %d, permission asks %d", got, calls.Load(), asked.Load())
	}
}

// Hooks get typed, normalized inputs (WorkingDirectory, Timestamp as a time)
// and their typed outputs reach the CLI.
func TestHooksSeeToolUse(t *testing.T) {
	env := newEnv(t, "weather_tool.yaml")
	var calls atomic.Int32
	var mu sync.Mutex
	var seen []string
	var pre PreToolUseHookInput
	var post PostToolUseHookInput
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		Tools: []Tool{weatherTool(&calls, sunny)}, OnPermissionRequest: PermissionHandler.ApproveAll,
		Hooks: &SessionHooks{
			OnPreToolUse: func(in PreToolUseHookInput, inv HookInvocation) (*PreToolUseHookOutput, error) {
				mu.Lock()
				defer mu.Unlock()
				seen, pre = append(seen, "preToolUse"), in
				if inv.SessionID == "" {
					t.Error("no session id in the invocation")
				}
				return &PreToolUseHookOutput{PermissionDecision: "allow"}, nil
			},
			OnPostToolUse: func(in PostToolUseHookInput, _ HookInvocation) (*PostToolUseHookOutput, error) {
				mu.Lock()
				defer mu.Unlock()
				seen, post = append(seen, "postToolUse"), in
				return nil, nil
			},
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	ask(t, s, parisPrompt)
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, ",") != "preToolUse,postToolUse" {
		t.Fatalf("hooks seen: %v", seen)
	}
	if pre.ToolName != "get_weather" || pre.WorkingDirectory != env.home || pre.SessionID != s.SessionID ||
		time.Since(pre.Timestamp) > time.Minute || time.Since(pre.Timestamp) < 0 {
		t.Fatalf("preToolUse input %+v", pre)
	}
	if args, _ := pre.ToolArgs.(map[string]any); args["city"] != "Paris" {
		t.Fatalf("preToolUse args %#v", pre.ToolArgs)
	}
	if post.ToolName != "get_weather" || post.ToolResult == nil {
		t.Fatalf("postToolUse input %+v", post)
	}
	if calls.Load() != 1 {
		t.Fatalf("tool calls %d", calls.Load())
	}
}

func TestUserInputHandlerAnswersAskUser(t *testing.T) {
	env := newEnv(t, "ask_user.yaml")
	// The handler runs on a goroutine of its own; the channel hands its request over.
	asked := make(chan UserInputRequest, 4)
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		OnPermissionRequest: PermissionHandler.ApproveAll,
		OnUserInputRequest: func(r UserInputRequest, inv UserInputInvocation) (UserInputResponse, error) {
			if inv.SessionID == "" {
				t.Error("no session id in the invocation")
			}
			asked <- r
			return UserInputResponse{Answer: "Blue"}, nil
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	answer := ask(t, s, "Ask me which color I like, using the ask_user tool with the choices Red and Blue.")
	got := receive(t, within(t, 5*time.Second), asked, "user input request")
	if answer != "You like Blue." || got.Question != "Which color do you like?" || len(got.Choices) != 2 {
		t.Fatalf("answer %q, request %+v", answer, got)
	}
}

func TestToolPanicBecomesAFailedCall(t *testing.T) {
	env := newEnv(t, "weather_tool.yaml")
	var calls atomic.Int32
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		Tools:               []Tool{weatherTool(&calls, func(string) (string, error) { panic("weather service exploded") })},
		OnPermissionRequest: PermissionHandler.ApproveAll,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, s, "What is the weather in Oslo? Use the get_weather tool."); got != "I could not get the weather for Oslo." {
		t.Fatalf("answer %q", got)
	}
}

func TestManySessionsAtOnceFromGoroutines(t *testing.T) {
	env := newEnv(t, "weather_tool.yaml")
	client := env.client(t)
	var calls atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := client.CreateSession(context.Background(), env.config(SessionConfig{
				Tools: []Tool{weatherTool(&calls, sunny)}, OnPermissionRequest: PermissionHandler.ApproveAll,
			}))
			if err != nil {
				errs <- err
				return
			}
			defer s.Disconnect()
			ev, err := s.SendAndWait(context.Background(), MessageOptions{Prompt: parisPrompt})
			if err != nil {
				errs <- err
				return
			}
			if m, _ := ev.Data.(*AssistantMessageData); m == nil || m.Content != "It is 18C and sunny in Paris." {
				errs <- errors.New("wrong answer: " + string(ev.Raw))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if calls.Load() != 8 {
		t.Fatalf("tool calls %d", calls.Load())
	}
}

func TestContextDeadlineAndCancellation(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	_, err = s.SendAndWait(ctx, MessageOptions{Prompt: "What is the capital of France?"})
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrTimeout) {
		t.Fatalf("want a deadline error, got %v", err)
	}
	// A cancelled ctx returns at once and sends nothing; the session stays usable.
	fresh, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if _, err := fresh.SendAndWait(cancelled, MessageOptions{Prompt: "x"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if got := ask(t, fresh, "What is the capital of France?"); got != "The capital of France is Paris." {
		t.Fatalf("answer %q", got)
	}
}

// A request the CLI leaves unanswered (no client can show the dialog) ends
// with the context's deadline, and so does the native call behind it: its
// goroutine does not wait forever.
func TestCallDeadlineEndsTheNativeCall(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	params := map[string]any{"message": "Pick one", "requestedSchema": map[string]any{
		"type": "object", "properties": map[string]any{"x": map[string]any{"type": "string"}}}}
	err = s.Call(ctx, "session.ui.elicitation", params, nil)
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrTimeout) {
		t.Fatalf("want a deadline error, got %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("the native call is still waiting: %d goroutines, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var mode string
	if err := s.Call(context.Background(), "session.mode.get", nil, &mode); err != nil || mode == "" {
		t.Fatalf("the session answers the next call: %q %v", mode, err)
	}
}

func TestErrorsCarryStatusAndRPCCode(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	c := env.client(t)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := c.Call(context.Background(), "no.such.method", nil, nil)
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusRPC || !e.HasRPCCode || e.RPCCode != -32601 {
		t.Fatalf("got %#v", err)
	}
	if !errors.Is(err, ErrRPC) {
		t.Fatal("errors.Is(err, ErrRPC) is false")
	}
	missing := NewClient(&ClientOptions{Connection: StdioConnection{Path: "/nonexistent/copilot"}})
	defer missing.Close()
	if err := missing.Start(context.Background()); !errors.Is(err, ErrCLINotFound) {
		t.Fatalf("want ErrCLINotFound, got %v", err)
	}
	missing.Close()
	missing.Close() // idempotent
}

// Empty mode needs storage of the host's choosing, and sessions that name their tools.
func TestEmptyModeNeedsStorageAndAvailableTools(t *testing.T) {
	// NewClient does not fail: its error comes back from every call.
	bad := NewClient(&ClientOptions{Mode: ModeEmpty})
	if err := bad.Start(context.Background()); !isStatus(err, StatusInvalidArgument) {
		t.Fatalf("empty mode without storage: %v", err)
	}
	if _, err := bad.CreateSession(context.Background(), &SessionConfig{}); !isStatus(err, StatusInvalidArgument) {
		t.Fatalf("empty mode without storage, CreateSession: %v", err)
	}
	if _, err := bad.RPC.Ping(context.Background(), nil); !isStatus(err, StatusInvalidArgument) {
		t.Fatalf("empty mode without storage, RPC.Ping: %v", err)
	}
	bad.Close()
	off := false
	c := NewClient(&ClientOptions{Mode: ModeEmpty, BaseDirectory: t.TempDir(), AutoStart: &off})
	defer c.Close()
	_, err := c.CreateSession(context.Background(), &SessionConfig{})
	if !isStatus(err, StatusInvalidArgument) || !strings.Contains(err.Error(), "availableTools") {
		t.Fatalf("empty mode session without availableTools: %v", err)
	}
}

func isStatus(err error, s Status) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == s
}
