using System;
using System.Collections.Generic;
using System.IO;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    /// <summary>A session event. Every type the pinned CLI schema describes parses into its own
    /// generated subclass (src/Generated/SessionEvents.cs, the official SDK's names:
    /// <c>if (e is AssistantMessageEvent m) Console.WriteLine(m.Data.Content);</c>) whose
    /// <c>Data</c> is the typed payload. A type the schema does not describe, or data that does
    /// not decode as its type's schema, arrives as this class: never dropped, never thrown.
    /// <see cref="Raw"/> keeps the envelope exactly as the CLI sent it.</summary>
    [JsonConverter(typeof(SessionEventConverter))]
    public partial class SessionEvent
    {
        private JObject _data;

        /// <summary>The event type as received, e.g. "assistant.message".</summary>
        public string Type { get; private set; }
        /// <summary>Unique event identifier (UUID).</summary>
        public string Id { get; private set; }
        /// <summary>When the event was created: the ISO 8601 text as received.</summary>
        public string Timestamp { get; private set; }
        /// <summary>The chronologically preceding event's id; null for the first event.</summary>
        public string ParentId { get; private set; }
        /// <summary>True when the event is transient and not persisted in the session log.</summary>
        public bool Ephemeral { get; private set; }
        /// <summary>The sub-agent instance that produced the event; null for the main agent.</summary>
        public string AgentId { get; private set; }
        /// <summary>The event exactly as the CLI sent it.</summary>
        public string Raw { get; private set; }

        /// <summary>The payload as JSON, for every type (empty when the event had none), parsed
        /// from <see cref="Raw"/> on first use. The generated subclasses hide it with their typed
        /// <c>Data</c>; cast to <see cref="SessionEvent"/> to reach a typed event's JSON.</summary>
        public JObject Data
        {
            get
            {
                var d = _data;
                if (d == null)
                {
                    try { d = (Native.ParseJson(Raw ?? "") as JObject)?["data"] as JObject; }
                    catch (Exception) { }
                    _data = d = d ?? new JObject();
                }
                return d;
            }
        }

        /// <summary>Decodes the typed payload from the reader, positioned on its first token;
        /// throws when it does not match the type's schema.</summary>
        internal virtual void DecodeData(JsonReader reader) { }

        /// <summary>Parses one event envelope. Never throws: text that is not a JSON object
        /// arrives as a bare <see cref="SessionEvent"/> with only <see cref="Raw"/> set.</summary>
        /// <remarks>One pass over the text decodes the envelope and, for a type the schema
        /// describes, the typed payload (so a payload that does not match arrives as this class);
        /// the JSON view <see cref="Data"/> is only parsed when something reads it.</remarks>
        public static SessionEvent Parse(string raw)
        {
            SessionEvent e = null;
            try { e = ParseTyped(raw); }
            catch (Exception) { }
            if (e == null) e = ParseUntyped(raw);
            e.Raw = raw;
            return e;
        }

        private static SessionEvent ParseTyped(string raw)
        {
            string type = null, id = null, timestamp = null, parentId = null, agentId = null;
            bool ephemeral = false, decoded = false;
            JToken early = null; // "data" met before "type"
            SessionEvent e = null;
            using (var r = new JsonTextReader(new StringReader(raw)) { DateParseHandling = DateParseHandling.None })
            {
                if (!r.Read() || r.TokenType != JsonToken.StartObject) return null;
                while (r.Read() && r.TokenType == JsonToken.PropertyName)
                {
                    var name = (string)r.Value;
                    if (!r.Read()) return null;
                    switch (name)
                    {
                        case "type": type = Scalar(r); break;
                        case "id": id = Scalar(r); break;
                        case "timestamp": timestamp = Scalar(r); break;
                        case "parentId": parentId = Scalar(r); break;
                        case "agentId": agentId = Scalar(r); break;
                        case "ephemeral": ephemeral = r.TokenType == JsonToken.Boolean && (bool)r.Value; break;
                        case "data":
                            if (type == null)
                            {
                                early = JToken.ReadFrom(r);
                                break;
                            }
                            e = r.TokenType == JsonToken.StartObject ? ForType(type) : null;
                            if (e == null) r.Skip();
                            else { e.DecodeData(r); decoded = true; }
                            break;
                        default: r.Skip(); break;
                    }
                }
            }
            if (early != null && early.Type == JTokenType.Object && (e = ForType(type)) != null)
            {
                using (var r = early.CreateReader())
                {
                    r.Read();
                    e.DecodeData(r);
                }
                decoded = true;
            }
            if (!decoded) e = new SessionEvent();
            e.Type = type;
            e.Id = id;
            e.Timestamp = timestamp;
            e.ParentId = parentId;
            e.Ephemeral = ephemeral;
            e.AgentId = agentId;
            return e;
        }

        /// <summary>The envelope of text the typed pass could not read: not JSON, or a payload
        /// that does not match its type's schema.</summary>
        private static SessionEvent ParseUntyped(string raw)
        {
            var e = new SessionEvent();
            JObject o = null;
            try { o = Native.ParseJson(raw) as JObject; }
            catch (Exception) { }
            if (o == null)
            {
                e._data = new JObject();
                return e;
            }
            e.Type = Text(o["type"]);
            e.Id = Text(o["id"]);
            e.Timestamp = Text(o["timestamp"]);
            e.ParentId = Text(o["parentId"]);
            var ephemeral = o["ephemeral"];
            e.Ephemeral = ephemeral != null && ephemeral.Type == JTokenType.Boolean && (bool)ephemeral;
            e.AgentId = Text(o["agentId"]);
            e._data = o["data"] as JObject ?? new JObject();
            return e;
        }

        /// <summary>A string as is; another scalar as its JSON text; null for null, objects and arrays.</summary>
        private static string Scalar(JsonReader r)
        {
            switch (r.TokenType)
            {
                case JsonToken.String: return (string)r.Value;
                case JsonToken.Null: return null;
                case JsonToken.StartObject:
                case JsonToken.StartArray: r.Skip(); return null;
                default: return Text(new JValue(r.Value));
            }
        }

        private static string Text(JToken t)
        {
            var v = t as JValue;
            if (v == null || v.Type == JTokenType.Null) return null;
            return v.Type == JTokenType.String ? (string)v : v.ToString(Formatting.None);
        }
    }

    /// <summary>Reads a session event inside a typed RPC result (e.g. eventLog.read) with
    /// <see cref="SessionEvent.Parse"/>; writes one back as <see cref="SessionEvent.Raw"/>.</summary>
    internal sealed class SessionEventConverter : JsonConverter
    {
        public override bool CanConvert(Type objectType) { return typeof(SessionEvent).IsAssignableFrom(objectType); }

        public override object ReadJson(JsonReader reader, Type objectType, object existingValue, JsonSerializer serializer)
        {
            if (reader.TokenType == JsonToken.Null) return null;
            var dates = reader.DateParseHandling;
            reader.DateParseHandling = DateParseHandling.None;
            JToken t;
            try { t = JToken.ReadFrom(reader); }
            finally { reader.DateParseHandling = dates; }
            var e = SessionEvent.Parse(t.ToString(Formatting.None));
            if (!objectType.IsInstanceOfType(e)) throw new JsonSerializationException("a " + e.Type + " event is not a " + objectType.Name);
            return e;
        }

        public override void WriteJson(JsonWriter writer, object value, JsonSerializer serializer)
        {
            var raw = ((SessionEvent)value).Raw;
            if (raw == null) writer.WriteNull();
            else writer.WriteRawValue(raw);
        }
    }

    /// <summary>A session event whose payload decoded into <typeparamref name="TData"/>; the
    /// generated event classes (<see cref="AssistantMessageEvent"/>, ...) derive from it.</summary>
    public abstract class SessionEvent<TData> : SessionEvent where TData : class
    {
        /// <summary>The typed payload (never null).</summary>
        public new TData Data { get; private set; }

        internal override void DecodeData(JsonReader reader)
        {
            var d = TypedJson.Serializer.Deserialize<TData>(reader);
            if (d == null) throw new JsonSerializationException("no data");
            Data = d;
        }

        /// <summary>The payload as JSON, as received.</summary>
        protected JObject Json { get { return ((SessionEvent)this).Data; } }
    }

    // Shortcuts the hand-written event classes had before the generated ones replaced them.

    public sealed partial class AssistantMessageEvent
    {
        /// <summary>Shortcut for <c>Data.MessageId</c>.</summary>
        public string MessageId { get { return Data.MessageId; } }
        /// <summary>Shortcut for <c>Data.Content</c>.</summary>
        public string Content { get { return Data.Content; } }
    }

    public sealed partial class AssistantMessageDeltaEvent
    {
        /// <summary>Shortcut for <c>Data.MessageId</c>.</summary>
        public string MessageId { get { return Data.MessageId; } }
        /// <summary>Shortcut for <c>Data.DeltaContent</c>.</summary>
        public string DeltaContent { get { return Data.DeltaContent; } }
    }

    public sealed partial class ToolExecutionStartEvent
    {
        /// <summary>Shortcut for <c>Data.ToolCallId</c>.</summary>
        public string ToolCallId { get { return Data.ToolCallId; } }
        /// <summary>Shortcut for <c>Data.ToolName</c>.</summary>
        public string ToolName { get { return Data.ToolName; } }
        /// <summary>The "arguments" JSON (<c>Data.Arguments</c>).</summary>
        public JToken Arguments { get { return Json["arguments"]; } }
    }

    public sealed partial class ToolExecutionCompleteEvent
    {
        /// <summary>Shortcut for <c>Data.ToolCallId</c>.</summary>
        public string ToolCallId { get { return Data.ToolCallId; } }
        /// <summary>Shortcut for <c>Data.Success</c>.</summary>
        public bool Success { get { return Data.Success; } }
        /// <summary>The "result" JSON (typed: <c>Data.Result</c>).</summary>
        public JToken Result { get { return Json["result"]; } }
    }

    public sealed partial class SessionIdleEvent
    {
        /// <summary>Shortcut for <c>Data.Aborted</c> (false when absent).</summary>
        public bool Aborted { get { return Data.Aborted ?? false; } }
    }

    public sealed partial class SessionErrorEvent
    {
        /// <summary>Shortcut for <c>Data.ErrorType</c>.</summary>
        public string ErrorType { get { return Data.ErrorType; } }
        /// <summary>Shortcut for <c>Data.Message</c>.</summary>
        public string Message { get { return Data.Message; } }
    }

    /// <summary>Metadata of a session lifecycle notification.</summary>
    public sealed class SessionLifecycleEventMetadata
    {
        /// <summary>When the session was created (ISO 8601, as the CLI sent it).</summary>
        public string StartTime { get; internal set; }
        /// <summary>When the session was last modified (ISO 8601, as the CLI sent it).</summary>
        public string ModifiedTime { get; internal set; }
        /// <summary>A human-readable summary of the session, when it has one.</summary>
        public string Summary { get; internal set; }
    }

    /// <summary>One <c>session.lifecycle</c> notification: the server tells every connected client
    /// when any session is created, deleted or updated (or, with a TUI server, moved to the
    /// foreground or background), whichever client caused it. Known types arrive as the
    /// subclasses (<see cref="SessionCreatedEvent"/>, ...); others as this class, with
    /// <see cref="Type"/> set. Wire shape: <c>{"type", "sessionId", "metadata"?: {"startTime",
    /// "modifiedTime", "summary"?}}</c>.</summary>
    public class SessionLifecycleEvent
    {
        /// <summary>"session.created", "session.deleted", "session.updated",
        /// "session.foreground", "session.background", or a type this wrapper does not know.</summary>
        public string Type { get; private set; }
        public string SessionId { get; private set; }
        /// <summary>Null when the notification carried none.</summary>
        public SessionLifecycleEventMetadata Metadata { get; private set; }
        /// <summary>The notification as the CLI sent it.</summary>
        public JObject Raw { get; private set; }

        internal static SessionLifecycleEvent Parse(string raw)
        {
            var o = (JObject)Native.ParseJson(raw);
            var type = (string)o["type"];
            SessionLifecycleEvent e;
            switch (type)
            {
                case "session.created": e = new SessionCreatedEvent(); break;
                case "session.deleted": e = new SessionDeletedEvent(); break;
                case "session.updated": e = new SessionUpdatedEvent(); break;
                case "session.foreground": e = new SessionForegroundEvent(); break;
                case "session.background": e = new SessionBackgroundEvent(); break;
                default: e = new SessionLifecycleEvent(); break;
            }
            e.Type = type;
            e.SessionId = (string)o["sessionId"];
            e.Raw = o;
            var m = o["metadata"] as JObject;
            if (m != null)
            {
                e.Metadata = new SessionLifecycleEventMetadata
                {
                    StartTime = Text(m["startTime"]),
                    ModifiedTime = Text(m["modifiedTime"]),
                    Summary = Text(m["summary"]),
                };
            }
            return e;
        }

        private static string Text(JToken t)
        {
            return t == null || t.Type == JTokenType.Null ? null : t.ToString();
        }
    }

    /// <summary>A session was created.</summary>
    public sealed class SessionCreatedEvent : SessionLifecycleEvent { }

    /// <summary>A session was deleted.</summary>
    public sealed class SessionDeletedEvent : SessionLifecycleEvent { }

    /// <summary>A session's metadata changed.</summary>
    public sealed class SessionUpdatedEvent : SessionLifecycleEvent { }

    /// <summary>A session was brought to the foreground (TUI server mode).</summary>
    public sealed class SessionForegroundEvent : SessionLifecycleEvent { }

    /// <summary>A session moved to the background (TUI server mode).</summary>
    public sealed class SessionBackgroundEvent : SessionLifecycleEvent { }
}
