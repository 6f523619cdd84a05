"""Hand-kept decisions the schemas cannot make. Each entry says why."""

# Root-package names bindings/go still defines by hand, so the generated
# aliases to package rpc skip them. PermissionRequest and AutoModeSwitchResponse
# are the request objects handlers receive (with Respond methods); their typed
# rpc counterparts stay reachable as rpc.PermissionRequest and so on.
GO_ROOT_HAND_WRITTEN = {"PermissionRequest", "AutoModeSwitchResponse"}
