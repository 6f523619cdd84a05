package copilot

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// Host requests besides tools, permissions, user input and hooks: elicitation,
// exit-plan-mode, auto-mode-switch, MCP OAuth, slash commands and system
// message section transforms, whose handlers are set on SessionConfig.
//
// Threading, for all of them: the library hands each request over on the
// client's callback thread, and the wrapper runs the handler on a goroutine
// of its own and answers from there. So a handler may block (while it asks a
// user, say) without holding up the session's events, may call any method of
// the client or session, and may run concurrently with other calls of itself
// or of other handlers. A panic counts as an error. The handler always
// answers (its return is the answer), so "unanswered" cannot happen in Go.

// sessionRef is the id of the session a config's handlers serve: known
// before session.create for most sessions, set from its reply otherwise.
type sessionRef struct {
	mu sync.Mutex
	id string
	// session is the Session being opened, made before the CLI is asked.
	session *Session
}

func (r *sessionRef) get() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id
}

func (r *sessionRef) set(id string) {
	r.mu.Lock()
	r.id = id
	r.mu.Unlock()
}

// ElicitationAction is the user's response to an elicitation.
type ElicitationAction string

// Elicitation actions.
const (
	ElicitationActionAccept  ElicitationAction = "accept"
	ElicitationActionDecline ElicitationAction = "decline"
	ElicitationActionCancel  ElicitationAction = "cancel"
)

// ElicitationSchema is the form an elicitation asks the user to fill in: a
// JSON Schema object whose properties are the fields.
type ElicitationSchema struct {
	Type       string         `json:"type,omitempty"`
	Properties map[string]any `json:"properties"`
	Required   []string       `json:"required,omitempty"`
}

// ElicitationContext is one elicitation request (the data of an
// "elicitation.requested" event): `{"requestId", "message", "requestedSchema"?,
// "mode"?, "elicitationSource"?, "url"?, "toolCallId"?}`, plus the session's id.
type ElicitationContext struct {
	// SessionID is the session the request is for.
	SessionID string `json:"-"`
	// RequestID identifies the pending request in the CLI.
	RequestID string `json:"requestId"`
	// Message says what the user is asked for.
	Message string `json:"message"`
	// RequestedSchema describes the form's fields (form mode).
	RequestedSchema *ElicitationSchema `json:"requestedSchema,omitempty"`
	// Mode is "form" (structured input) or "url" (a page to open), when the CLI says.
	Mode *string `json:"mode,omitempty"`
	// ElicitationSource names who asks (e.g. an MCP server).
	ElicitationSource *string `json:"elicitationSource,omitempty"`
	// URL is the page to open in the user's browser (url mode).
	URL *string `json:"url,omitempty"`
	// Raw is the whole request as the CLI sent it.
	Raw json.RawMessage `json:"-"`
}

// ElicitationResult is the user's answer: `{"action", "content"?}`.
type ElicitationResult struct {
	// Action is accept, decline or cancel; empty means cancel.
	Action ElicitationAction `json:"action"`
	// Content holds the submitted field values when Action is accept.
	Content map[string]any `json:"content,omitempty"`
}

// ElicitationHandler answers elicitations: form dialogs asked by MCP servers,
// by the agent, or by any client through `session.ui.elicitation`. The CLI
// broadcasts each as an "elicitation.requested" event and the wrapper answers
// with `session.ui.handlePendingElicitation {requestId, result: {action,
// content?}}`. An error (or panic) answers cancel. Without a handler the
// request is left for another client of the server (and a
// `session.ui.elicitation` of this client's waits for one). It runs on a
// goroutine of its own: it may block, e.g. to ask a user, without holding up
// events, and calls may overlap.
type ElicitationHandler func(ElicitationContext) (ElicitationResult, error)

func elicitationRequest(ref *sessionRef, h ElicitationHandler) requestHandler {
	return func(raw json.RawMessage) (any, error) {
		var r ElicitationContext
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		r.SessionID, r.Raw = ref.get(), raw
		res, err := h(r)
		if err != nil {
			return nil, err
		}
		if res.Action == "" {
			res.Action = ElicitationActionCancel
		}
		return res, nil
	}
}

// ExitPlanModeRequest asks to leave plan mode (`exitPlanMode.request`):
// `{"sessionId", "summary", "planContent"?, "actions": [string], "recommendedAction"}`.
type ExitPlanModeRequest struct {
	SessionID   string `json:"sessionId"`
	Summary     string `json:"summary"`
	PlanContent string `json:"planContent,omitempty"`
	// Actions the user may choose: "interactive", "autopilot", "autopilot_fleet", "exit_only".
	Actions           []string `json:"actions"`
	RecommendedAction string   `json:"recommendedAction"`
}

