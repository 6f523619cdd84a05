package copilot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// CanvasDeclaration declares one canvas a session provides
// (SessionConfig.Canvases): the CLI lists it, and opening it, invoking one of
// its actions and closing it reach the session's CanvasHandler.
type CanvasDeclaration struct {
	// ID names the canvas within this session (canvasId on the wire).
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	// InputSchema is the JSON Schema of the input canvas.open takes.
	InputSchema map[string]any `json:"inputSchema,omitempty"`
	// Actions the canvas answers through CanvasHandler.OnAction.
	Actions []rpc.CanvasAction `json:"actions,omitempty"`
}

// ExtensionInfo identifies the extension a session belongs to
// (SessionConfig.ExtensionInfo).
type ExtensionInfo struct {
	Source string `json:"source"`
	Name   string `json:"name"`
}

// CanvasProviderIdentity names the provider of a session's canvases
// (SessionConfig.CanvasProvider); by default the CLI names it after the client.
type CanvasProviderIdentity struct {
	ID   string  `json:"id"`
	Name *string `json:"name,omitempty"`
}

// CanvasError is an error a CanvasHandler returns with a code the caller of
// the canvas method sees.
type CanvasError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *CanvasError) Error() string { return e.Code + ": " + e.Message }

// NewCanvasError returns a CanvasError with code and message.
func NewCanvasError(code, message string) *CanvasError {
	return &CanvasError{Code: code, Message: message}
}

// CanvasErrorNoHandler is what CanvasHandlerDefaults.OnAction returns.
func CanvasErrorNoHandler() *CanvasError {
	return NewCanvasError("canvas_action_no_handler", "No handler implemented for this canvas action")
}

// CanvasHandler answers the CLI's canvas requests for one session's
// canvases: canvas.open, canvas.close and canvas.action.invoke. Each call
// runs on a goroutine of its own.
type CanvasHandler interface {
	OnOpen(ctx context.Context, c rpc.CanvasProviderOpenRequest) (rpc.CanvasProviderOpenResult, error)
	OnClose(ctx context.Context, c rpc.CanvasProviderCloseRequest) error
	OnAction(ctx context.Context, c rpc.CanvasProviderInvokeActionRequest) (any, error)
}

// CanvasHandlerDefaults gives a CanvasHandler that embeds it a no-op OnClose
// and an OnAction that refuses every action.
type CanvasHandlerDefaults struct{}

// OnClose accepts the close.
func (CanvasHandlerDefaults) OnClose(context.Context, rpc.CanvasProviderCloseRequest) error {
	return nil
}

// OnAction returns CanvasErrorNoHandler.
func (CanvasHandlerDefaults) OnAction(context.Context, rpc.CanvasProviderInvokeActionRequest) (any, error) {
	return nil, CanvasErrorNoHandler()
}

// canvasRequests dispatches the "canvas" host requests to h by method.
func canvasRequests(h CanvasHandler) kindRequestHandler {
	return func(method string, raw json.RawMessage) (any, error) {
		ctx := context.Background()
		result, err := func() (any, error) {
			switch method {
			case "canvas.open":
				var r rpc.CanvasProviderOpenRequest
				if err := json.Unmarshal(raw, &r); err != nil {
					return nil, err
				}
				return h.OnOpen(ctx, r)
			case "canvas.close":
				var r rpc.CanvasProviderCloseRequest
				if err := json.Unmarshal(raw, &r); err != nil {
					return nil, err
				}
				return nil, h.OnClose(ctx, r)
			case "canvas.action.invoke":
				var r rpc.CanvasProviderInvokeActionRequest
				if err := json.Unmarshal(raw, &r); err != nil {
					return nil, err
				}
				return h.OnAction(ctx, r)
			}
			return nil, fmt.Errorf("unknown canvas request %s", method)
		}()
		var ce *CanvasError
		if errors.As(err, &ce) {
			return nil, ce // its Error() carries the code
		}
		if err != nil {
			return nil, NewCanvasError("canvas_handler_error", err.Error())
		}
		return result, nil
	}
}
