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

// hookBase holds what every hook input carries on the wire.
type hookBase struct {
	SessionID string `json:"sessionId"`
	Timestamp int64  `json:"timestamp"`
	Cwd       string `json:"cwd"`
}

func (b hookBase) time() time.Time { return time.UnixMilli(b.Timestamp) }

// PreToolUseHookInput is what preToolUse sees: a tool about to run.
type PreToolUseHookInput struct {
	SessionID        string
	Timestamp        time.Time
	WorkingDirectory string
	ToolName         string
	ToolArgs         any
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
	SessionID        string
	Timestamp        time.Time
	WorkingDirectory string
	ToolName         string
	ToolArgs         any
	ToolResult       any
}

// PostToolUseHookOutput can replace the result the model sees.
type PostToolUseHookOutput struct {
	ModifiedResult    any    `json:"modifiedResult,omitempty"`
	AdditionalContext string `json:"additionalContext,omitempty"`
	SuppressOutput    bool   `json:"suppressOutput,omitempty"`
}

// PostToolUseFailureHookInput is what postToolUseFailure sees: a tool that failed.
type PostToolUseFailureHookInput struct {
	SessionID        string
	Timestamp        time.Time
	WorkingDirectory string
	ToolName         string
	ToolArgs         any
	Error            string
}

// PostToolUseFailureHookOutput adds context for the model.
type PostToolUseFailureHookOutput struct {
	AdditionalContext string `json:"additionalContext,omitempty"`
}

// UserPromptSubmittedHookInput is what userPromptSubmitted sees.
type UserPromptSubmittedHookInput struct {
	SessionID        string
	Timestamp        time.Time
	WorkingDirectory string
	Prompt           string
}

// UserPromptSubmittedHookOutput can rewrite the prompt.
type UserPromptSubmittedHookOutput struct {
	ModifiedPrompt    string `json:"modifiedPrompt,omitempty"`
	AdditionalContext string `json:"additionalContext,omitempty"`
	SuppressOutput    bool   `json:"suppressOutput,omitempty"`
}

// UserPromptTransformedHookInput is what userPromptTransformed sees.
type UserPromptTransformedHookInput struct {
	SessionID         string
	Timestamp         time.Time
	WorkingDirectory  string
	Prompt            string
	TransformedPrompt string
}

// UserPromptTransformedHookOutput can replace the transformed prompt.
type UserPromptTransformedHookOutput struct {
	ModifiedTransformedPrompt *string `json:"modifiedTransformedPrompt,omitempty"`
}

// SessionStartHookInput is what sessionStart sees; Source is "startup", "resume" or "new".
type SessionStartHookInput struct {
	SessionID        string
	Timestamp        time.Time
	WorkingDirectory string
	Source           string
	InitialPrompt    string
}

// SessionStartHookOutput adds context or changes the session's configuration.
type SessionStartHookOutput struct {
	AdditionalContext string         `json:"additionalContext,omitempty"`
	ModifiedConfig    map[string]any `json:"modifiedConfig,omitempty"`
}

// SessionEndHookInput is what sessionEnd sees; Reason is "complete", "error",
// "abort", "timeout" or "user_exit".
type SessionEndHookInput struct {
	SessionID        string
	Timestamp        time.Time
	WorkingDirectory string
	Reason           string
	FinalMessage     string
	Error            string
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
	SessionID        string
	Timestamp        time.Time
	WorkingDirectory string
	Error            string
	ErrorContext     string
	Recoverable      bool
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
	SessionID        string
	Timestamp        time.Time
	WorkingDirectory string
	StopReason       string
	TranscriptPath   string
	StopHookActive   bool
}