// ExitPlanModeResult answers an ExitPlanModeRequest:
// `{"approved", "selectedAction"?, "feedback"?}`.
type ExitPlanModeResult struct {
	Approved       bool   `json:"approved"`
	SelectedAction string `json:"selectedAction,omitempty"`
	Feedback       string `json:"feedback,omitempty"`
}

// ExitPlanModeRequestHandler answers `exitPlanMode.request` (a direct
// request of the CLI). Without one the library answers `{"approved": true}`;
// an error (or panic) answers the CLI with a JSON-RPC error carrying its
// message. It runs on a goroutine of its own.
type ExitPlanModeRequestHandler func(request ExitPlanModeRequest, invocation ExitPlanModeInvocation) (ExitPlanModeResult, error)

// ExitPlanModeInvocation is the context of one exit-plan-mode request.
type ExitPlanModeInvocation struct {
	SessionID string
}

func exitPlanModeRequest(h ExitPlanModeRequestHandler) requestHandler {
	return func(raw json.RawMessage) (any, error) {
		var r ExitPlanModeRequest
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		return h(r, ExitPlanModeInvocation{SessionID: r.SessionID})
	}
}

// AutoModeSwitchRequest asks whether to switch to auto mode after a rate limit
// (`autoModeSwitch.request`): `{"sessionId", "errorCode"?, "retryAfterSeconds"?}`.
type AutoModeSwitchRequest struct {
	SessionID         string   `json:"sessionId"`
	ErrorCode         *string  `json:"errorCode,omitempty"`
	RetryAfterSeconds *float64 `json:"retryAfterSeconds,omitempty"`
}

// AutoModeSwitchResponse answers an AutoModeSwitchRequest.
type AutoModeSwitchResponse string

// Auto-mode-switch answers.
const (
	AutoModeSwitchResponseYes       AutoModeSwitchResponse = "yes"
	AutoModeSwitchResponseYesAlways AutoModeSwitchResponse = "yes_always"
	AutoModeSwitchResponseNo        AutoModeSwitchResponse = "no"
)

// AutoModeSwitchRequestHandler answers `autoModeSwitch.request` (a direct
// request of the CLI) with `{"response": ...}`. Without one the library
// answers "no", and so does an empty response; an error (or panic) answers the
// CLI with a JSON-RPC error carrying its message. It runs on a goroutine of
// its own.
type AutoModeSwitchRequestHandler func(request AutoModeSwitchRequest, invocation AutoModeSwitchInvocation) (AutoModeSwitchResponse, error)

// AutoModeSwitchInvocation is the context of one auto-mode-switch request.
type AutoModeSwitchInvocation struct {
	SessionID string
}

func autoModeSwitchRequest(h AutoModeSwitchRequestHandler) requestHandler {
	return func(raw json.RawMessage) (any, error) {
		var r AutoModeSwitchRequest
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		res, err := h(r, AutoModeSwitchInvocation{SessionID: r.SessionID})
		if err != nil {
			return nil, err
		}
		if res == "" {
			res = AutoModeSwitchResponseNo
		}
		return map[string]any{"response": res}, nil
	}
}

// MCPAuthWwwAuthenticateParams are the parsed WWW-Authenticate parameters of an MCP server.
type MCPAuthWwwAuthenticateParams struct {
	ResourceMetadataURL *string `json:"resourceMetadataUrl,omitempty"`
	Scope               *string `json:"scope,omitempty"`
	Error               *string `json:"error,omitempty"`
}

// MCPAuthStaticClientConfig is an MCP server's static OAuth client configuration.
type MCPAuthStaticClientConfig struct {
	ClientID     string  `json:"clientId"`
	ClientSecret *string `json:"clientSecret,omitempty"`
	GrantType    *string `json:"grantType,omitempty"`
	PublicClient *bool   `json:"publicClient,omitempty"`
}

// MCPAuthRequest is an MCP server asking for OAuth (the data of an
// "mcp.oauth_required" event): `{"requestId", "serverName", "serverUrl",
// "reason", "wwwAuthenticateParams"?, "resourceMetadata"?, "staticClientConfig"?}`.
type MCPAuthRequest struct {
	SessionID             string                        `json:"-"`
	RequestID             string                        `json:"requestId"`
	ServerName            string                        `json:"serverName"`
	ServerURL             string                        `json:"serverUrl"`
	Reason                MCPOauthRequestReason         `json:"reason"`
	WwwAuthenticateParams *MCPAuthWwwAuthenticateParams `json:"wwwAuthenticateParams,omitempty"`
	ResourceMetadata      *string                       `json:"resourceMetadata,omitempty"`
	StaticClientConfig    *MCPAuthStaticClientConfig    `json:"staticClientConfig,omitempty"`
	Raw                   json.RawMessage               `json:"-"`
}

