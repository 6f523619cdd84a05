package rpc

import (
	"fmt"

	gojson "github.com/goccy/go-json"
)

// decodeEvent is the event hot path's decoder (DecodeSessionEventOfType):
// github.com/goccy/go-json honours the same struct tags and Unmarshaler
// methods as encoding/json and decodes an event about five times faster
// (bench: BenchmarkDecodeEvent). Anything it refuses, or a panic on input
// it mishandles, is an error, and the caller decodes the event the
// encoding/json way instead: the fast path can lose speed, never an event.
func decodeEvent(raw []byte, v any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rpc: fast event decoder panicked: %v", p)
		}
	}()
	return gojson.Unmarshal(raw, v)
}
