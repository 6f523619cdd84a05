package copilot

import (
	"encoding/json"
	"time"
)

// Session hooks (`hooks.invoke`): the CLI asks the host before and after the
// agent's steps. Inputs arrive with the official SDK's normalization: the
// wire's "cwd" is WorkingDirectory and its millisecond "timestamp" a
// time.Time. A nil output (and a nil error) changes nothing.

// HookInvocation is the context of one hook call.
type HookInvocation struct {
	SessionID string
}

// PreToolUseHookInput is what preToolUse sees: a tool about to run.
type PreToolUseHookInput struct {
	SessionID        string    `json:"sessionId"`
	Timestamp        time.Time `json:"-"`
	WorkingDirectory string    `json:"cwd"`
	ToolName         string    `json:"toolName"`
	ToolArgs         any       `json:"toolArgs"`
}

// PreToolUseHookOutput can allow, deny or ask ("allow", "deny", "ask"), and change the arguments.
type PreToolUseHookOutput struct {
	PermissionDecision       string `json:"permissionDecision,omitempty"`
	PermissionDecisionReason string `json:"permissionDecisionReason,omitempty"`
	ModifiedArgs             any    `json:"modifiedArgs,omitempty"`
	AdditionalContext        string `json:"additionalContext,omitempty"`
	SuppressOutput           bool   `json:"suppressOutput,omitempty"`
}

// PostToolUseHookInput is what postToolUse sees: a tool that ran.
type PostToolUseHookInput struct {
	SessionID        string    `json:"sessionId"`
	Timestamp        time.Time `json:"-"`
	WorkingDirectory string    `json:"cwd"`
	ToolName         string    `json:"toolName"`
	ToolArgs         any       `json:"toolArgs"`
	ToolResult       any       `json:"toolResult"`
}

// PostToolUseHookOutput can replace the result the model sees.
type PostToolUseHookOutput struct {
	ModifiedResult    any    `json:"modifiedResult,omitempty"`
	AdditionalContext string `json:"additionalContext,omitempty"`
	SuppressOutput    bool   `json:"suppressOutput,omitempty"`
}

// PostToolUseFailureHookInput is what postToolUseFailure sees: a tool that failed.
type PostToolUseFailureHookInput struct {
	SessionID        string    `json:"sessionId"`
	Timestamp        time.Time `json:"-"`
	WorkingDirectory string    `json:"cwd"`
	ToolName         string    `json:"toolName"`
	ToolArgs         any       `json:"toolArgs"`
	Error            string    `json:"error"`
}

// PostToolUseFailureHookOutput adds context for the model.
type PostToolUseFailureHookOutput struct {
	AdditionalContext string `json:"additionalContext,omitempty"`
}

// UserPromptSubmittedHookInput is what userPromptSubmitted sees.
type UserPromptSubmittedHookInput struct {
	SessionID        string    `json:"sessionId"`
	Timestamp        time.Time `json:"-"`
	WorkingDirectory string    `json:"cwd"`
	Prompt           string    `json:"prompt"`
}

// UserPromptSubmittedHookOutput can rewrite the prompt.
type UserPromptSubmittedHookOutput struct {
	ModifiedPrompt    string `json:"modifiedPrompt,omitempty"`
	AdditionalContext string `json:"additionalContext,omitempty"`
	SuppressOutput    bool   `json:"suppressOutput,omitempty"`
}

// UserPromptTransformedHookInput is what userPromptTransformed sees.
type UserPromptTransformedHookInput struct {
	SessionID         string    `json:"sessionId"`
	Timestamp         time.Time `json:"-"`
	WorkingDirectory  string    `json:"cwd"`
	Prompt            string    `json:"prompt"`
	TransformedPrompt string    `json:"transformedPrompt"`
}

// UserPromptTransformedHookOutput can replace the transformed prompt.
type UserPromptTransformedHookOutput struct {
	ModifiedTransformedPrompt *string `json:"modifiedTransformedPrompt,omitempty"`
}

// SessionStartHookInput is what sessionStart sees; Source is "startup", "resume" or "new".
type SessionStartHookInput struct {
	SessionID        string    `json:"sessionId"`
	Timestamp        time.Time `json:"-"`
	WorkingDirectory string    `json:"cwd"`
	Source           string    `json:"source"`
	InitialPrompt    string    `json:"initialPrompt"`
}

// SessionStartHookOutput adds context or changes the session's configuration.
type SessionStartHookOutput struct {
	AdditionalContext string         `json:"additionalContext,omitempty"`
	ModifiedConfig    map[string]any `json:"modifiedConfig,omitempty"`
}

// SessionEndHookInput is what sessionEnd sees; Reason is "complete", "error",
// "abort", "timeout" or "user_exit".
type SessionEndHookInput struct {
	SessionID        string    `json:"sessionId"`
	Timestamp        time.Time `json:"-"`
	WorkingDirectory string    `json:"cwd"`
	Reason           string    `json:"reason"`
	FinalMessage     string    `json:"finalMessage"`
	Error            string    `json:"error"`
}