// MCPAuthToken is the OAuth token the host obtained for an MCP server.
type MCPAuthToken struct {
	AccessToken string  `json:"accessToken"`
	TokenType   *string `json:"tokenType,omitempty"`
	// ExpiresIn is the token's lifetime in seconds.
	ExpiresIn *int64 `json:"expiresIn,omitempty"`
}

// MCPAuthResult answers an MCPAuthRequest: a token, or cancelled.
type MCPAuthResult struct {
	// Kind is MCPAuthResultKindToken or MCPAuthResultKindCancelled.
	Kind  string
	Token *MCPAuthToken
}

// MCPAuthResult kinds.
const (
	MCPAuthResultKindToken     = "token"
	MCPAuthResultKindCancelled = "cancelled"
)

// MCPAuthResultToken authenticates with token.
func MCPAuthResultToken(token *MCPAuthToken) *MCPAuthResult {
	return &MCPAuthResult{Kind: MCPAuthResultKindToken, Token: token}
}

// MCPAuthResultCancelled declines the request.
func MCPAuthResultCancelled() *MCPAuthResult {
	return &MCPAuthResult{Kind: MCPAuthResultKindCancelled}
}

// MCPAuthHandler answers MCP OAuth requests. With one set, the session
// registers interest in "mcp.oauth_required" (`session.eventLog.registerInterest`)
// after create/resume, and the wrapper answers each such event with
// `session.mcp.oauth.handlePendingRequest {requestId, result: {kind: "token",
// accessToken, tokenType?, expiresIn?} | {kind: "cancelled"}}`. A nil result,
// a result without a token, an error or a panic cancel the request. Without a
// handler the request is left for another client. It runs on a goroutine of
// its own.
type MCPAuthHandler func(request MCPAuthRequest, invocation MCPAuthInvocation) (*MCPAuthResult, error)

// MCPAuthInvocation is the context of one MCP OAuth request.
type MCPAuthInvocation struct {
	SessionID string
}

func mcpAuthRequest(ref *sessionRef, h MCPAuthHandler) requestHandler {
	return func(raw json.RawMessage) (any, error) {
		var r MCPAuthRequest
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		r.SessionID, r.Raw = ref.get(), raw
		res, err := h(r, MCPAuthInvocation{SessionID: r.SessionID})
		if err != nil {
			return nil, err
		}
		if res == nil || res.Kind != MCPAuthResultKindToken || res.Token == nil {
			return nil, nil // anything but a token cancels
		}
		return res.Token, nil
	}
}

// CommandContext is one run of a slash command (a "command.execute" event):
// `{"requestId", "command", "commandName", "args"}`, plus the session's id.
type CommandContext struct {
	SessionID string `json:"-"`
	// Command is the whole command text, e.g. "/deploy production".
	Command string `json:"command"`
	// CommandName is the name without the slash, e.g. "deploy".
	CommandName string `json:"commandName"`
	// Args is the text after the name.
	Args string `json:"args"`
}

// CommandHandler runs a slash command (a "command.execute" event); the
// wrapper reports the outcome with `session.commands.handlePendingCommand
// {requestId, error?}`: nil succeeds, an error (or panic) is the command's
// error, its message shown to the user. It runs on a goroutine of its own.
type CommandHandler func(CommandContext) error

// CommandDefinition is a slash command of the session, sent as `{name,
// description}` in the `commands` of session.create/resume; the user (or
// `session.commands.execute`) runs it as /Name.
type CommandDefinition struct {
	// Name is the command's name, without the leading slash.
	Name        string
	Description string
	Handler     CommandHandler
}

func commandRequest(ref *sessionRef, cmd CommandDefinition) requestHandler {
	return func(raw json.RawMessage) (any, error) {
		var c CommandContext
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, err
		}
		c.SessionID = ref.get()
		if cmd.Handler == nil {
			return nil, fmt.Errorf("command %s has no handler", cmd.Name)
		}
		return nil, cmd.Handler(c)
	}
}

