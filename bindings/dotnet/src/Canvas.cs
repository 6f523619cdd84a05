using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using GitHub.Copilot.Rpc;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    /// <summary>Declarative metadata for a single canvas, sent in <c>session.create</c> /
    /// <c>session.resume</c> (<see cref="SessionConfig.Canvases"/>).</summary>
    /// <remarks>Experimental: may change or be removed in a later CLI version.</remarks>
    public sealed class CanvasDeclaration
    {
        /// <summary>Canvas identifier, unique within the declaring connection.</summary>
        [JsonProperty("id")]
        public string Id { get; set; } = "";

        /// <summary>Human-readable name shown in host UI and canvas pickers.</summary>
        [JsonProperty("displayName")]
        public string DisplayName { get; set; } = "";

        /// <summary>Short, single-sentence description shown to the agent in canvas catalogs.</summary>
        [JsonProperty("description")]
        public string Description { get; set; } = "";

        /// <summary>Optional PNG path for the canvas icon.</summary>
        [JsonProperty("icon", NullValueHandling = NullValueHandling.Ignore)]
        public string Icon { get; set; }

        /// <summary>JSON Schema for the <c>input</c> payload accepted by <c>canvas.open</c>.</summary>
        [JsonProperty("inputSchema", NullValueHandling = NullValueHandling.Ignore)]
        public JToken InputSchema { get; set; }

        /// <summary>Agent-callable actions this canvas exposes.</summary>
        [JsonProperty("actions", NullValueHandling = NullValueHandling.Ignore)]
        public IList<CanvasAction> Actions { get; set; }
    }

    /// <summary>Stable extension identity for session participants that provide canvases
    /// (<c>extensionInfo</c>).</summary>
    /// <remarks>Experimental: may change or be removed in a later CLI version.</remarks>
    public sealed class ExtensionInfo
    {
        /// <summary>Extension namespace/source, e.g. <c>"github-app"</c>.</summary>
        [JsonProperty("source")]
        public string Source { get; set; } = "";

        /// <summary>Stable provider name within the source namespace.</summary>
        [JsonProperty("name")]
        public string Name { get; set; } = "";
    }

    /// <summary>Stable identity for a host connection that supplies built-in canvases
    /// (<c>canvasProvider</c>): the runtime uses <see cref="Id"/> verbatim as the agent-facing
    /// canvas extension id, so the canvases survive reconnect and CLI restart. An id beginning
    /// with <c>connection:</c> is reserved and ignored by the runtime.</summary>
    /// <remarks>Experimental: may change or be removed in a later CLI version.</remarks>
    public sealed class CanvasProviderIdentity
    {
        /// <summary>Opaque, stable provider id used verbatim as the canvas extension id.</summary>
        [JsonProperty("id")]
        public string Id { get; set; } = "";

        /// <summary>Optional display name surfaced as the canvas extension name.</summary>
        [JsonProperty("name", NullValueHandling = NullValueHandling.Ignore)]
        public string Name { get; set; }
    }

    /// <summary>A structured error for canvas handlers to throw: the request fails with
    /// <see cref="Exception.Message"/>. Any other exception fails it with its message too.</summary>
    /// <remarks>Experimental. The official SDK also sends <c>{code, message}</c> as the JSON-RPC
    /// error's data; libcopilot's <c>copilot_request_fail</c> carries the message only, so
    /// <see cref="Code"/> does not reach the wire.</remarks>
    public sealed class CanvasException : Exception
    {
        /// <summary>A canvas error with a machine-readable code and a human-readable message.</summary>
        public CanvasException(string code, string message) : base(message)
        {
            Code = code;
        }

        /// <summary>Machine-readable error code.</summary>
        public string Code { get; private set; }

        /// <summary>The default error of an action without a handler.</summary>
        public static CanvasException NoHandler()
        {
            return new CanvasException("canvas_action_no_handler", "No handler implemented for this canvas action");
        }
    }

    /// <summary>The session's canvas provider (<see cref="SessionConfig.CanvasHandler"/>): it gets
    /// every <c>canvas.open</c> / <c>canvas.close</c> / <c>canvas.action.invoke</c> request the
    /// runtime sends for the session's declared canvases, and tells them apart by
    /// <c>CanvasId</c> (the wrapper keeps no per-canvas registry). Derive from
    /// <see cref="CanvasHandlerBase"/> for the default close and action behaviour.</summary>
    /// <remarks>Experimental. Calls run on the thread pool (or the captured context, see
    /// <see cref="SessionConfig.UseSynchronizationContext"/>); the token is never cancelled.</remarks>
    public interface ICanvasHandler
    {
        /// <summary>Opens a new canvas instance.</summary>
        Task<CanvasProviderOpenResult> OnOpenAsync(CanvasProviderOpenRequest context, CancellationToken cancellationToken);

        /// <summary>The canvas was closed by the user or the agent.</summary>
        Task OnCloseAsync(CanvasProviderCloseRequest context, CancellationToken cancellationToken);

        /// <summary>Runs an action the canvas declared; the result (any JSON-serialisable value, a
        /// <see cref="JToken"/>, or null) is the action's result.</summary>
        Task<object> OnActionAsync(CanvasProviderInvokeActionRequest context, CancellationToken cancellationToken);
    }

    /// <summary>An <see cref="ICanvasHandler"/> whose close does nothing and whose actions throw
    /// <see cref="CanvasException.NoHandler"/>.</summary>
    public abstract class CanvasHandlerBase : ICanvasHandler
    {
        /// <inheritdoc />
        public abstract Task<CanvasProviderOpenResult> OnOpenAsync(CanvasProviderOpenRequest context, CancellationToken cancellationToken);

        /// <inheritdoc />
        public virtual Task OnCloseAsync(CanvasProviderCloseRequest context, CancellationToken cancellationToken)
        {
            return Task.FromResult<object>(null);
        }

        /// <inheritdoc />
        public virtual Task<object> OnActionAsync(CanvasProviderInvokeActionRequest context, CancellationToken cancellationToken)
        {
            var tcs = new TaskCompletionSource<object>();
            tcs.SetException(CanvasException.NoHandler());
            return tcs.Task;
        }
    }

    /// <summary>Answers the session's <c>canvas</c> requests (copilot_session_config_set_handler
    /// kind "canvas") with an <see cref="ICanvasHandler"/>.</summary>
    internal static class CanvasDispatch
    {
        internal static async Task<object> Answer(ICanvasHandler handler, string kind, JObject request)
        {
            switch (kind)
            {
                case "canvas.open":
                    var opened = await handler.OnOpenAsync(TypedJson.Decode<CanvasProviderOpenRequest>(request), CancellationToken.None).ConfigureAwait(false);
                    return opened == null ? new JObject() : JObject.FromObject(opened, TypedJson.Serializer);
                case "canvas.close":
                    await handler.OnCloseAsync(TypedJson.Decode<CanvasProviderCloseRequest>(request), CancellationToken.None).ConfigureAwait(false);
                    return null;
                case "canvas.action.invoke":
                    var result = await handler.OnActionAsync(TypedJson.Decode<CanvasProviderInvokeActionRequest>(request), CancellationToken.None).ConfigureAwait(false);
                    var token = result as JToken;
                    return token ?? (result == null ? null : JToken.FromObject(result, TypedJson.Serializer));
                default:
                    throw new CanvasException("canvas_unknown_method", "unknown canvas request: " + kind);
            }
        }
    }
}
