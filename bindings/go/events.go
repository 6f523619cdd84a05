package copilot

import (
	"encoding/json"
	"sync"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// SessionEvent (package rpc, aliased in zsession_events.go) is one event of a
// session: the envelope, Data decoded to its type's struct (type-switch on it,
// e.g. case *AssistantMessageData), and Raw, the event as the CLI sent it.
// Unknown types and data that does not match the schema arrive as
// *RawSessionEventData, never dropped.

func parseEvent(raw []byte) SessionEvent {
	return parseEventOfType("", raw)
}

// parseEventOfType decodes an event whose type the library named: in one
// pass when it matches its schema, else the general way. raw becomes the
// event's Raw.
func parseEventOfType(t SessionEventType, raw []byte) SessionEvent {
	if t != "" {
		if ev, ok := rpc.DecodeSessionEventOfType(t, raw); ok {
			return ev
		}
	}
	var ev SessionEvent
	// Straight to the decoder: json.Unmarshal would first scan the whole
	// event to validate it, which the library did already.
	if err := ev.UnmarshalJSON(raw); err != nil {
		// Not even an envelope: keep the bytes so nothing is lost.
		ev.Raw = append(json.RawMessage(nil), raw...)
		ev.Data = RawSessionEventData{Raw: ev.Raw}
	}
	return ev
}

// eventSubscriber is one On() registration; it stops delivering once removed.
type eventSubscriber struct {
	mu      sync.Mutex
	fn      func(SessionEvent)
	removed bool
}

// deliver runs the handler on one event; false once the subscriber is removed.
func (s *eventSubscriber) deliver(t SessionEventType, raw []byte) bool {
	s.mu.Lock()
	fn := s.fn
	if s.removed {
		fn = nil
	}
	s.mu.Unlock()
	if fn == nil {
		return false
	}
	defer func() { _ = recover() }() // a panicking handler must not stop the others
	fn(parseEventOfType(t, raw))
	return true
}
