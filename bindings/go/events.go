package copilot

import (
	"encoding/json"
	"sync"
)

// SessionEvent is one event of a session; Raw keeps the whole envelope as the
// CLI sent it, Data its "data" object. Unknown types arrive like any other.
type SessionEvent struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	ParentID  *string         `json:"parentId"`
	Timestamp string          `json:"timestamp"`
	Ephemeral bool            `json:"ephemeral,omitempty"`
	AgentID   string          `json:"agentId,omitempty"`
	Data      json.RawMessage `json:"data"`
	Raw       json.RawMessage `json:"-"`
}

func parseEvent(raw []byte) SessionEvent {
	var ev SessionEvent
	_ = json.Unmarshal(raw, &ev)
	ev.Raw = append(json.RawMessage(nil), raw...)
	return ev
}

// AssistantMessageData is the data of "assistant.message".
type AssistantMessageData struct {
	MessageID            string `json:"messageId"`
	Content              string `json:"content"`
	OriginatingMessageID string `json:"originatingMessageId,omitempty"`
}

// AssistantMessageDeltaData is the data of "assistant.message_delta" (streaming).
type AssistantMessageDeltaData struct {
	MessageID    string `json:"messageId"`
	DeltaContent string `json:"deltaContent"`
}

// ToolExecutionStartData is the data of "tool.execution_start".
type ToolExecutionStartData struct {
	ToolCallID string          `json:"toolCallId"`
	ToolName   string          `json:"toolName"`
	Arguments  json.RawMessage `json:"arguments,omitempty"`
}

// ToolExecutionCompleteData is the data of "tool.execution_complete".
type ToolExecutionCompleteData struct {
	ToolCallID string          `json:"toolCallId"`
	Success    bool            `json:"success"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      json.RawMessage `json:"error,omitempty"`
}

// SessionErrorData is the data of "session.error".
type SessionErrorData struct {
	ErrorType  string `json:"errorType"`
	Message    string `json:"message"`
	StatusCode int    `json:"statusCode,omitempty"`
}

// SessionIdleData is the data of "session.idle".
type SessionIdleData struct {
	Aborted bool `json:"aborted,omitempty"`
}

// AssistantMessage returns the data when e is an "assistant.message".
func (e SessionEvent) AssistantMessage() (*AssistantMessageData, bool) {
	return decodeAs[AssistantMessageData](e, EventAssistantMessage)
}

// AssistantMessageDelta returns the data when e is an "assistant.message_delta".
func (e SessionEvent) AssistantMessageDelta() (*AssistantMessageDeltaData, bool) {
	return decodeAs[AssistantMessageDeltaData](e, EventAssistantMessageDelta)
}

// ToolExecutionStart returns the data when e is a "tool.execution_start".
func (e SessionEvent) ToolExecutionStart() (*ToolExecutionStartData, bool) {
	return decodeAs[ToolExecutionStartData](e, EventToolExecutionStart)
}

// ToolExecutionComplete returns the data when e is a "tool.execution_complete".
func (e SessionEvent) ToolExecutionComplete() (*ToolExecutionCompleteData, bool) {
	return decodeAs[ToolExecutionCompleteData](e, EventToolExecutionComplete)
}

// SessionError returns the data when e is a "session.error".
func (e SessionEvent) SessionError() (*SessionErrorData, bool) {
	return decodeAs[SessionErrorData](e, EventSessionError)
}

func decodeAs[T any](e SessionEvent, typ string) (*T, bool) {
	if e.Type != typ {
		return nil, false
	}
	var d T
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return nil, false
	}
	return &d, true
}

// eventSubscriber is one On() registration; it stops delivering once removed.
type eventSubscriber struct {
	mu      sync.Mutex
	fn      func(SessionEvent)
	removed bool
}

func (s *eventSubscriber) deliver(_ string, raw []byte) {
	s.mu.Lock()
	fn := s.fn
	if s.removed {
		fn = nil
	}
	s.mu.Unlock()
	if fn == nil {
		return
	}
	defer func() { _ = recover() }() // a panicking handler must not stop the others
	fn(parseEvent(raw))
}
