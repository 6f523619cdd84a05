using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    /// <summary>The JSON Schema of an elicitation form: an object with one property per field.</summary>
    public sealed class ElicitationSchema
    {
        private string _type = "object";

        /// <summary>Always "object" for forms.</summary>
        public string Type { get { return _type; } set { _type = value; } }
        /// <summary>Each field's schema, e.g. <c>{"type": "string"}</c> (a JToken or any
        /// JSON-serialisable value), by field name.</summary>
        public IDictionary<string, object> Properties { get; set; }
        /// <summary>The fields the user must fill in.</summary>
        public IList<string> Required { get; set; }

        internal JObject ToJson()
        {
            var props = new JObject();
            foreach (var kv in Properties ?? new Dictionary<string, object>())
                props[kv.Key] = kv.Value == null ? JValue.CreateNull() : JToken.FromObject(kv.Value, TypedJson.Serializer);
            var o = new JObject { ["type"] = Type ?? "object", ["properties"] = props };
            if (Required != null) o["required"] = new JArray(Required);
            return o;
        }
    }

    /// <summary>An elicitation dialog: a message and the form's schema.</summary>
    public sealed class ElicitationParams
    {
        public string Message { get; set; }
        public ElicitationSchema RequestedSchema { get; set; }
    }

    /// <summary>The text field of <see cref="ISessionUiApi.InputAsync"/>.</summary>
    public sealed class UiInputOptions
    {
        public string Title { get; set; }
        public string Description { get; set; }
        public int? MinLength { get; set; }
        public int? MaxLength { get; set; }
        /// <summary>A JSON Schema string format, e.g. "email", "uri", "date".</summary>
        public string Format { get; set; }
        public string Default { get; set; }
    }

    /// <summary>Dialogs shown to the user by the client that handles the session's elicitations
    /// (<c>session.ui.elicitation</c>: this session's own <see cref="SessionConfig.OnElicitationRequest"/>
    /// or another client's). Each throws InvalidOperationException when the session's
    /// <see cref="CopilotSession.Capabilities"/> (as create or resume reported them) have no
    /// <c>ui.elicitation</c>: no client could answer, and the call would wait forever.</summary>
    public interface ISessionUiApi
    {
        /// <summary>A form of your own; the user's answer as it came.</summary>
        Task<ElicitationResult> ElicitAsync(ElicitationParams elicitationParams, CancellationToken cancellationToken = default(CancellationToken));
        /// <summary>A yes/no question (field "confirmed"); false when declined or cancelled.</summary>
        Task<bool> ConfirmAsync(string message, CancellationToken cancellationToken = default(CancellationToken));
        /// <summary>A choice among options (field "selection"); null when declined or cancelled.</summary>
        Task<string> SelectAsync(string message, string[] options, CancellationToken cancellationToken = default(CancellationToken));
        /// <summary>A line of text (field "value"); null when declined or cancelled.</summary>
        Task<string> InputAsync(string message, UiInputOptions options = null, CancellationToken cancellationToken = default(CancellationToken));
    }

    internal sealed class SessionUiApi : ISessionUiApi
    {
        private readonly CopilotSession _session;

        internal SessionUiApi(CopilotSession session) { _session = session; }

        private async Task<ElicitationResult> Ask(string message, JObject schema, CancellationToken ct)
        {
            if (message == null) throw new ArgumentNullException("message");
            var elicitation = _session.Capabilities.SelectToken("ui.elicitation");
            if (elicitation == null || elicitation.Type != JTokenType.Boolean || !(bool)elicitation)
                throw new InvalidOperationException("Elicitation is not supported by the host: check session.Capabilities (ui.elicitation) before calling UI methods.");
            var p = new JObject { ["message"] = message, ["requestedSchema"] = schema };
            var raw = await _session.CallRawAsync("session.ui.elicitation", p.ToString(Formatting.None), ct).ConfigureAwait(false);
            var o = string.IsNullOrEmpty(raw) ? new JObject() : Native.ParseJson(raw) as JObject ?? new JObject();
            return new ElicitationResult { Action = Json.Str(o, "action"), Content = o["content"] as JObject };
        }

        private static JObject Form(string field, JObject schema)
        {
            return new JObject
            {
                ["type"] = "object",
                ["properties"] = new JObject { [field] = schema },
                ["required"] = new JArray(field),
            };
        }

        private static JToken Accepted(ElicitationResult r, string field)
        {
            return r.Action == "accept" && r.Content != null ? r.Content[field] : null;
        }

        public Task<ElicitationResult> ElicitAsync(ElicitationParams elicitationParams, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (elicitationParams == null) throw new ArgumentNullException("elicitationParams");
            var schema = (elicitationParams.RequestedSchema ?? new ElicitationSchema()).ToJson();
            return Ask(elicitationParams.Message, schema, cancellationToken);
        }

        public async Task<bool> ConfirmAsync(string message, CancellationToken cancellationToken = default(CancellationToken))
        {
            var r = await Ask(message, Form("confirmed", new JObject { ["type"] = "boolean", ["default"] = true }), cancellationToken).ConfigureAwait(false);
            var v = Accepted(r, "confirmed");
            return v != null && v.Type == JTokenType.Boolean && (bool)v;
        }

        public async Task<string> SelectAsync(string message, string[] options, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (options == null) throw new ArgumentNullException("options");
            var r = await Ask(message, Form("selection", new JObject { ["type"] = "string", ["enum"] = new JArray(options) }), cancellationToken).ConfigureAwait(false);
            var v = Accepted(r, "selection");
            return v == null || v.Type == JTokenType.Null ? null : v.Type == JTokenType.String ? (string)v : v.ToString(Formatting.None);
        }

        public async Task<string> InputAsync(string message, UiInputOptions options = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            var field = new JObject { ["type"] = "string" };
            if (options != null)
            {
                if (options.Title != null) field["title"] = options.Title;
                if (options.Description != null) field["description"] = options.Description;
                if (options.MinLength.HasValue) field["minLength"] = options.MinLength.Value;
                if (options.MaxLength.HasValue) field["maxLength"] = options.MaxLength.Value;
                if (options.Format != null) field["format"] = options.Format;
                if (options.Default != null) field["default"] = options.Default;
            }
            var r = await Ask(message, Form("value", field), cancellationToken).ConfigureAwait(false);
            var v = Accepted(r, "value");
            return v == null || v.Type == JTokenType.Null ? null : v.Type == JTokenType.String ? (string)v : v.ToString(Formatting.None);
        }
    }
}
