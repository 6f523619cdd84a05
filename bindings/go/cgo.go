package copilot

// Where the header and library come from is in cgo_pkgconfig.go (pkg-config,
// the default) and cgo_dev.go (this checkout's target/debug, with the
// copilotdev build tag).

/*
#include <stdlib.h>
#include "copilot.h"

// Trampolines exported from exports.go.
extern void goEventBatch(void *ud, copilot_event_view *events, size_t count);
extern void goTool(void *ud, copilot_tool_invocation *inv, char *json);
extern void goPermission(void *ud, copilot_permission_request *req, char *json);
extern void goRequest(void *ud, copilot_request *req, char *json);
extern void goFreeHandle(void *ud);
extern void goState(void *ud, copilot_client_state state, char *reason);
extern void goLifecycle(void *ud, char *type, char *json);
extern void goNotification(void *ud, char *method, char *json);

// cgo.Handle values travel as user_data; these casts keep go vet quiet.
// Not static: session.go calls them.
static void *handle_ptr(uintptr_t h) { return (void *)h; }

copilot_status cfg_on_event(copilot_session_config *c, uintptr_t h, copilot_error **e) {
	return copilot_session_config_on_event_batch(c, (copilot_event_batch_fn)goEventBatch, handle_ptr(h), goFreeHandle, e);
}
copilot_status cfg_add_tool(copilot_session_config *c, const char *decl, uintptr_t h, copilot_error **e) {
	return copilot_session_config_add_tool(c, decl, (copilot_tool_fn)goTool, handle_ptr(h), goFreeHandle, e);
}
copilot_status cfg_permission(copilot_session_config *c, uintptr_t h, copilot_error **e) {
	return copilot_session_config_set_permission_handler(c, (copilot_permission_fn)goPermission, handle_ptr(h), goFreeHandle, e);
}
copilot_status cfg_handler(copilot_session_config *c, const char *kind, uintptr_t h, copilot_error **e) {
	return copilot_session_config_set_handler(c, kind, (copilot_request_fn)goRequest, handle_ptr(h), goFreeHandle, e);
}
copilot_status cfg_hook(copilot_session_config *c, const char *kind, uintptr_t h, copilot_error **e) {
	return copilot_session_config_set_hook(c, kind, (copilot_request_fn)goRequest, handle_ptr(h), goFreeHandle, e);
}
copilot_status cfg_add_command(copilot_session_config *c, const char *decl, uintptr_t h, copilot_error **e) {
	return copilot_session_config_add_command(c, decl, (copilot_request_fn)goRequest, handle_ptr(h), goFreeHandle, e);
}
copilot_status client_on_lifecycle(copilot_client *c, uintptr_t h, copilot_error **e) {
	return copilot_client_on_lifecycle(c, (copilot_lifecycle_fn)goLifecycle, handle_ptr(h), goFreeHandle, e);
}
copilot_status client_set_handler(copilot_client *c, const char *kind, uintptr_t h, copilot_error **e) {
	return copilot_client_set_handler(c, kind, (copilot_request_fn)goRequest, handle_ptr(h), goFreeHandle, e);
}
copilot_status client_on_notification(copilot_client *c, const char *method, uintptr_t h, copilot_error **e) {
	return copilot_client_on_notification(c, method, (copilot_notification_fn)goNotification, handle_ptr(h), goFreeHandle, e);
}
copilot_status client_on_state(copilot_client *c, uintptr_t h, copilot_error **e) {
	return copilot_client_on_state_change(c, (copilot_state_fn)goState, handle_ptr(h), goFreeHandle, e);
}
copilot_status session_subscribe(copilot_session *s, uintptr_t h, uint64_t *id, copilot_error **e) {
	return copilot_session_subscribe_batch(s, (copilot_event_batch_fn)goEventBatch, handle_ptr(h), goFreeHandle, id, e);
}
static uint32_t header_abi_version(void) { return COPILOT_ABI_VERSION; }
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"unsafe"
)

// abiError is set when the loaded libcopilot does not match the header this
// package was built with; every constructor returns it.
var abiError error

func init() {
	if got, want := uint32(C.copilot_abi_version()), uint32(C.header_abi_version()); got != want {
		abiError = fmt.Errorf("copilot: libcopilot ABI version %d does not match the header's %d: rebuild against the library you load", got, want)
	}
}

// cString converts s for one C call; the caller frees it with C.free.
func cString(s string) *C.char { return C.CString(s) }

func free(p *C.char) { C.free(unsafe.Pointer(p)) }

// takeString copies and frees a string the library returned.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.copilot_string_free(p)
	return s
}

func handleOf(v any) C.uintptr_t { return C.uintptr_t(cgo.NewHandle(v)) }
