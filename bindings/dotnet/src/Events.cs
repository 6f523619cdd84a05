using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    /// <summary>A session event. Every type the pinned CLI schema describes parses into its own
    /// generated subclass (src/Generated/SessionEvents.cs, the official SDK's names:
    /// <c>if (e is AssistantMessageEvent m) Console.WriteLine(m.Data.Content);</c>) whose
    /// <c>Data</c> is the typed payload. A type the schema does not describe arrives as this
    /// class: never dropped, never thrown. <see cref="Raw"/> keeps the envelope exactly as the
    /// CLI sent it.
    /// <para>Events delivered to handlers (<see cref="SessionConfig.OnEvent"/>,
    /// <see cref="CopilotSession.On(Action{SessionEvent})"/>) are lazy: the class is chosen by
    /// the event's type string alone, and the JSON (kept as the UTF-8 bytes received) is only
    /// parsed when a field is first read: the envelope fields (<see cref="Id"/>,
    /// <see cref="Timestamp"/>, ...) and the typed <c>Data</c> on first use, once, <see cref="Raw"/>
    /// and the JSON view <see cref="Data"/> likewise. Reading them from several threads is safe.
    /// Data that does not decode as its type's schema then still arrives as the type's class:
    /// its typed <c>Data</c> holds what did decode (the rest left at defaults) and
    /// <see cref="DataError"/> says why. <see cref="Parse"/> instead decodes at once and gives
    /// such an event this class.</para></summary>
    [JsonConverter(typeof(SessionEventConverter))]
    public partial class SessionEvent
    {
        /// <summary>The envelope fields besides the type, read on first use.</summary>
        internal sealed class Envelope
        {
            internal string Id, Timestamp, ParentId, AgentId;
            internal bool Ephemeral;
            /// <summary>Read from the received bytes by <see cref="EventScanner"/>, which also
            /// found where "data" is in them (<see cref="DataStart"/> -1 when there is none).</summary>
            internal bool Scanned;
            internal int DataStart = -1, DataLength;
        }

        /// <summary>The event as received, for a lazy event (null for a parsed one).</summary>
        private byte[] _utf8;
        private string _raw;
        private volatile Envelope _envelope;
        private volatile JObject _data;
        private string _dataError;

        /// <summary>The event type as received, e.g. "assistant.message".</summary>
        public string Type { get; private set; }
        /// <summary>Unique event identifier (UUID).</summary>
        public string Id { get { return Env().Id; } }
        /// <summary>When the event was created: the ISO 8601 text as received.</summary>
        public string Timestamp { get { return Env().Timestamp; } }
        /// <summary>The chronologically preceding event's id; null for the first event.</summary>
        public string ParentId { get { return Env().ParentId; } }
        /// <summary>True when the event is transient and not persisted in the session log.</summary>
        public bool Ephemeral { get { return Env().Ephemeral; } }
        /// <summary>The sub-agent instance that produced the event; null for the main agent.</summary>
        public string AgentId { get { return Env().AgentId; } }

        /// <summary>The event exactly as the CLI sent it (made from the received bytes on first use).</summary>
        public string Raw
        {
            get
            {
                var r = Volatile.Read(ref _raw);
                if (r == null && _utf8 != null)
                {
                    r = Encoding.UTF8.GetString(_utf8);
                    r = Interlocked.CompareExchange(ref _raw, r, null) ?? r;
                }
                return r;
            }
        }

        /// <summary>The payload as JSON, for every type (empty when the event had none), parsed
        /// on first use. The generated subclasses hide it with their typed <c>Data</c>; cast to
        /// <see cref="SessionEvent"/> to reach a typed event's JSON.</summary>
        public JObject Data
        {
            get
            {
                var d = _data;
                if (d != null) return d;
                lock (Gate)
                {
                    d = _data;
                    if (d == null)
                    {
                        try
                        {
                            var env = _utf8 != null ? Env() : null;
                            if (env != null && env.Scanned)
                                d = env.DataStart < 0 ? null : Native.ParseJson(Encoding.UTF8.GetString(_utf8, env.DataStart, env.DataLength)) as JObject;
                            else
                                d = (Native.ParseJson(Raw ?? "") as JObject)?["data"] as JObject;
                        }
                        catch (Exception) { }
                        _data = d = d ?? new JObject();
                    }
                    return d;
                }
            }
        }

        /// <summary>Why the typed <c>Data</c> of this event's class did not decode as its type's
        /// schema (then it holds what did, the rest at defaults); null when it did, and for this
        /// class, which has no typed payload. Reading it decodes the payload.</summary>
        public string DataError
        {
            get
            {
                EnsureTyped();
                return Volatile.Read(ref _dataError);
            }
        }

        /// <summary>What lazy decoding locks on: the received bytes (private to the event, so no
        /// extra object per event), or the event itself when it has none.</summary>
        internal object Gate { get { return (object)_utf8 ?? this; } }

        /// <summary>A lazy event of the class for <paramref name="type"/> over the received JSON
        /// (which it keeps: pass a copy); nothing is parsed until a field is read.</summary>
        internal static SessionEvent Create(string type, byte[] utf8)
        {
            var e = ForType(type) ?? new SessionEvent();
            e.Type = type;
            e._utf8 = utf8;
            return e;
        }

        private Envelope Env()
        {
            var env = _envelope;
            if (env != null) return env;
            lock (Gate)
            {
                if (_envelope == null)
                    _envelope = (_utf8 != null ? EventScanner.Envelope(_utf8) : null) ?? ReadEnvelope(Raw, null) ?? new Envelope();
                return _envelope;
            }
        }

        /// <summary>Decodes the typed payload from the reader, positioned on its first token;
        /// throws when it does not match the type's schema.</summary>
        internal virtual void DecodeData(JsonReader reader) { }

        /// <summary>Decodes the typed payload of a lazy event (once) if this class has one.</summary>
        internal virtual void EnsureTyped() { }

        /// <summary>Whether the typed payload has been decoded (always, for this class).</summary>
        internal virtual bool TypedDone { get { return true; } }

        /// <summary>Sets the typed payload from the JSON view, skipping what does not match.</summary>
        internal virtual void DecodeDataLeniently(JObject data) { }

        /// <summary>For a lazy event of a typed class, under <see cref="Gate"/>: decodes the typed
        /// payload from its bytes alone, which the envelope scan found (or, for bytes the scan
        /// could not read, in one pass over <see cref="Raw"/>); when the payload does not match
        /// its schema, as much of it as decodes, and <see cref="DataError"/> says why.</summary>
        internal void DecodeTyped()
        {
            var env = Env();
            string error = null;
            if (env.Scanned)
            {
                if (env.DataStart < 0) error = "the event has no data";
                else if (_utf8[env.DataStart] != (byte)'{') error = "the event's data is not a JSON object";
                else
                {
                    try
                    {
                        var text = Encoding.UTF8.GetString(_utf8, env.DataStart, env.DataLength);
                        using (var r = new JsonTextReader(new StringReader(text)) { DateParseHandling = DateParseHandling.None })
                        {
                            r.Read();
                            DecodeData(r);
                        }
                    }
                    catch (Exception e)
                    {
                        error = e.Message;
                    }
                }
            }
            else
            {
                var raw = Raw;
                var found = false;
                var read = ReadEnvelope(raw, r =>
                {
                    found = true;
                    if (r.TokenType != JsonToken.StartObject)
                    {
                        error = "the event's data is not a JSON object";
                        r.Skip();
                        return true;
                    }
                    try
                    {
                        DecodeData(r);
                        return true;
                    }
                    catch (Exception e)
                    {
                        error = e.Message;
                        return false; // the reader is left mid-payload: stop
                    }
                });
                if (error == null && !found) error = read == null ? "the event is not a JSON object" : "the event has no data";
            }
            if (TypedDone) return;
            DecodeDataLeniently(Data);
            Volatile.Write(ref _dataError, error ?? "no data");
        }

        /// <summary>Reads the envelope fields of <paramref name="raw"/>; at the "data" member calls
        /// <paramref name="data"/> (the reader on the payload's first token; it must consume the
        /// payload, or return false to stop reading) or skips it when null. Null when raw is not a
        /// JSON object or reading stopped.</summary>
        private static Envelope ReadEnvelope(string raw, Func<JsonReader, bool> data)
        {
            if (raw == null) return null;
            var env = new Envelope();
            try
            {
                using (var r = new JsonTextReader(new StringReader(raw)) { DateParseHandling = DateParseHandling.None })
                {
                    if (!r.Read() || r.TokenType != JsonToken.StartObject) return null;
                    while (r.Read() && r.TokenType == JsonToken.PropertyName)
                    {
                        var name = (string)r.Value;
                        if (!r.Read()) break;
                        switch (name)
                        {
                            case "id": env.Id = Scalar(r); break;
                            case "timestamp": env.Timestamp = Scalar(r); break;
                            case "parentId": env.ParentId = Scalar(r); break;
                            case "agentId": env.AgentId = Scalar(r); break;
                            case "ephemeral": env.Ephemeral = r.TokenType == JsonToken.Boolean && (bool)r.Value; break;
                            case "data":
                                if (data == null) r.Skip();
                                else if (!data(r)) return null;
                                break;
                            default: r.Skip(); break;
                        }
                    }
                }
            }
            catch (Exception)
            {
                // Malformed JSON: the fields read before the error stand.
            }
            return env;
        }

        /// <summary>Parses one event envelope. Never throws: text that is not a JSON object
        /// arrives as a bare <see cref="SessionEvent"/> with only <see cref="Raw"/> set.</summary>
        /// <remarks>Decodes at once (events delivered to handlers are lazy instead). One pass over
        /// the text decodes the envelope and, for a type the schema describes, the typed payload;
        /// a payload that does not match arrives as this class. The JSON view <see cref="Data"/>
        /// is only parsed when something reads it.</remarks>
        public static SessionEvent Parse(string raw)
        {
            SessionEvent e = null;
            try { e = ParseTyped(raw); }
            catch (Exception) { }
            if (e == null) e = ParseUntyped(raw);
            e._raw = raw;
            return e;
        }

        private static SessionEvent ParseTyped(string raw)
        {
            string type = null;
            var env = new Envelope();
            bool decoded = false;
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
                        case "id": env.Id = Scalar(r); break;
                        case "timestamp": env.Timestamp = Scalar(r); break;
                        case "parentId": env.ParentId = Scalar(r); break;
                        case "agentId": env.AgentId = Scalar(r); break;
                        case "ephemeral": env.Ephemeral = r.TokenType == JsonToken.Boolean && (bool)r.Value; break;
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
            e._envelope = env;
            return e;
        }

        /// <summary>The envelope of text the typed pass could not read: not JSON, or a payload
        /// that does not match its type's schema.</summary>
        private static SessionEvent ParseUntyped(string raw)
        {
            var e = new SessionEvent();
            var env = new Envelope();
            e._envelope = env;
            JObject o = null;
            try { o = Native.ParseJson(raw) as JObject; }
            catch (Exception) { }
            if (o == null)
            {
                e._data = new JObject();
                return e;
            }
            e.Type = Text(o["type"]);
            env.Id = Text(o["id"]);
            env.Timestamp = Text(o["timestamp"]);
            env.ParentId = Text(o["parentId"]);
            var ephemeral = o["ephemeral"];
            env.Ephemeral = ephemeral != null && ephemeral.Type == JTokenType.Boolean && (bool)ephemeral;
            env.AgentId = Text(o["agentId"]);
            e._data = o["data"] as JObject ?? new JObject();
            return e;
        }

        /// <summary>The event types whose class is <paramref name="type"/> or derives from it
        /// (what <c>On&lt;T&gt;</c> delivers), or null when every event is one (SessionEvent).</summary>
        internal static ICollection<string> TypesOf(Type type)
        {
            if (type.IsAssignableFrom(typeof(SessionEvent))) return null;
            return TypesByClass.GetOrAdd(type, t =>
            {
                var set = new HashSet<string>(StringComparer.Ordinal);
                foreach (var name in KnownTypes)
                {
                    var e = ForType(name);
                    if (e != null && t.IsInstanceOfType(e)) set.Add(name);
                }
                return set;
            });
        }

        private static readonly ConcurrentDictionary<Type, HashSet<string>> TypesByClass = new ConcurrentDictionary<Type, HashSet<string>>();

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

    /// <summary>Reads a lazy event's envelope straight from its UTF-8 bytes, without a JSON
    /// reader: the string fields (id, timestamp, parentId, agentId), ephemeral, and where the
    /// "data" member's value lies (so the typed payload is decoded from those bytes alone).
    /// Returns null, leaving the event to Json.NET, for anything it does not expect: not an
    /// object, escapes in a field it reads, a non-string id, text it cannot skip.</summary>
    internal static class EventScanner
    {
        internal static SessionEvent.Envelope Envelope(byte[] b)
        {
            try
            {
                var env = new SessionEvent.Envelope { Scanned = true };
                int i = Ws(b, 0);
                if (i >= b.Length || b[i] != (byte)'{') return null;
                i = Ws(b, i + 1);
                if (i < b.Length && b[i] == (byte)'}') return env;
                while (true)
                {
                    if (i >= b.Length || b[i] != (byte)'"') return null;
                    int keyStart = i + 1, keyEnd = StringEnd(b, i);
                    if (keyEnd < 0) return null;
                    for (int k = keyStart; k < keyEnd; k++)
                        if (b[k] == (byte)'\\') return null; // an escaped key: Json.NET reads it
                    i = Ws(b, keyEnd + 1);
                    if (i >= b.Length || b[i] != (byte)':') return null;
                    i = Ws(b, i + 1);
                    if (i >= b.Length) return null;
                    int end = SkipValue(b, i);
                    if (end < 0) return null;
                    switch (Key(b, keyStart, keyEnd))
                    {
                        case 1: if (!Str(b, i, end, out env.Id)) return null; break;
                        case 2: if (!Str(b, i, end, out env.Timestamp)) return null; break;
                        case 3: if (!Str(b, i, end, out env.ParentId)) return null; break;
                        case 4: if (!Str(b, i, end, out env.AgentId)) return null; break;
                        case 5: env.Ephemeral = end - i == 4 && b[i] == (byte)'t'; break;
                        case 6: env.DataStart = i; env.DataLength = end - i; break;
                    }
                    i = Ws(b, end);
                    if (i >= b.Length) return null;
                    if (b[i] == (byte)'}') return env;
                    if (b[i] != (byte)',') return null;
                    i = Ws(b, i + 1);
                }
            }
            catch (IndexOutOfRangeException)
            {
                return null;
            }
        }

        private static int Ws(byte[] b, int i)
        {
            while (i < b.Length && (b[i] == (byte)' ' || b[i] == (byte)'\n' || b[i] == (byte)'\r' || b[i] == (byte)'\t')) i++;
            return i;
        }

        /// <summary>The index of the closing quote of the string opening at <paramref name="i"/>.</summary>
        private static int StringEnd(byte[] b, int i)
        {
            for (i++; i < b.Length; i++)
            {
                if (b[i] == (byte)'"') return i;
                if (b[i] == (byte)'\\') i++;
            }
            return -1;
        }

        /// <summary>The index just past the value starting at <paramref name="i"/>, or -1.</summary>
        private static int SkipValue(byte[] b, int i)
        {
            var c = b[i];
            if (c == (byte)'"')
            {
                var e = StringEnd(b, i);
                return e < 0 ? -1 : e + 1;
            }
            if (c == (byte)'{' || c == (byte)'[')
            {
                int depth = 0;
                for (; i < b.Length; i++)
                {
                    c = b[i];
                    if (c == (byte)'"')
                    {
                        i = StringEnd(b, i);
                        if (i < 0) return -1;
                    }
                    else if (c == (byte)'{' || c == (byte)'[') depth++;
                    else if ((c == (byte)'}' || c == (byte)']') && --depth == 0) return i + 1;
                }
                return -1;
            }
            int start = i;
            while (i < b.Length && b[i] != (byte)',' && b[i] != (byte)'}' && b[i] != (byte)']'
                   && b[i] != (byte)' ' && b[i] != (byte)'\n' && b[i] != (byte)'\r' && b[i] != (byte)'\t') i++;
            return i > start ? i : -1;
        }

        /// <summary>Which envelope member the key between the quotes is: 1 id, 2 timestamp,
        /// 3 parentId, 4 agentId, 5 ephemeral, 6 data, 0 another.</summary>
        private static int Key(byte[] b, int start, int end)
        {
            switch (end - start)
            {
                case 2: return Is(b, start, "id") ? 1 : 0;
                case 4: return Is(b, start, "data") ? 6 : 0;
                case 7: return Is(b, start, "agentId") ? 4 : 0;
                case 8: return Is(b, start, "parentId") ? 3 : 0;
                case 9: return Is(b, start, "timestamp") ? 2 : Is(b, start, "ephemeral") ? 5 : 0;
                default: return 0;
            }
        }

        private static bool Is(byte[] b, int start, string key)
        {
            for (int k = 0; k < key.Length; k++)
                if (b[start + k] != (byte)key[k]) return false;
            return true;
        }

        /// <summary>A string field: its text (false when it has escapes, or is neither a string
        /// nor null, which Json.NET reads instead); null for JSON null.</summary>
        private static bool Str(byte[] b, int start, int end, out string value)
        {
            value = null;
            if (b[start] == (byte)'n') return end - start == 4;
            if (b[start] != (byte)'"') return false;
            for (int k = start + 1; k < end - 1; k++)
                if (b[k] == (byte)'\\') return false;
            value = Encoding.UTF8.GetString(b, start + 1, end - start - 2);
            return true;
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

    /// <summary>A session event with a typed payload, <typeparamref name="TData"/>; the
    /// generated event classes (<see cref="AssistantMessageEvent"/>, ...) derive from it.</summary>
    public abstract class SessionEvent<TData> : SessionEvent where TData : class
    {
        private volatile TData _typed;

        /// <summary>The typed payload (never null), decoded on first use. When the payload does
        /// not match its schema it holds what did decode and <see cref="SessionEvent.DataError"/>
        /// says why.</summary>
        public new TData Data
        {
            get
            {
                var d = _typed;
                if (d != null) return d;
                EnsureTyped();
                return _typed;
            }
        }

        internal override void EnsureTyped()
        {
            if (_typed != null) return;
            lock (Gate)
            {
                if (_typed == null) DecodeTyped();
            }
        }

        internal override bool TypedDone { get { return _typed != null; } }

        internal override void DecodeData(JsonReader reader)
        {
            var d = TypedJson.Serializer.Deserialize<TData>(reader);
            if (d == null) throw new JsonSerializationException("no data");
            _typed = d;
        }

        internal override void DecodeDataLeniently(JObject data)
        {
            TData d = null;
            try
            {
                using (var r = data.CreateReader())
                {
                    d = TypedJson.Lenient.Deserialize<TData>(r);
                }
            }
            catch (Exception) { }
            if (d == null)
            {
                try { d = Activator.CreateInstance<TData>(); }
                catch (Exception) { }
            }
            _typed = d;
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
