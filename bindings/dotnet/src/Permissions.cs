using System;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    /// <summary>The context of one permission request (the official SDK's second handler argument).</summary>
    public sealed class PermissionInvocation
    {
        /// <summary>The session the request belongs to.</summary>
        public string SessionId { get; set; }

        /// <summary>True when the session was created with
        /// <see cref="SessionConfig.EnableManagedSettings"/>: <see cref="PermissionHandler.ApproveAll"/>
        /// then refuses to decide.</summary>
        public bool ManagedSettingsEnabled { get; set; }

        /// <summary>The request's id, to answer it later with
        /// <c>session.Rpc.Permissions.HandlePendingPermissionRequestAsync</c> after returning
        /// <see cref="GitHub.Copilot.Rpc.PermissionDecision.NoResult"/> (libcopilot addition).</summary>
        public string RequestId { get; set; }

        /// <summary>The whole <c>permission.requested</c> event data, typed (libcopilot addition);
        /// null when it did not decode as the schema says.</summary>
        public PermissionRequestedData Data { get; set; }

        /// <summary>The event data as the CLI sent it (libcopilot addition).</summary>
        public JObject Raw { get; set; }
    }

    public abstract partial class PermissionRequest
    {
        /// <summary>The request's id. Moved to <see cref="PermissionInvocation.RequestId"/>.</summary>
        [Obsolete("Use the handler's PermissionInvocation.RequestId.")]
        [JsonIgnore]
        public string RequestId { get; internal set; }
    }

    /// <summary>Built-in permission handlers.</summary>
    public static class PermissionHandler
    {
        /// <summary>Approves requests once, as the official SDK's ApproveAll: called, it leaves a
        /// request the CLI marks <c>managedApprovalRequired</c>, or one of a kind this version does
        /// not know, to another client (<see cref="GitHub.Copilot.Rpc.PermissionDecision.NoResult"/>),
        /// and refuses (a faulted task: the request is answered "user-not-available") when
        /// <see cref="PermissionInvocation.ManagedSettingsEnabled"/>. Set as the handler of a session
        /// without <see cref="SessionConfig.EnableManagedSettings"/>, it is not called: libcopilot
        /// answers approve-once to every request itself (<c>copilot_session_config_approve_all</c>,
        /// no callback), as this wrapper always did.</summary>
        public static Func<PermissionRequest, PermissionInvocation, Task<GitHub.Copilot.Rpc.PermissionDecision>> ApproveAll { get; } = Approve;

        private static Task<GitHub.Copilot.Rpc.PermissionDecision> Approve(PermissionRequest request, PermissionInvocation invocation)
        {
            if (invocation != null && invocation.ManagedSettingsEnabled)
            {
                var refused = new TaskCompletionSource<GitHub.Copilot.Rpc.PermissionDecision>();
                refused.SetException(new InvalidOperationException("ApproveAll cannot be used when managed settings are enabled"));
                return refused.Task;
            }
            if (request == null || request is UnknownPermissionRequest || ManagedApprovalRequired(request))
                return Task.FromResult(GitHub.Copilot.Rpc.PermissionDecision.NoResult());
            return Task.FromResult(GitHub.Copilot.Rpc.PermissionDecision.ApproveOnce());
        }

        private static bool ManagedApprovalRequired(PermissionRequest request)
        {
            var t = JObject.FromObject(request, TypedJson.Serializer)["managedApprovalRequired"];
            return t != null && t.Type == JTokenType.Boolean && (bool)t;
        }
    }

    /// <summary>The permission callback's plumbing: the typed request in, the decision JSON out.</summary>
    internal static class PermissionWire
    {
        /// <summary>The typed request of a <c>permission.requested</c> event's data; a variant this
        /// version does not know, or one that does not decode, arrives as <see cref="UnknownPermissionRequest"/>.</summary>
        internal static PermissionRequest Request(JObject data, out PermissionRequestedData typed)
        {
            typed = null;
            try { typed = TypedJson.Decode<PermissionRequestedData>(data); }
            catch (Exception) { }
            var request = typed == null ? null : typed.PermissionRequest;
            var raw = data["permissionRequest"] as JObject;
            if (request == null && raw != null)
            {
                try { request = TypedJson.Decode<PermissionRequest>(raw); }
                catch (Exception) { }
            }
            return request ?? new UnknownPermissionRequest(raw ?? new JObject());
        }

        /// <summary>The decision as copilot_permission_request_respond takes it:
        /// <c>{"kind", ...}</c> with <c>"decisionContext"</c> inside (libcopilot sends it beside
        /// <c>result</c>); unset members of the context are left out.</summary>
        internal static string Json(GitHub.Copilot.Rpc.PermissionDecision decision)
        {
            var o = JObject.FromObject(decision, TypedJson.Serializer);
            if (decision.DecisionContext != null)
            {
                var context = JObject.FromObject(decision.DecisionContext, TypedJson.Serializer);
                foreach (var p in new System.Collections.Generic.List<JProperty>(context.Properties()))
                    if (p.Value.Type == JTokenType.Null || (p.Value.Type == JTokenType.String && (string)p.Value == ""))
                        p.Remove();
                o["decisionContext"] = context;
            }
            return o.ToString(Formatting.None);
        }
    }
}

namespace GitHub.Copilot.Rpc
{
    /// <summary>Leaves a permission request unanswered (<c>{"kind":"no-result"}</c>): libcopilot
    /// sends no <c>session.permissions.handlePendingPermissionRequest</c>, so the request stays
    /// pending for another client connected to the session, or for a later
    /// <c>session.Rpc.Permissions.HandlePendingPermissionRequestAsync</c> of your own (with
    /// <see cref="GitHub.Copilot.PermissionInvocation.RequestId"/>). The turn waits until someone
    /// answers. Never sent to the CLI.</summary>
    public sealed class PermissionDecisionNoResult : PermissionDecision
    {
        /// <summary>Always "no-result".</summary>
        [JsonProperty("kind", Order = -2)]
        public override string Kind { get { return "no-result"; } }
    }

    public abstract partial class PermissionDecision
    {
        /// <summary>Approve this request only (<c>{"kind":"approve-once"}</c>).</summary>
        public static PermissionDecision ApproveOnce() { return new PermissionDecisionApproveOnce(); }

        /// <summary>Reject the request; the feedback, if any, reaches the model
        /// (<c>{"kind":"reject","feedback"?}</c>).</summary>
        public static PermissionDecision Reject(string feedback = null) { return new PermissionDecisionReject { Feedback = feedback }; }

        /// <summary>Deny the request: no user is there to confirm it (<c>{"kind":"user-not-available"}</c>).</summary>
        public static PermissionDecision UserNotAvailable() { return new PermissionDecisionUserNotAvailable(); }

        /// <summary>Answer nothing: see <see cref="PermissionDecisionNoResult"/>.</summary>
        public static PermissionDecision NoResult() { return new PermissionDecisionNoResult(); }

        /// <summary><c>{"kind":"approve-for-session"}</c> with no approval payload, as the
        /// wrapper's earlier PermissionDecision sent it.</summary>
        [Obsolete("Use new PermissionDecisionApproveForSession { Approval = ... }.")]
        public static PermissionDecision ApproveForSession() { return new PermissionDecisionApproveForSession(); }

        /// <summary>How and where the decision was made, for the CLI's telemetry; never part of the
        /// decision itself: it is sent beside <c>result</c> as <c>decisionContext</c>. Members
        /// left unset are not sent.</summary>
        [JsonIgnore]
        public PermissionDecisionContext DecisionContext { get; set; }
    }
}
