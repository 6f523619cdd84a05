"""Hand-kept decisions the schemas cannot make. Each entry says why."""

# Root-package names bindings/go still defines by hand, so the generated
# aliases to package rpc skip them. PermissionRequest and AutoModeSwitchResponse
# are the request objects handlers receive (with Respond methods); their typed
# rpc counterparts stay reachable as rpc.PermissionRequest and so on.
GO_ROOT_HAND_WRITTEN = {"AutoModeSwitchResponse"}

# Boolean accessors a union's interface gains, each answered by one optional
# boolean field of every variant (false when a variant lacks the field). The
# official Go SDK has PermissionRequest.RequiresManagedApproval by hand; the
# schema gives the field, not the method.
GO_UNION_FLAGS = {
    "PermissionRequest": [("RequiresManagedApproval", "managedApprovalRequired",
                           "reports whether managed policy requires an explicit user decision, so\n"
                           "// automatic approval must be bypassed.")],
}
