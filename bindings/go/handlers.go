package copilot

/*
#include <stdlib.h>
#include "copilot.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/cgo"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

func deleteHandle(h C.uintptr_t) { cgo.Handle(h).Delete() }

// ToolInvocation describes one call of a custom tool.
type ToolInvocation struct {
	SessionID  string
	ToolCallID string
	ToolName   string
	// Arguments as decoded JSON (map[string]any for an object).
	Arguments any
	// AvailableTools is not filled by libcopilot (the CLI does not send it here).
	AvailableTools []rpc.CurrentToolMetadata
	// TraceContext is context.Background(): libcopilot carries no trace context.
	TraceContext context.Context
	// RawArguments are the arguments as the CLI sent them (libcopilot addition).
	RawArguments json.RawMessage
}

// ToolBinaryResult is an image or other binary content for the model.
type ToolBinaryResult struct {
	Data        string `json:"data"`
	MIMEType    string `json:"mimeType"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

// ToolResult is a full tool result.
type ToolResult struct {
	TextResultForLLM    string             `json:"textResultForLlm"`
	BinaryResultsForLLM []ToolBinaryResult `json:"binaryResultsForLlm,omitempty"`
	// ResultType is "success" (the default when empty), "failure", "rejected" or "denied".
	ResultType     string         `json:"resultType"`
	Error          string         `json:"error,omitempty"`
	SessionLog     string         `json:"sessionLog,omitempty"`
	ToolTelemetry  map[string]any `json:"toolTelemetry,omitempty"`
	ToolReferences []string       `json:"toolReferences,omitempty"`
}

// ToolHandler runs a tool. An error (or a panic) becomes a failed tool call;
// the model is told only that the tool failed.
type ToolHandler func(invocation ToolInvocation) (ToolResult, error)

// Tool is a custom tool the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments object.
	Parameters           map[string]any
	OverridesBuiltInTool bool
	SkipPermission       bool
	Handler              ToolHandler
}

func (t *Tool) declaration() (string, error) {
	d := map[string]any{"name": t.Name}
	if t.Description != "" {
		d["description"] = t.Description
	}
	if t.Parameters != nil {
		d["parameters"] = t.Parameters
	}
	if t.OverridesBuiltInTool {
		d["overridesBuiltInTool"] = true
	}
	if t.SkipPermission {
		d["skipPermission"] = true
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", &Error{Status: StatusInvalidJSON, Message: fmt.Sprintf("tool %s: %v", t.Name, err)}
	}
	return string(b), nil
}

// DefineTool makes a tool whose arguments decode into T; its JSON Schema is
// derived from T (json tags, and jsonschema tags for descriptions).
func DefineTool[T any, U any](name, description string, handler func(T, ToolInvocation) (U, error)) Tool {
	schema, err := jsonschema.For[T](nil)
	var params map[string]any
	if err == nil {
		b, _ := json.Marshal(schema)
		_ = json.Unmarshal(b, &params)
	}
	return Tool{
		Name:        name,
		Description: description,
		Parameters:  params,
		Handler: func(inv ToolInvocation) (ToolResult, error) {
			if err != nil {
				return ToolResult{}, fmt.Errorf("tool %s: cannot derive a schema: %w", name, err)
			}
			var args T
			if len(inv.RawArguments) > 0 {
				if e := json.Unmarshal(inv.RawArguments, &args); e != nil {
					return ToolResult{}, fmt.Errorf("tool %s: arguments: %w", name, e)
				}
			}
			out, e := handler(args, inv)
			if e != nil {
				return ToolResult{}, e
			}
			return toolResultOf(out)
		},
	}
}

// toolResultOf turns what a DefineTool handler returned into a ToolResult: a
// ToolResult as it is, a string as the text, anything else as its JSON.
func toolResultOf(v any) (ToolResult, error) {
	switch r := v.(type) {
	case nil:
		return ToolResult{ResultType: "success"}, nil
	case ToolResult:
		return r, nil
	case *ToolResult:
		if r == nil {
			return ToolResult{ResultType: "success"}, nil
		}
		return *r, nil
	case string:
		return ToolResult{TextResultForLLM: r, ResultType: "success"}, nil
	}
	js, err := json.Marshal(v)
	if err != nil {
		return ToolResult{}, fmt.Errorf("tool result is not JSON: %w", err)
	}
	return ToolResult{TextResultForLLM: string(js), ResultType: "success"}, nil
}

func runTool(t *Tool, inv *C.copilot_tool_invocation, raw []byte) {
	var wire struct {
		SessionID  string          `json:"sessionId"`
		ToolCallID string          `json:"toolCallId"`
		ToolName   string          `json:"toolName"`
		Arguments  json.RawMessage `json:"arguments"`
	}
	_ = json.Unmarshal(raw, &wire)
	call := ToolInvocation{SessionID: wire.SessionID, ToolCallID: wire.ToolCallID, ToolName: wire.ToolName,
		RawArguments: wire.Arguments, TraceContext: context.Background()}
	_ = json.Unmarshal(wire.Arguments, &call.Arguments)
	result, err := func() (res ToolResult, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("tool %s panicked: %v", t.Name, p)
			}
		}()
		if t.Handler == nil {
			return ToolResult{}, fmt.Errorf("tool %s has no handler", t.Name)
		}
		return t.Handler(call)
	}()
	if err != nil {
		msg := cString(err.Error())
		C.copilot_tool_invocation_fail(inv, msg, nil)
		free(msg)
		return
	}
	if result.ResultType == "" {
		result.ResultType = "success"
	}
	js, _ := json.Marshal(result)
	res := cString(string(js))
	C.copilot_tool_invocation_complete(inv, res, nil)
	free(res)
}

// PermissionRequest (rpc.PermissionRequest, aliased in zsession_events.go) is
// what a permission handler decides: type-switch on *PermissionRequestShell,
// *PermissionRequestWrite, *PermissionRequestCustomTool, ...; Kind() names it.

// PermissionInvocation is the context of one permission request.
type PermissionInvocation struct {
	SessionID string
	// ManagedSettingsEnabled is true when managed settings govern the session;
	// PermissionHandler.ApproveAll then refuses to decide.
	ManagedSettingsEnabled bool
	// RequestID identifies the request, to answer it later through
	// session.permissions.handlePendingPermissionRequest after returning
	// PermissionDecisionNoResult (libcopilot addition).
	RequestID string
	// Data is the whole permission.requested event data (libcopilot addition).
	Data *rpc.PermissionRequestedData
}

// PermissionDecisionNoResult leaves a request unanswered (see rpc.PermissionDecisionNoResult).
type PermissionDecisionNoResult = rpc.PermissionDecisionNoResult

// AttributedPermissionResult is a decision with the context of how it was
// reached (outcome, source, surface), sent beside it for the CLI's telemetry;
// it never changes what the decision does.
type AttributedPermissionResult struct {
	rpc.PermissionDecision
	DecisionContext *rpc.PermissionDecisionContext
}

// NewAttributedPermissionResult pairs decision with decisionContext; an
// already attributed decision gets the new context instead.
func NewAttributedPermissionResult(decision rpc.PermissionDecision, decisionContext *rpc.PermissionDecisionContext) *AttributedPermissionResult {
	inner, _ := splitAttribution(decision)
	return &AttributedPermissionResult{PermissionDecision: inner, DecisionContext: decisionContext}
}

func splitAttribution(d rpc.PermissionDecision) (rpc.PermissionDecision, *rpc.PermissionDecisionContext) {
	switch a := d.(type) {
	case *AttributedPermissionResult:
		return a.PermissionDecision, a.DecisionContext
	case AttributedPermissionResult:
		return a.PermissionDecision, a.DecisionContext
	}
	return d, nil
}

// PermissionHandlerFunc decides a permission request. It runs on a goroutine
// of its own (several may run at once). An error, a panic or a nil decision
// answers "user-not-available"; PermissionDecisionNoResult answers nothing.
type PermissionHandlerFunc func(request PermissionRequest, invocation PermissionInvocation) (rpc.PermissionDecision, error)

// PermissionHandler holds the built-in handlers.
var PermissionHandler = struct {
	// ApproveAll approves every request, but leaves the ones managed policy
	// reserves for a person unanswered, and refuses under managed settings.
	ApproveAll PermissionHandlerFunc
}{
	ApproveAll: func(request PermissionRequest, invocation PermissionInvocation) (rpc.PermissionDecision, error) {
		if invocation.ManagedSettingsEnabled {
			return nil, errors.New("ApproveAll cannot decide when managed settings are enabled")
		}
		if request != nil && request.RequiresManagedApproval() {
			return &rpc.PermissionDecisionNoResult{}, nil
		}
		return &rpc.PermissionDecisionApproveOnce{}, nil
	},
}

// permissionBinding is what the native permission handler's user_data names:
// the Go handler and the id of the session it serves.
type permissionBinding struct {
	fn  PermissionHandlerFunc
	ref *sessionRef
}

func runPermission(h PermissionHandlerFunc, req *C.copilot_permission_request, sessionID string, raw []byte) {
	var data rpc.PermissionRequestedData
	_ = json.Unmarshal(raw, &data)
	if data.PermissionRequest == nil {
		// Not a shape this version knows: hand over what arrived, still typed.
		var head struct {
			PermissionRequest json.RawMessage `json:"permissionRequest"`
		}
		_ = json.Unmarshal(raw, &head)
		data.PermissionRequest = rpc.RawPermissionRequest{Raw: head.PermissionRequest}
	}
	inv := PermissionInvocation{SessionID: sessionID, RequestID: data.RequestID, Data: &data}
	decision, err := func() (d rpc.PermissionDecision, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("permission handler panicked: %v", p)
			}
		}()
		return h(data.PermissionRequest, inv)
	}()
	var js []byte
	if err == nil && decision != nil {
		inner, context := splitAttribution(decision)
		if inner != nil {
			js, err = json.Marshal(inner)
			if err == nil && context != nil {
				var m map[string]any
				if json.Unmarshal(js, &m) == nil {
					m["decisionContext"] = context
					js, err = json.Marshal(m)
				}
			}
		}
	}
	if err != nil || len(js) == 0 {
		js = []byte(`{"kind":"user-not-available"}`)
	}
	d := cString(string(js))
	C.copilot_permission_request_respond(req, d, nil)
	free(d)
}

// UserInputRequest is what the ask_user tool asks.
type UserInputRequest struct {
	SessionID     string   `json:"sessionId"`
	Question      string   `json:"question"`
	Choices       []string `json:"choices,omitempty"`
	AllowFreeform *bool    `json:"allowFreeform,omitempty"`
}

// UserInputResponse is the user's answer.
type UserInputResponse struct {
	Answer      string `json:"answer"`
	WasFreeform bool   `json:"wasFreeform"`
}

// UserInputInvocation is the context of one ask_user request.
type UserInputInvocation struct {
	SessionID string
}

// UserInputHandler answers ask_user.
type UserInputHandler func(request UserInputRequest, invocation UserInputInvocation) (UserInputResponse, error)

// requestHandler answers a host request with a JSON-marshalable result; it
// runs on a goroutine of its own.
type requestHandler func(json.RawMessage) (any, error)

// kindRequestHandler answers, on a goroutine, a host request of a kind that
// covers several methods (canvas: canvas.open, canvas.close, ...); kind is
// the method.
type kindRequestHandler func(kind string, raw json.RawMessage) (any, error)

// inlineRequestHandler answers a host request on the callback thread itself,
// in wire order; kind is copilot_request_kind (e.g. "sessionFs.readFile").
type inlineRequestHandler func(kind string, raw json.RawMessage) (any, error)

func userInputRequest(h UserInputHandler) requestHandler {
	return func(raw json.RawMessage) (any, error) {
		var r UserInputRequest
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		return h(r, UserInputInvocation{SessionID: r.SessionID})
	}
}

func runRequest(h requestHandler, req *C.copilot_request, raw json.RawMessage) {
	result, err := func() (res any, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("handler panicked: %v", p)
			}
		}()
		return h(raw)
	}()
	var js []byte
	if err == nil {
		js, err = json.Marshal(result)
	}
	if err != nil {
		msg := cString(err.Error())
		C.copilot_request_fail(req, msg, nil)
		free(msg)
		return
	}
	r := cString(string(js))
	C.copilot_request_respond(req, r, nil)
	free(r)
}
