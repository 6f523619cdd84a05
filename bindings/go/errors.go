package copilot

/*
#include "copilot.h"
*/
import "C"

import "fmt"

// Status is a libcopilot status code (copilot_status).
type Status int

const (
	StatusOK              Status = 0
	StatusInvalidArgument Status = -1
	StatusInvalidJSON     Status = -2
	StatusCLINotFound     Status = -3
	StatusConnection      Status = -4
	StatusDisconnected    Status = -5
	StatusRPC             Status = -6
	StatusTimeout         Status = -7
	StatusProtocolVersion Status = -8
	StatusSession         Status = -9
	StatusWrongThread     Status = -10
	StatusInvalidState    Status = -11
	StatusPanic           Status = -12
	StatusInternal        Status = -13
	StatusNoFirstEvent    Status = -14
	StatusStalled         Status = -15
)

var statusNames = map[Status]string{
	StatusInvalidArgument: "invalid argument", StatusInvalidJSON: "invalid JSON",
	StatusCLINotFound: "CLI not found", StatusConnection: "connection failed",
	StatusDisconnected: "disconnected", StatusRPC: "RPC error", StatusTimeout: "timeout",
	StatusProtocolVersion: "protocol version mismatch", StatusSession: "session error",
	StatusWrongThread: "wrong thread", StatusInvalidState: "invalid state",
	StatusPanic: "panic", StatusInternal: "internal error",
	StatusNoFirstEvent: "no first event", StatusStalled: "stalled",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status %d", int(s))
}

// Error is a failed libcopilot call. Inspect it with errors.As; compare the
// kind with errors.Is against ErrTimeout, ErrDisconnected and the others.
type Error struct {
	Status  Status
	Message string
	// RPCCode is the JSON-RPC error code when Status is StatusRPC.
	RPCCode    int64
	HasRPCCode bool
	// RPCData is the JSON-RPC error data, when the CLI sent any.
	RPCData string
}

func (e *Error) Error() string { return "copilot: " + e.Status.String() + ": " + e.Message }

// Is matches another *Error of the same Status, so errors.Is(err, ErrTimeout) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Status == e.Status
}

// Sentinels for errors.Is.
var (
	ErrCLINotFound  = &Error{Status: StatusCLINotFound}
	ErrDisconnected = &Error{Status: StatusDisconnected}
	ErrRPC          = &Error{Status: StatusRPC}
	ErrTimeout      = &Error{Status: StatusTimeout}
	ErrSession      = &Error{Status: StatusSession}
	ErrInvalidState = &Error{Status: StatusInvalidState}
	ErrNoFirstEvent = &Error{Status: StatusNoFirstEvent}
	ErrStalled      = &Error{Status: StatusStalled}
)

// errorFrom converts and frees a copilot_error; nil when status is OK.
func errorFrom(status C.copilot_status, err *C.copilot_error) error {
	if status == C.COPILOT_OK {
		return nil
	}
	e := &Error{Status: Status(status), Message: C.GoString(C.copilot_error_message(err))}
	var code C.int64_t
	if C.copilot_error_rpc_code(err, &code) {
		e.RPCCode, e.HasRPCCode = int64(code), true
	}
	if data := C.copilot_error_rpc_data(err); data != nil {
		e.RPCData = C.GoString(data)
	}
	C.copilot_error_free(err)
	return e
}