// SessionEndHookOutput is the host's last word on the session.
type SessionEndHookOutput struct {
	SuppressOutput bool     `json:"suppressOutput,omitempty"`
	CleanupActions []string `json:"cleanupActions,omitempty"`
	SessionSummary string   `json:"sessionSummary,omitempty"`
}

// ErrorOccurredHookInput is what errorOccurred sees; ErrorContext is
// "model_call", "tool_execution", "system" or "user_input".
type ErrorOccurredHookInput struct {
	SessionID        string    `json:"sessionId"`
	Timestamp        time.Time `json:"-"`
	WorkingDirectory string    `json:"cwd"`
	Error            string    `json:"error"`
	ErrorContext     string    `json:"errorContext"`
	Recoverable      bool      `json:"recoverable"`
}

// ErrorOccurredHookOutput picks "retry", "skip" or "abort".
type ErrorOccurredHookOutput struct {
	SuppressOutput   bool   `json:"suppressOutput,omitempty"`
	ErrorHandling    string `json:"errorHandling,omitempty"`
	RetryCount       int    `json:"retryCount,omitempty"`
	UserNotification string `json:"userNotification,omitempty"`
}

// AgentStopHookInput is what agentStop sees.
type AgentStopHookInput struct {
	SessionID        string    `json:"sessionId"`
	Timestamp        time.Time `json:"-"`
	WorkingDirectory string    `json:"cwd"`
	StopReason       string    `json:"stopReason"`
	TranscriptPath   string    `json:"transcriptPath"`
	StopHookActive   bool      `json:"stop_hook_active"`
}