func (cmd *CommandDefinition) declaration() (string, error) {
	if cmd.Name == "" {
		return "", &Error{Status: StatusInvalidArgument, Message: "a command needs a Name"}
	}
	d := map[string]any{"name": cmd.Name}
	if cmd.Description != "" {
		d["description"] = cmd.Description
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", &Error{Status: StatusInvalidJSON, Message: err.Error()}
	}
	return string(b), nil
}

// SectionOverrideAction is what to do with one section of the system message.
type SectionOverrideAction string

// Section actions.
const (
	SectionActionReplace SectionOverrideAction = "replace"
	SectionActionRemove  SectionOverrideAction = "remove"
	SectionActionAppend  SectionOverrideAction = "append"
	SectionActionPrepend SectionOverrideAction = "prepend"
	// SectionActionPreserve keeps a section a group-level remove would drop.
	SectionActionPreserve SectionOverrideAction = "preserve"
	// SectionActionTransform passes the section through SectionOverride.Transform.
	SectionActionTransform SectionOverrideAction = "transform"
)

// Section ids of the CLI's system message (SystemMessageConfig.Sections keys).
const (
	SectionPreamble            = "preamble"
	SectionIdentity            = "identity"
	SectionTone                = "tone"
	SectionToolEfficiency      = "tool_efficiency"
	SectionEnvironmentContext  = "environment_context"
	SectionCodeChangeRules     = "code_change_rules"
	SectionGuidelines          = "guidelines"
	SectionSafety              = "safety"
	SectionToolInstructions    = "tool_instructions"
	SectionCustomInstructions  = "custom_instructions"
	SectionRuntimeInstructions = "runtime_instructions"
	SectionLastInstructions    = "last_instructions"
)

// SectionTransformFn rewrites one section of the system message: it receives
// the section's current content and returns the content to use. An error (or
// panic) keeps the content unchanged. The CLI asks with
// `systemMessage.transform {sessionId, sections: {id: {content}}}` and gets
// `{sections: {id: {content}}}` back, each section passed through its
// callback; the callbacks of one request run one after another, on a
// goroutine of the wrapper's.
type SectionTransformFn func(currentContent string) (string, error)

// SectionOverride changes one section of the system message.
type SectionOverride struct {
	// Action is one of the SectionAction* constants; it is "transform"
	// whenever Transform is set.
	Action SectionOverrideAction `json:"action,omitempty"`
	// Content is the text replace, append and prepend use.
	Content string `json:"content,omitempty"`
	// Transform, when set, is called with the section's content each time the
	// CLI builds the system message (see SectionTransformFn).
	Transform SectionTransformFn `json:"-"`
}

// wire is the systemMessage object session.create gets.
func (sm *SystemMessageConfig) wire() map[string]any {
	m := map[string]any{}
	if sm.Mode != "" {
		m["mode"] = sm.Mode
	} else if len(sm.Sections) > 0 {
		m["mode"] = "customize"
	}
	if sm.Content != "" {
		m["content"] = sm.Content
	}
	if len(sm.Sections) > 0 {
		sections := map[string]any{}
		for id, o := range sm.Sections {
			s := map[string]any{}
			action := o.Action
			if o.Transform != nil {
				action = SectionActionTransform
			}
			if action != "" {
				s["action"] = action
			}
			if o.Content != "" && action != SectionActionTransform {
				s["content"] = o.Content
			}
			sections[id] = s
		}
		m["sections"] = sections
	}
	return m
}

// transforms are the section callbacks, by section id.
func (sm *SystemMessageConfig) transforms() map[string]SectionTransformFn {
	if sm == nil {
		return nil
	}
	t := map[string]SectionTransformFn{}
	for id, o := range sm.Sections {
		if o.Transform != nil {
			t[id] = o.Transform
		}
	}
	return t
}

type transformSection struct {
	Content string `json:"content"`
}

// systemMessageTransformRequest answers `systemMessage.transform`:
// `{"sessionId", "sections": {id: {"content"}}}` -> `{"sections": {id: {"content"}}}`.
func systemMessageTransformRequest(fns map[string]SectionTransformFn) requestHandler {
	return func(raw json.RawMessage) (any, error) {
		var r struct {
			Sections map[string]transformSection `json:"sections"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		out := make(map[string]transformSection, len(r.Sections))
		for id, s := range r.Sections {
			out[id] = s
			if fn := fns[id]; fn != nil {
				if c, err := callTransform(fn, s.Content); err == nil {
					out[id] = transformSection{Content: c}
				}
			}
		}
		return map[string]any{"sections": out}, nil
	}
}

func callTransform(fn SectionTransformFn, content string) (out string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("section transform panicked")
		}
	}()
	return fn(content)
}
