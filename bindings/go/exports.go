package copilot

/*
#include "copilot.h"
*/
import "C"

import (
	"encoding/json"
	"runtime/cgo"
	"unsafe"
)

// The library calls these while the client's dispatch loop (dispatch.go) runs
// copilot_client_dispatch, on that goroutine; the preamble above only
// declares, as cgo requires for files with //export.

// goEventBatch receives the events of one read of the CLI's output, in wire
// order: one cgo crossing for all of them.
//
//export goEventBatch
func goEventBatch(ud unsafe.Pointer, events *C.copilot_event_view, count C.size_t) {
	sub := cgo.Handle(ud).Value().(*eventSubscriber)
	for _, ev := range unsafe.Slice(events, int(count)) {
		// Copied: the library's strings are borrowed for this call only.
		raw := C.GoBytes(unsafe.Pointer(ev.event_json), C.int(ev.event_json_len))
		if !sub.deliver(SessionEventType(C.GoString(ev.event_type)), raw) {
			return // unsubscribed meanwhile: the rest of the batch is not its
		}
	}
}

//export goTool
func goTool(ud unsafe.Pointer, inv *C.copilot_tool_invocation, js *C.char) {
	tool := cgo.Handle(ud).Value().(*Tool)
	raw := []byte(C.GoString(js))
	// Handlers run on other goroutines so a slow tool never holds up events.
	handlerPool.run(func() { runTool(tool, inv, raw) })
}

//export goPermission
func goPermission(ud unsafe.Pointer, req *C.copilot_permission_request, js *C.char) {
	b := cgo.Handle(ud).Value().(permissionBinding)
	raw := []byte(C.GoString(js))
	sessionID := b.ref.get()
	handlerPool.run(func() { runPermission(b.fn, req, sessionID, raw) })
}

//export goRequest
func goRequest(ud unsafe.Pointer, req *C.copilot_request, js *C.char) {
	raw := json.RawMessage(C.GoString(js))
	switch h := cgo.Handle(ud).Value().(type) {
	case requestHandler:
		// On a goroutine: a handler waiting for a user never holds up events.
		handlerPool.run(func() { runRequest(h, req, raw) })
	case kindRequestHandler:
		// On a goroutine, told which method it answers (canvas.open, ...).
		kind := C.GoString(C.copilot_request_kind(req))
		handlerPool.run(func() { runRequest(func(raw json.RawMessage) (any, error) { return h(kind, raw) }, req, raw) })
	case inlineRequestHandler:
		// Here, on the callback thread: in wire order, one at a time.
		kind := C.GoString(C.copilot_request_kind(req))
		runRequest(func(raw json.RawMessage) (any, error) { return h(kind, raw) }, req, raw)
	default:
		C.copilot_request_free(req) // the library's default answer
	}
}

//export goFreeHandle
func goFreeHandle(ud unsafe.Pointer) {
	cgo.Handle(ud).Delete()
}

// stateHandler receives client state changes.
type stateHandler func(ClientState, string)

//export goState
func goState(ud unsafe.Pointer, state C.copilot_client_state, reason *C.char) {
	h := cgo.Handle(ud).Value().(stateHandler)
	r := ""
	if reason != nil {
		r = C.GoString(reason)
	}
	defer func() { _ = recover() }()
	h(ClientState(state), r)
}

//export goLifecycle
func goLifecycle(ud unsafe.Pointer, typ *C.char, js *C.char) {
	hub := cgo.Handle(ud).Value().(*lifecycleHub)
	hub.deliver(C.GoString(typ), []byte(C.GoString(js)))
}

// notificationHandler receives one JSON-RPC notification from the CLI.
type notificationHandler func(method string, params []byte)

//export goNotification
func goNotification(ud unsafe.Pointer, method *C.char, js *C.char) {
	h := cgo.Handle(ud).Value().(notificationHandler)
	m, raw := C.GoString(method), []byte(C.GoString(js))
	defer func() { _ = recover() }() // a panicking handler never reaches the library
	h(m, raw)
}