// AgentStopHookOutput can keep the agent going ("block" with a Reason).
type AgentStopHookOutput struct {
	Decision string `json:"decision,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// PreMCPToolCallHookInput is what preMcpToolCall sees: an MCP tool about to be called.
type PreMCPToolCallHookInput struct {
	SessionID        string
	Timestamp        time.Time
	WorkingDirectory string
	ServerName       string
	ToolName         string
	Arguments        any
	ToolCallID       string
	Meta             any
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

// hook adapts a typed handler: the request's input is decoded into the wire
// shape W, turned into the input I, and the output marshalled back. A nil
// output answers null, which changes nothing.
func hook[W any, I any, O any](ref *sessionRef, fn func(I, HookInvocation) (*O, error), convert func(W, hookBase) I) requestHandler {
	return func(raw json.RawMessage) (any, error) {
		var req struct {
			SessionID string          `json:"sessionId"`
			Input     json.RawMessage `json:"input"`
		}
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		var base hookBase
		var wire W
		if err := json.Unmarshal(req.Input, &base); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(req.Input, &wire); err != nil {
			return nil, err
		}
		if base.SessionID == "" {
			base.SessionID = req.SessionID
		}
		if base.SessionID == "" {
			base.SessionID = ref.get()
		}
		out, err := fn(convert(wire, base), HookInvocation{SessionID: base.SessionID})
		if err != nil || out == nil {
			return nil, err
		}
		return out, nil
	}
}

func (h *SessionHooks) byType(ref *sessionRef) map[string]requestHandler {
	m := map[string]requestHandler{}
	if f := h.OnPreToolUse; f != nil {
		type w struct {
			ToolName string `json:"toolName"`
			ToolArgs any    `json:"toolArgs"`
		}
		m["preToolUse"] = hook(ref, f, func(v w, b hookBase) PreToolUseHookInput {
			return PreToolUseHookInput{b.SessionID, b.time(), b.Cwd, v.ToolName, v.ToolArgs}
		})
	}
	if f := h.OnPostToolUse; f != nil {
		type w struct {
			ToolName   string `json:"toolName"`
			ToolArgs   any    `json:"toolArgs"`
			ToolResult any    `json:"toolResult"`
		}
		m["postToolUse"] = hook(ref, f, func(v w, b hookBase) PostToolUseHookInput {
			return PostToolUseHookInput{b.SessionID, b.time(), b.Cwd, v.ToolName, v.ToolArgs, v.ToolResult}
		})
	}
	if f := h.OnPostToolUseFailure; f != nil {
		type w struct {
			ToolName string `json:"toolName"`
			ToolArgs any    `json:"toolArgs"`
			Error    string `json:"error"`
		}
		m["postToolUseFailure"] = hook(ref, f, func(v w, b hookBase) PostToolUseFailureHookInput {
			return PostToolUseFailureHookInput{b.SessionID, b.time(), b.Cwd, v.ToolName, v.ToolArgs, v.Error}
		})
	}
	if f := h.OnUserPromptSubmitted; f != nil {
		type w struct {
			Prompt string `json:"prompt"`
		}
		m["userPromptSubmitted"] = hook(ref, f, func(v w, b hookBase) UserPromptSubmittedHookInput {
			return UserPromptSubmittedHookInput{b.SessionID, b.time(), b.Cwd, v.Prompt}
		})
	}
	if f := h.OnUserPromptTransformed; f != nil {
		type w struct {
			Prompt            string `json:"prompt"`
			TransformedPrompt string `json:"transformedPrompt"`
		}
		m["userPromptTransformed"] = hook(ref, f, func(v w, b hookBase) UserPromptTransformedHookInput {
			return UserPromptTransformedHookInput{b.SessionID, b.time(), b.Cwd, v.Prompt, v.TransformedPrompt}
		})
	}
	if f := h.OnSessionStart; f != nil {
		type w struct {
			Source        string `json:"source"`
			InitialPrompt string `json:"initialPrompt"`
		}
		m["sessionStart"] = hook(ref, f, func(v w, b hookBase) SessionStartHookInput {
			return SessionStartHookInput{b.SessionID, b.time(), b.Cwd, v.Source, v.InitialPrompt}
		})
	}
	if f := h.OnSessionEnd; f != nil {
		type w struct {
			Reason       string `json:"reason"`
			FinalMessage string `json:"finalMessage"`
			Error        string `json:"error"`
		}
		m["sessionEnd"] = hook(ref, f, func(v w, b hookBase) SessionEndHookInput {
			return SessionEndHookInput{b.SessionID, b.time(), b.Cwd, v.Reason, v.FinalMessage, v.Error}
		})
	}
	if f := h.OnErrorOccurred; f != nil {
		type w struct {
			Error        string `json:"error"`
			ErrorContext string `json:"errorContext"`
			Recoverable  bool   `json:"recoverable"`
		}
		m["errorOccurred"] = hook(ref, f, func(v w, b hookBase) ErrorOccurredHookInput {
			return ErrorOccurredHookInput{b.SessionID, b.time(), b.Cwd, v.Error, v.ErrorContext, v.Recoverable}
		})
	}
	if f := h.OnAgentStop; f != nil {
		type w struct {
			StopReason     string `json:"stopReason"`
			TranscriptPath string `json:"transcriptPath"`
			StopHookActive bool   `json:"stop_hook_active"`
		}
		m["agentStop"] = hook(ref, f, func(v w, b hookBase) AgentStopHookInput {
			return AgentStopHookInput{b.SessionID, b.time(), b.Cwd, v.StopReason, v.TranscriptPath, v.StopHookActive}
		})
	}
	if f := h.OnPreMCPToolCall; f != nil {
		type w struct {
			ServerName string `json:"serverName"`
			ToolName   string `json:"toolName"`
			Arguments  any    `json:"arguments"`
			ToolCallID string `json:"toolCallId"`
			Meta       any    `json:"_meta"`
		}
		m["preMcpToolCall"] = hook(ref, f, func(v w, b hookBase) PreMCPToolCallHookInput {
			return PreMCPToolCallHookInput{b.SessionID, b.time(), b.Cwd, v.ServerName, v.ToolName, v.Arguments, v.ToolCallID, v.Meta}
		})
	}
	for name, f := range h.Other {
		if f == nil {
			continue
		}
		f := f
		m[name] = func(raw json.RawMessage) (any, error) {
			var req struct {
				SessionID string          `json:"sessionId"`
				Input     json.RawMessage `json:"input"`
			}
			if err := json.Unmarshal(raw, &req); err != nil {
				return nil, err
			}
			if req.SessionID == "" {
				req.SessionID = ref.get()
			}
			return f(req.Input, HookInvocation{SessionID: req.SessionID})
		}
	}
	return m
}
