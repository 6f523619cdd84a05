package rpc

import (
	"encoding/json"
	"fmt"
)

// EventLogTypes selects the event types an event-log read returns: either
// every type (String set to EventLogTypesStringValue, "*") or a non-empty
// list of event types (StringArray). Exactly one field is set.
//
// Written by hand (see scripts/typegen/overrides.py): no other union in the
// schema has this shape, and the official SDK gives it this struct.
type EventLogTypes struct {
	String      *EventLogTypesString
	StringArray []string
}

// EventLogTypesString is the one string form of EventLogTypes.
type EventLogTypesString string

const (
	// EventLogTypesStringValue ("*") selects every event type.
	EventLogTypesStringValue EventLogTypesString = "*"
)

// MarshalJSON writes "*" or the list.
func (t EventLogTypes) MarshalJSON() ([]byte, error) {
	switch {
	case t.String != nil && t.StringArray != nil:
		return nil, fmt.Errorf("rpc.EventLogTypes: set String or StringArray, not both")
	case t.String != nil:
		return json.Marshal(string(*t.String))
	case t.StringArray != nil:
		return json.Marshal(t.StringArray)
	}
	return []byte("null"), nil
}

// UnmarshalJSON reads either form.
func (t *EventLogTypes) UnmarshalJSON(data []byte) error {
	*t = EventLogTypes{}
	switch jsonKindOf(data) {
	case jsonNull:
		return nil
	case jsonString:
		var s EventLogTypesString
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		t.String = &s
		return nil
	}
	return json.Unmarshal(data, &t.StringArray)
}
