package copilot

/*
#include "copilot.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
)

// SessionCapabilities are what the host side of a session can do, as the CLI
// reported them when the session was created or resumed.
type SessionCapabilities struct {
	UI *UICapabilities `json:"ui,omitempty"`
}

// UICapabilities: Elicitation is true when some client of the server answers
// elicitations (form dialogs), so the session's UI methods can be used.
type UICapabilities struct {
	Elicitation bool `json:"elicitation,omitempty"`
}

// Capabilities returns what the CLI reported for this session at create or
// resume (session.create's "capabilities").
func (s *Session) Capabilities() SessionCapabilities {
	var info struct {
		Capabilities SessionCapabilities `json:"capabilities"`
	}
	h, err := s.acquire()
	if err != nil {
		return SessionCapabilities{}
	}
	defer s.release()
	if js := C.copilot_session_info_json(h); js != nil {
		_ = json.Unmarshal([]byte(C.GoString(js)), &info)
	}
	return info.Capabilities
}

// WorkspacePath is the session's workspace directory, if the CLI gave one.
func (s *Session) WorkspacePath() string {
	var info struct {
		WorkspacePath string `json:"workspacePath"`
	}
	h, err := s.acquire()
	if err != nil {
		return ""
	}
	defer s.release()
	if js := C.copilot_session_info_json(h); js != nil {
		_ = json.Unmarshal([]byte(C.GoString(js)), &info)
	}
	return info.WorkspacePath
}

// SessionUI asks the user through whichever client answers elicitations
// (`session.ui.elicitation`). Each call blocks until answered or ctx ends.
type SessionUI struct {
	session *Session
}

// UI returns the session's UI requests.
func (s *Session) UI() *SessionUI { return &SessionUI{session: s} }

// UIInputOptions shape a text field.
type UIInputOptions struct {
	Title       string
	Description string
	MinLength   *int
	MaxLength   *int
	// Format is "email", "uri", "date" or "date-time".
	Format  string
	Default string
}

var errNoElicitation = errors.New("elicitation is not supported in this session: no client of it answers elicitations (check Capabilities().UI.Elicitation first)")

func (ui *SessionUI) ask(ctx context.Context, message string, schema map[string]any) (*ElicitationResult, error) {
	if caps := ui.session.Capabilities(); caps.UI == nil || !caps.UI.Elicitation {
		return nil, &Error{Status: StatusInvalidState, Message: errNoElicitation.Error()}
	}
	var r ElicitationResult
	err := ui.session.Call(ctx, "session.ui.elicitation", map[string]any{"message": message, "requestedSchema": schema}, &r)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// Elicitation asks for a form (requestedSchema's properties are the fields).
func (ui *SessionUI) Elicitation(ctx context.Context, message string, requestedSchema ElicitationSchema) (*ElicitationResult, error) {
	schema := map[string]any{"type": "object", "properties": requestedSchema.Properties}
	if requestedSchema.Properties == nil {
		schema["properties"] = map[string]any{}
	}
	if len(requestedSchema.Required) > 0 {
		schema["required"] = requestedSchema.Required
	}
	return ui.ask(ctx, message, schema)
}

// Confirm asks a yes/no question; false when declined or cancelled.
func (ui *SessionUI) Confirm(ctx context.Context, message string) (bool, error) {
	r, err := ui.ask(ctx, message, map[string]any{"type": "object",
		"properties": map[string]any{"confirmed": map[string]any{"type": "boolean", "default": true}},
		"required":   []string{"confirmed"}})
	if err != nil || r.Action != ElicitationActionAccept {
		return false, err
	}
	v, _ := r.Content["confirmed"].(bool)
	return v, nil
}

// Select asks to pick one of options; ok is false when declined or cancelled.
func (ui *SessionUI) Select(ctx context.Context, message string, options []string) (choice string, ok bool, err error) {
	r, err := ui.ask(ctx, message, map[string]any{"type": "object",
		"properties": map[string]any{"selection": map[string]any{"type": "string", "enum": options}},
		"required":   []string{"selection"}})
	if err != nil || r.Action != ElicitationActionAccept {
		return "", false, err
	}
	choice, ok = r.Content["selection"].(string)
	return choice, ok, nil
}

// Input asks for a line of text; ok is false when declined or cancelled.
func (ui *SessionUI) Input(ctx context.Context, message string, opts *UIInputOptions) (text string, ok bool, err error) {
	field := map[string]any{"type": "string"}
	if opts != nil {
		for k, v := range map[string]string{"title": opts.Title, "description": opts.Description,
			"format": opts.Format, "default": opts.Default} {
			if v != "" {
				field[k] = v
			}
		}
		if opts.MinLength != nil {
			field["minLength"] = *opts.MinLength
		}
		if opts.MaxLength != nil {
			field["maxLength"] = *opts.MaxLength
		}
	}
	r, err := ui.ask(ctx, message, map[string]any{"type": "object",
		"properties": map[string]any{"value": field}, "required": []string{"value"}})
	if err != nil || r.Action != ElicitationActionAccept {
		return "", false, err
	}
	text, ok = r.Content["value"].(string)
	return text, ok, nil
}