// AgentStopHookOutput can keep the agent going ("block" with a Reason).
type AgentStopHookOutput struct {
	Decision string `json:"decision,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// PreMCPToolCallHookInput is what preMcpToolCall sees: an MCP tool about to be called.
type PreMCPToolCallHookInput struct {
	SessionID        string    `json:"sessionId"`
	Timestamp        time.Time `json:"-"`
	WorkingDirectory string    `json:"cwd"`
	ServerName       string    `json:"serverName"`
	ToolName         string    `json:"toolName"`
	Arguments        any       `json:"arguments"`
	ToolCallID       string    `json:"toolCallId"`
	Meta             any       `json:"_meta"`
}

// PreMCPToolCallHookOutput sets the MCP request's _meta.
type PreMCPToolCallHookOutput struct {
	MetaToUse any `json:"metaToUse"`
}

// Hook handlers, one per hook type.
type (
	PreToolUseHandler            func(input PreToolUseHookInput, invocation HookInvocation) (*PreToolUseHookOutput, error)
	PostToolUseHandler           func(input PostToolUseHookInput, invocation HookInvocation) (*PostToolUseHookOutput, error)
	PostToolUseFailureHandler    func(input PostToolUseFailureHookInput, invocation HookInvocation) (*PostToolUseFailureHookOutput, error)
	UserPromptSubmittedHandler   func(input UserPromptSubmittedHookInput, invocation HookInvocation) (*UserPromptSubmittedHookOutput, error)
	UserPromptTransformedHandler func(input UserPromptTransformedHookInput, invocation HookInvocation) (*UserPromptTransformedHookOutput, error)
	SessionStartHandler          func(input SessionStartHookInput, invocation HookInvocation) (*SessionStartHookOutput, error)
	SessionEndHandler            func(input SessionEndHookInput, invocation HookInvocation) (*SessionEndHookOutput, error)
	ErrorOccurredHandler         func(input ErrorOccurredHookInput, invocation HookInvocation) (*ErrorOccurredHookOutput, error)
	AgentStopHandler             func(input AgentStopHookInput, invocation HookInvocation) (*AgentStopHookOutput, error)
	PreMCPToolCallHandler        func(input PreMCPToolCallHookInput, invocation HookInvocation) (*PreMCPToolCallHookOutput, error)
	// RawHookHandler handles a hook type by its wire name, with the input as
	// the CLI sent it (libcopilot addition, for hook types newer than this
	// package); its result is marshalled as the output.
	RawHookHandler func(input json.RawMessage, invocation HookInvocation) (any, error)
)

// SessionHooks intercept the agent's work; unset hooks are not called.
type SessionHooks struct {
	OnPreToolUse            PreToolUseHandler
	OnPostToolUse           PostToolUseHandler
	OnPostToolUseFailure    PostToolUseFailureHandler
	OnUserPromptSubmitted   UserPromptSubmittedHandler
	OnUserPromptTransformed UserPromptTransformedHandler
	OnSessionStart          SessionStartHandler
	OnSessionEnd            SessionEndHandler
	OnErrorOccurred         ErrorOccurredHandler
	OnAgentStop             AgentStopHandler
	OnPreMCPToolCall        PreMCPToolCallHandler
	// Other hook types, by wire name (libcopilot addition).
	Other map[string]RawHookHandler
}

// hookInput is what every hook input has beside its JSON fields: the time
// the CLI sends as milliseconds since the epoch, and the session's id when
// the input leaves it out.
type hookInput interface {
	fill(sessionID string, at time.Time)
}

func fillCommon(sessionID *string, timestamp *time.Time, id string, at time.Time) {
	if *sessionID == "" {
		*sessionID = id
	}
	*timestamp = at
}

func (in *PreToolUseHookInput) fill(id string, t time.Time) {
	fillCommon(&in.SessionID, &in.Timestamp, id, t)
}
func (in *PostToolUseHookInput) fill(id string, t time.Time) {
	fillCommon(&in.SessionID, &in.Timestamp, id, t)
}
func (in *PostToolUseFailureHookInput) fill(id string, t time.Time) {
	fillCommon(&in.SessionID, &in.Timestamp, id, t)
}
func (in *UserPromptSubmittedHookInput) fill(id string, t time.Time) {
	fillCommon(&in.SessionID, &in.Timestamp, id, t)
}
func (in *UserPromptTransformedHookInput) fill(id string, t time.Time) {
	fillCommon(&in.SessionID, &in.Timestamp, id, t)
}
func (in *SessionStartHookInput) fill(id string, t time.Time) {
	fillCommon(&in.SessionID, &in.Timestamp, id, t)
}
func (in *SessionEndHookInput) fill(id string, t time.Time) {
	fillCommon(&in.SessionID, &in.Timestamp, id, t)
}
func (in *ErrorOccurredHookInput) fill(id string, t time.Time) {
	fillCommon(&in.SessionID, &in.Timestamp, id, t)
}
func (in *AgentStopHookInput) fill(id string, t time.Time) {
	fillCommon(&in.SessionID, &in.Timestamp, id, t)
}
func (in *PreMCPToolCallHookInput) fill(id string, t time.Time) {
	fillCommon(&in.SessionID, &in.Timestamp, id, t)
}

// hookRequest is the hooks.invoke request around every hook's input.
type hookRequest struct {
	SessionID string          `json:"sessionId"`
	Input     json.RawMessage `json:"input"`
}

func (r *hookRequest) decode(raw json.RawMessage, ref *sessionRef) error {
	if err := json.Unmarshal(raw, r); err != nil {
		return err
	}
	if r.SessionID == "" {
		r.SessionID = ref.get()
	}
	return nil
}

// hook adapts a typed handler: the input decodes by its json tags, its
// timestamp from milliseconds, and a nil output answers null (no change).
func hook[I any, O any, P interface {
	*I
	hookInput
}](ref *sessionRef, fn func(I, HookInvocation) (*O, error)) requestHandler {
	return func(raw json.RawMessage) (any, error) {
		var req hookRequest
		if err := req.decode(raw, ref); err != nil {
			return nil, err
		}
		var in I
		var stamp struct {
			Timestamp int64 `json:"timestamp"`
		}
		if err := json.Unmarshal(req.Input, &in); err != nil {
			return nil, err
		}
		_ = json.Unmarshal(req.Input, &stamp)
		P(&in).fill(req.SessionID, time.UnixMilli(stamp.Timestamp))
		out, err := fn(in, HookInvocation{SessionID: req.SessionID})
		if err != nil || out == nil {
			return nil, err
		}
		return out, nil
	}
}

func (h *SessionHooks) byType(ref *sessionRef) map[string]requestHandler {
	m := map[string]requestHandler{}
	if h.OnPreToolUse != nil {
		m["preToolUse"] = hook(ref, h.OnPreToolUse)
	}
	if h.OnPostToolUse != nil {
		m["postToolUse"] = hook(ref, h.OnPostToolUse)
	}
	if h.OnPostToolUseFailure != nil {
		m["postToolUseFailure"] = hook(ref, h.OnPostToolUseFailure)
	}
	if h.OnUserPromptSubmitted != nil {
		m["userPromptSubmitted"] = hook(ref, h.OnUserPromptSubmitted)
	}
	if h.OnUserPromptTransformed != nil {
		m["userPromptTransformed"] = hook(ref, h.OnUserPromptTransformed)
	}
	if h.OnSessionStart != nil {
		m["sessionStart"] = hook(ref, h.OnSessionStart)
	}
	if h.OnSessionEnd != nil {
		m["sessionEnd"] = hook(ref, h.OnSessionEnd)
	}
	if h.OnErrorOccurred != nil {
		m["errorOccurred"] = hook(ref, h.OnErrorOccurred)
	}
	if h.OnAgentStop != nil {
		m["agentStop"] = hook(ref, h.OnAgentStop)
	}
	if h.OnPreMCPToolCall != nil {
		m["preMcpToolCall"] = hook(ref, h.OnPreMCPToolCall)
	}
	for name, f := range h.Other {
		if f == nil {
			continue
		}
		f := f
		m[name] = func(raw json.RawMessage) (any, error) {
			var req hookRequest
			if err := req.decode(raw, ref); err != nil {
				return nil, err
			}
			return f(req.Input, HookInvocation{SessionID: req.SessionID})
		}
	}
	return m
}
