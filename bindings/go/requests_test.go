package copilot

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// session.ui.elicitation from this client: the CLI broadcasts the request, the
// session's own handler answers it, and the call returns that answer.
func TestElicitationHandlerAnswersSessionUIElicitation(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	seen := make(chan ElicitationContext, 1)
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		OnElicitationRequest: func(r ElicitationContext) (ElicitationResult, error) {
			seen <- r
			return ElicitationResult{Action: ElicitationActionAccept, Content: map[string]any{"color": "blue"}}, nil
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := within(t, 15*time.Second)
	params := map[string]any{"message": "Pick a color", "requestedSchema": map[string]any{
		"type": "object", "properties": map[string]any{"color": map[string]any{"type": "string"}}, "required": []string{"color"}}}
	var res ElicitationResult
	if err := s.Call(ctx, "session.ui.elicitation", params, &res); err != nil {
		t.Fatal(err)
	}
	r := receive(t, ctx, seen, "elicitation request")
	if r.Message != "Pick a color" || r.SessionID != s.SessionID || r.RequestID == "" ||
		r.RequestedSchema == nil || r.RequestedSchema.Properties["color"] == nil {
		t.Fatalf("request %+v (schema %+v), session %s", r, r.RequestedSchema, s.SessionID)
	}
	if res.Action != ElicitationActionAccept || res.Content["color"] != "blue" {
		t.Fatalf("the call returned %+v", res)
	}
}

// An elicitation handler's error answers cancel.
func TestElicitationHandlerErrorCancels(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		OnElicitationRequest: func(ElicitationContext) (ElicitationResult, error) {
			return ElicitationResult{}, errors.New("no one to ask")
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	var res ElicitationResult
	err = s.Call(within(t, 15*time.Second), "session.ui.elicitation", map[string]any{"message": "Sure?",
		"requestedSchema": map[string]any{"type": "object", "properties": map[string]any{"ok": map[string]any{"type": "boolean"}}}}, &res)
	if err != nil || res.Action != ElicitationActionCancel {
		t.Fatalf("got %+v, %v", res, err)
	}
}

// A session with a slash command creates; running the command through
// session.commands.execute calls its handler, and a handler's error comes
// back as the command's error.
func TestCommandsRunTheirHandlers(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	runs := make(chan CommandContext, 4)
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		Commands: []CommandDefinition{
			{Name: "greet", Description: "Says hello", Handler: func(c CommandContext) error { runs <- c; return nil }},
			{Name: "explode", Description: "Always fails", Handler: func(CommandContext) error { return errors.New("boom") }},
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := within(t, 15*time.Second)
	var listed struct {
		Commands []struct {
			Name string `json:"name"`
		} `json:"commands"`
	}
	if err := s.Call(ctx, "session.commands.list", map[string]any{"includeClientCommands": true}, &listed); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range listed.Commands {
		names = append(names, c.Name)
	}
	if !contains(names, "greet") || !contains(names, "explode") {
		t.Fatalf("commands listed: %v", names)
	}
	var res struct {
		Error *string `json:"error"`
	}
	if err := s.Call(ctx, "session.commands.execute", map[string]any{"commandName": "greet", "args": "world"}, &res); err != nil {
		t.Fatal(err)
	}
	c := receive(t, ctx, runs, "command run")
	if res.Error != nil || c.CommandName != "greet" || c.Args != "world" || c.SessionID != s.SessionID {
		t.Fatalf("run %+v, result error %v", c, res.Error)
	}
	res.Error = nil
	if err := s.Call(ctx, "session.commands.execute", map[string]any{"commandName": "explode", "args": ""}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Error == nil || !strings.Contains(*res.Error, "boom") {
		t.Fatalf("the failing command reported %v", res.Error)
	}
}

// A section with a Transform is sent as action "transform" and rewritten by
// its callback when the CLI builds the system message.
func TestSystemMessageSectionTransform(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	seen := make(chan string, 8)
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		SystemMessage: &SystemMessageConfig{Sections: map[string]SectionOverride{
			SectionTone: {Transform: func(current string) (string, error) {
				seen <- current
				return current + "\nAlways be brief.", nil
			}},
		}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, s, "What is the capital of France?"); got != "The capital of France is Paris." {
		t.Fatalf("answer %q", got)
	}
	select {
	case c := <-seen:
		if c == "" {
			t.Fatal("the transform got an empty section")
		}
	default:
		t.Fatal("the transform was not called during the turn")
	}
}

// A transform's error or panic keeps the section; sections without a
// callback pass through.
func TestSystemMessageTransformAnswers(t *testing.T) {
	answer := systemMessageTransformRequest(map[string]SectionTransformFn{
		"tone":   func(c string) (string, error) { return strings.ToUpper(c), nil },
		"safety": func(string) (string, error) { return "", errors.New("no") },
		"guide":  func(string) (string, error) { panic("boom") },
	})
	res, err := answer([]byte(`{"sessionId":"s","sections":{"tone":{"content":"calm"},"safety":{"content":"safe"},"guide":{"content":"g"},"other":{"content":"o"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if want := `{"sections":{"guide":{"content":"g"},"other":{"content":"o"},"safety":{"content":"safe"},"tone":{"content":"CALM"}}}`; string(b) != want {
		t.Fatalf("got %s", b)
	}
	sm := &SystemMessageConfig{Sections: map[string]SectionOverride{
		"tone":   {Action: SectionActionReplace, Content: "x", Transform: func(c string) (string, error) { return c, nil }},
		"safety": {Action: SectionActionRemove},
	}}
	b, _ = json.Marshal(sm.wire())
	if want := `{"mode":"customize","sections":{"safety":{"action":"remove"},"tone":{"action":"transform"}}}`; string(b) != want {
		t.Fatalf("wire %s", b)
	}
}

// In plan mode the model's exit_plan_mode call asks the session's handler
// (exitPlanMode.request), and the turn goes on with its answer.
func TestExitPlanModeHandler(t *testing.T) {
	env := newEnv(t, "exit_plan_mode.yaml")
	seen := make(chan ExitPlanModeRequest, 2)
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		OnPermissionRequest: PermissionHandler.ApproveAll,
		OnExitPlanModeRequest: func(r ExitPlanModeRequest, _ ExitPlanModeInvocation) (ExitPlanModeResult, error) {
			seen <- r
			return ExitPlanModeResult{Approved: true, SelectedAction: "interactive"}, nil
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := within(t, 20*time.Second)
	if err := s.Call(ctx, "session.mode.set", map[string]any{"mode": "plan"}, nil); err != nil {
		t.Fatal(err)
	}
	ev, err := s.SendAndWait(ctx, MessageOptions{Prompt: "Create a brief implementation plan for adding a greeting.txt file, then request approval with exit_plan_mode."})
	if err != nil {
		t.Fatal(err)
	}
	if got := content(t, ev); got != "Plan approved; I will wait for the next instruction before making changes." {
		t.Fatalf("answer %q", got)
	}
	r := receive(t, ctx, seen, "exit-plan-mode request")
	if r.SessionID != s.SessionID || r.Summary != "Greeting file implementation plan" ||
		strings.Join(r.Actions, ",") != "autopilot,interactive,exit_only" || r.RecommendedAction != "interactive" {
		t.Fatalf("request %+v", r)
	}
}

// Exit-plan-mode and auto-mode-switch answers, without the CLI (a rate limit
// that makes CLI 1.0.102 ask autoModeSwitch.request could not be replayed).
func TestModeRequestAnswers(t *testing.T) {
	var got AutoModeSwitchRequest
	auto := autoModeSwitchRequest(func(r AutoModeSwitchRequest, _ AutoModeSwitchInvocation) (AutoModeSwitchResponse, error) {
		got = r
		if r.ErrorCode == nil {
			return "", nil
		}
		return AutoModeSwitchResponseYesAlways, nil
	})
	for params, want := range map[string]string{
		`{"sessionId":"s","errorCode":"user_weekly_rate_limited","retryAfterSeconds":1}`: `{"response":"yes_always"}`,
		`{"sessionId":"s"}`: `{"response":"no"}`,
	} {
		res, err := auto([]byte(params))
		b, _ := json.Marshal(res)
		if err != nil || string(b) != want || got.SessionID != "s" {
			t.Errorf("%s: got %s, %v (request %+v)", params, b, err, got)
		}
	}
	plan := exitPlanModeRequest(func(r ExitPlanModeRequest, _ ExitPlanModeInvocation) (ExitPlanModeResult, error) {
		if r.Summary == "" {
			return ExitPlanModeResult{}, errors.New("no summary")
		}
		return ExitPlanModeResult{Approved: false, Feedback: "not yet"}, nil
	})
	res, err := plan([]byte(`{"sessionId":"s","summary":"x","actions":["interactive"],"recommendedAction":"interactive"}`))
	if b, _ := json.Marshal(res); err != nil || string(b) != `{"approved":false,"feedback":"not yet"}` {
		t.Errorf("got %s, %v", b, err)
	}
	if _, err := plan([]byte(`{"sessionId":"s"}`)); err == nil {
		t.Error("a handler error did not fail the request")
	}
}

// Session.UI's Confirm, Select and Input go through session.ui.elicitation
// and come back from this session's own elicitation handler; Capabilities
// reports elicitation only when a handler is set.
func TestSessionUIHelpers(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	ctx := within(t, 20*time.Second)
	client := env.client(t)
	plain, err := client.CreateSession(ctx, env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	if caps := plain.Capabilities(); caps.UI != nil && caps.UI.Elicitation {
		t.Fatalf("elicitation reported without a handler: %+v", caps.UI)
	}
	if _, err := plain.UI().Confirm(ctx, "Sure?"); !isStatus(err, StatusInvalidState) {
		t.Fatalf("Confirm without elicitation: %v", err)
	}

	s, err := client.CreateSession(ctx, env.config(SessionConfig{
		OnElicitationRequest: func(r ElicitationContext) (ElicitationResult, error) {
			for name := range r.RequestedSchema.Properties {
				switch name {
				case "confirmed":
					return ElicitationResult{Action: ElicitationActionAccept, Content: map[string]any{name: true}}, nil
				case "selection":
					return ElicitationResult{Action: ElicitationActionAccept, Content: map[string]any{name: "blue"}}, nil
				}
			}
			return ElicitationResult{Action: ElicitationActionDecline}, nil
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if caps := s.Capabilities(); caps.UI == nil || !caps.UI.Elicitation {
		t.Fatalf("capabilities with a handler: %+v", caps)
	}
	if ok, err := s.UI().Confirm(ctx, "Sure?"); err != nil || !ok {
		t.Fatalf("Confirm: %v, %v", ok, err)
	}
	if choice, ok, err := s.UI().Select(ctx, "Color?", []string{"red", "blue"}); err != nil || !ok || choice != "blue" {
		t.Fatalf("Select: %q %v %v", choice, ok, err)
	}
	if text, ok, err := s.UI().Input(ctx, "Name?", &UIInputOptions{MaxLength: Int(10)}); err != nil || ok || text != "" {
		t.Fatalf("declined Input: %q %v %v", text, ok, err)
	}
}
