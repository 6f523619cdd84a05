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

# Package rpc types written by hand (bindings/go/rpc/*.go without the z prefix).
# EventLogTypes is '*' or a list of event types; the official SDK gives it a
# struct with one field per form, a shape no other schema union has.
GO_HAND_WRITTEN = {"EventLogTypes"}

# Names of an untagged union's plain-JSON variants where the official SDK does
# not follow the usual rule (ExternalToolResult -> ExternalToolStringResult).
GO_SCALAR_VARIANT_NAMES = {"UIElicitationFieldValue": "UIElicitation{Kind}Value"}

# Unions told apart by a boolean that every emitter reads as one object with
# that boolean as a field. The official SDK v1.0.14 was generated when
# session.commands.enqueue answered {queued: bool}; its callers read .Queued.
MERGED_BOOL_UNIONS = {"EnqueueCommandResult"}


def patch_schemas(api: dict, events: dict) -> None:
    """Corrections to the pinned CLI's schemas, applied before reading them."""
    # CLI 1.0.102 reads githubMcpTools.disableFormDeferral (cli-main.js), but
    # its events schema leaves the field out; the official SDK v1.0.14 has it.
    gh = events["definitions"]["GitHubMcpToolConfig"]["properties"]
    gh.setdefault("disableFormDeferral", {
        "type": "boolean",
        "description": "Whether the GitHub MCP server answers form-based tools at once instead of deferring them",
    })
    # Newer CLIs than the pinned one have user.settings.reload, and
    # user.settings.set answers which keys are shadowed; the official SDK
    # v1.0.14 calls both. The pinned CLI answers the first with "method not
    # found" and the second with null (so ShadowedKeys stays empty).
    settings = api["server"]["user"]["settings"]
    settings.setdefault("reload", {
        "rpcMethod": "user.settings.reload",
        "description": "Re-reads the user settings from disk. Not in CLI 1.0.102, which answers "
                       "\"method not found\"; kept for the official SDKs' API.",
        "result": {"type": "object", "properties": {}, "additionalProperties": False,
                   "title": "UserSettingsReloadResult"},
        "stability": "experimental",
    })
    if settings["set"].get("result", {}).get("type") == "null":
        settings["set"]["result"] = {
            "type": "object", "title": "UserSettingsSetResult",
            "properties": {"shadowedKeys": {
                "type": "array", "items": {"type": "string"},
                "description": "Keys written that a managed or repository setting overrides. Newer CLIs "
                               "only: CLI 1.0.102 answers null, so this stays empty."}},
            "additionalProperties": False,
        }
