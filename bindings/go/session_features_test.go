package copilot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// counterCanvas keeps one counter per open instance.
type counterCanvas struct {
	CanvasHandlerDefaults
	mu     sync.Mutex
	calls  []string
	counts map[string]float64
}

func (c *counterCanvas) OnOpen(_ context.Context, r rpc.CanvasProviderOpenRequest) (rpc.CanvasProviderOpenResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, "open "+r.CanvasID+"/"+r.InstanceID)
	start, _ := r.Input.(map[string]any)["start"].(float64)
	c.counts = map[string]float64{r.InstanceID: start}
	url := fmt.Sprintf("https://example.test/%s/%s", r.CanvasID, r.InstanceID)
	return rpc.CanvasProviderOpenResult{URL: &url}, nil
}

func (c *counterCanvas) OnAction(_ context.Context, r rpc.CanvasProviderInvokeActionRequest) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, "action "+r.ActionName)
	if r.ActionName != "increment" {
		return nil, NewCanvasError("unknown_action", r.ActionName)
	}
	amount, _ := r.Input.(map[string]any)["amount"].(float64)
	c.counts[r.InstanceID] += amount
	return map[string]any{"count": c.counts[r.InstanceID]}, nil
}

// Canvases declared in SessionConfig are listed by the CLI, and opening,
// acting on and closing an instance reach the CanvasHandler (OnClose from
// CanvasHandlerDefaults); a CanvasError's code reaches the caller.
func TestCanvasHandlerAgainstTheRealCLI(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	client := env.client(t)
	ctx := within(t, 60*time.Second)
	h := &counterCanvas{}
	s, err := client.CreateSession(ctx, env.config(SessionConfig{
		Canvases: []CanvasDeclaration{{
			ID: "counter", DisplayName: "Counter", Description: "Counts",
			Actions: []rpc.CanvasAction{{Name: "increment"}, {Name: "reset"}},
		}},
		CanvasHandler: h,
	}))
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.RPC.Canvas.List(ctx)
	if err != nil || len(list.Canvases) != 1 || list.Canvases[0].CanvasID != "counter" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	opened, err := s.RPC.Canvas.Open(ctx, &rpc.CanvasOpenRequest{CanvasID: "counter", InstanceID: "c-1",
		Input: map[string]any{"start": 3}})
	if err != nil || opened.URL == nil || *opened.URL != "https://example.test/counter/c-1" {
		t.Fatalf("open: %+v, %v", opened, err)
	}
	acted, err := s.RPC.Canvas.Action().Invoke(ctx, &rpc.CanvasActionInvokeRequest{InstanceID: "c-1",
		ActionName: "increment", Input: map[string]any{"amount": 2}})
	if err != nil || acted.Result.(map[string]any)["count"] != float64(5) {
		t.Fatalf("invoke: %+v, %v", acted, err)
	}
	_, err = s.RPC.Canvas.Action().Invoke(ctx, &rpc.CanvasActionInvokeRequest{InstanceID: "c-1", ActionName: "reset"})
	if err == nil || !strings.Contains(err.Error(), "unknown_action") {
		t.Fatalf("a CanvasError should reach the caller with its code, got %v", err)
	}
	if _, err := s.RPC.Canvas.Close(ctx, &rpc.CanvasCloseRequest{InstanceID: "c-1"}); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	want := []string{"open counter/c-1", "action increment", "action reset"}
	if fmt.Sprint(h.calls) != fmt.Sprint(want) {
		t.Fatalf("calls %v, want %v", h.calls, want)
	}
}

// A BYOK provider with a BearerTokenProvider is asked for a token before each
// model request, with the provider's name and the session's id.
func TestBearerTokenProviderIsAskedPerModelRequest(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	client := env.client(t)
	ctx := within(t, 120*time.Second)
	var mu sync.Mutex
	var asked []ProviderTokenArgs
	cfg := env.config(SessionConfig{})
	cfg.Provider.APIKey = ""
	cfg.Provider.BearerTokenProvider = func(args ProviderTokenArgs) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, args)
		return fmt.Sprintf("token-%d", len(asked)), nil
	}
	s, err := client.CreateSession(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, prompt := range []string{"What is the capital of France?", "And the capital of Italy?"} {
		if _, err := s.SendAndWait(ctx, MessageOptions{Prompt: prompt}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 {
		t.Fatalf("one token per model request, got %+v", asked)
	}
	for _, a := range asked {
		if a.ProviderName != "default" || a.SessionID != s.SessionID {
			t.Fatalf("token args %+v (session %s)", a, s.SessionID)
		}
	}
}

// OnGitHubTelemetry receives the telemetry the CLI forwards once asked to.
func TestOnGitHubTelemetryReceivesForwardedEvents(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	got := make(chan *rpc.GitHubTelemetryNotification, 64)
	client := env.clientWith(t, &ClientOptions{OnGitHubTelemetry: func(n *rpc.GitHubTelemetryNotification) {
		select {
		case got <- n:
		default:
		}
	}})
	ctx := within(t, 90*time.Second)
	s, err := client.CreateSession(ctx, env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendAndWait(ctx, MessageOptions{Prompt: "What is the capital of France?"}); err != nil {
		t.Fatal(err)
	}
	n := receive(t, ctx, got, "a gitHubTelemetry.event notification")
	if n.Event.Kind == "" {
		t.Fatalf("telemetry event without a kind: %+v", n)
	}
}

// OnListModels answers ListModels in place of the CLI, which is never asked:
// the client has not even been started.
func TestOnListModelsAnswersListModels(t *testing.T) {
	want := []ModelInfo{{ID: "host-model", Name: "Host model"}}
	client := NewClient(&ClientOptions{OnListModels: func(context.Context) ([]ModelInfo, error) { return want, nil }})
	defer client.Close()
	got, err := client.ListModels(context.Background())
	if err != nil || len(got) != 1 || got[0].ID != "host-model" {
		t.Fatalf("ListModels: %+v, %v", got, err)
	}
	if client.State() != StateDisconnected {
		t.Fatalf("the CLI was started for a host-answered list: %v", client.State())
	}
}
