using System;
using System.Collections.Concurrent;
using System.IO;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    /// <summary>The JSON settings of the generated types (src/Generated): dates stay strings
    /// until a property asks for a <see cref="DateTimeOffset"/>, so string properties keep
    /// the text exactly as received.</summary>
    internal static class TypedJson
    {
        internal static readonly JsonSerializer Serializer = JsonSerializer.Create(new JsonSerializerSettings
        {
            DateParseHandling = DateParseHandling.None,
        });

        /// <summary>As <see cref="Serializer"/>, skipping the members that do not decode (they
        /// keep their defaults): the typed payload of a lazy event whose data does not match its
        /// schema.</summary>
        internal static readonly JsonSerializer Lenient = JsonSerializer.Create(new JsonSerializerSettings
        {
            DateParseHandling = DateParseHandling.None,
            Error = (sender, args) => args.ErrorContext.Handled = true,
        });

        internal static T Decode<T>(JToken token)
        {
            using (var r = token.CreateReader())
            {
                return Serializer.Deserialize<T>(r);
            }
        }
    }

    /// <summary>Sends one JSON-RPC request with JSON-text params and returns the JSON-text
    /// result: CopilotClient (server scope) and CopilotSession (session scope, sessionId added).</summary>
    internal interface IRawCaller
    {
        Task<string> CallRawAsync(string method, string parameters, CancellationToken cancellationToken);
    }

    /// <summary>The call path of the generated typed RPC methods (src/Generated/Rpc.cs).</summary>
    internal static class RpcCall
    {
        internal static async Task<T> Invoke<T>(IRawCaller caller, string method, object request, CancellationToken cancellationToken)
        {
            var raw = await caller.CallRawAsync(method, Params(request), cancellationToken).ConfigureAwait(false);
            if (string.IsNullOrEmpty(raw)) return default(T);
            using (var r = new JsonTextReader(new StringReader(raw)) { DateParseHandling = DateParseHandling.None })
            {
                return TypedJson.Serializer.Deserialize<T>(r);
            }
        }

        internal static Task Invoke(IRawCaller caller, string method, object request, CancellationToken cancellationToken)
        {
            return caller.CallRawAsync(method, Params(request), cancellationToken);
        }

        /// <summary>The request as a JSON object; {} for none.</summary>
        internal static string Params(object request)
        {
            if (request == null) return "{}";
            var w = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
            TypedJson.Serializer.Serialize(w, request);
            return w.ToString();
        }
    }

    /// <summary>A generated string-valued enum: a struct holding its wire value.</summary>
    internal interface IStringValue
    {
        string Value { get; }
    }

    /// <summary>Reads and writes a generated string-valued enum as its JSON string; any string
    /// is accepted, so a value a newer CLI adds still decodes.</summary>
    internal sealed class StringValueConverter : JsonConverter
    {
        private static readonly ConcurrentDictionary<Type, ConstructorInfo> Constructors = new ConcurrentDictionary<Type, ConstructorInfo>();

        public override bool CanConvert(Type objectType)
        {
            return typeof(IStringValue).IsAssignableFrom(Nullable.GetUnderlyingType(objectType) ?? objectType);
        }

        public override object ReadJson(JsonReader reader, Type objectType, object existingValue, JsonSerializer serializer)
        {
            var underlying = Nullable.GetUnderlyingType(objectType);
            if (reader.TokenType == JsonToken.Null)
            {
                if (underlying != null) return null;
                throw new JsonSerializationException("null for the non-nullable " + objectType.Name);
            }
            if (reader.TokenType != JsonToken.String)
                throw new JsonSerializationException("expected a string for " + objectType.Name + ", got " + reader.TokenType);
            var type = underlying ?? objectType;
            var ctor = Constructors.GetOrAdd(type, t => t.GetConstructor(new[] { typeof(string) }));
            return ctor.Invoke(new object[] { (string)reader.Value });
        }

        public override void WriteJson(JsonWriter writer, object value, JsonSerializer serializer)
        {
            writer.WriteValue(((IStringValue)value).Value);
        }
    }

    /// <summary>A generated union variant this file does not describe, kept as received.</summary>
    internal interface IRawVariant
    {
        JObject Raw { get; }
    }

    /// <summary>Reads a generated tagged union: picks the variant class by the tag property,
    /// or the union's Unknown class (which keeps the JSON) for a tag it does not know.
    /// Variants are written by their own contracts (their tag property first).</summary>
    internal abstract class TaggedUnionConverter<T> : JsonConverter where T : class
    {
        private readonly string _tag;

        protected TaggedUnionConverter(string tag) { _tag = tag; }

        /// <summary>A new, empty variant for the tag (a string tag as is, others as JSON), or null.</summary>
        protected abstract T Create(string tag);

        protected abstract T Unknown(JObject raw);

        public override bool CanConvert(Type objectType) { return typeof(T).IsAssignableFrom(objectType); }

        public override bool CanWrite { get { return false; } }

        public override void WriteJson(JsonWriter writer, object value, JsonSerializer serializer)
        {
            throw new NotSupportedException();
        }

        public override object ReadJson(JsonReader reader, Type objectType, object existingValue, JsonSerializer serializer)
        {
            if (reader.TokenType == JsonToken.Null) return null;
            JObject o;
            var dates = reader.DateParseHandling;
            reader.DateParseHandling = DateParseHandling.None;
            try { o = JObject.Load(reader); }
            finally { reader.DateParseHandling = dates; }
            var value = Create(UnionTag.Key(o[_tag]));
            if (objectType != typeof(T) && (value == null || !objectType.IsInstanceOfType(value)))
            {
                // A field typed as one variant (or as the Unknown class) rather than the union.
                if (typeof(IRawVariant).IsAssignableFrom(objectType)) return Unknown(o);
                value = (T)Activator.CreateInstance(objectType);
            }
            if (value == null) return Unknown(o);
            using (var r = o.CreateReader())
            {
                serializer.Populate(r, value);
            }
            return value;
        }
    }

    /// <summary>Writes an Unknown union variant exactly as it was received.</summary>
    internal sealed class RawVariantConverter : JsonConverter
    {
        public override bool CanConvert(Type objectType) { return typeof(IRawVariant).IsAssignableFrom(objectType); }

        public override object ReadJson(JsonReader reader, Type objectType, object existingValue, JsonSerializer serializer)
        {
            if (reader.TokenType == JsonToken.Null) return null;
            return Activator.CreateInstance(objectType, JObject.Load(reader));
        }

        public override void WriteJson(JsonWriter writer, object value, JsonSerializer serializer)
        {
            var raw = ((IRawVariant)value).Raw;
            if (raw == null) writer.WriteNull();
            else raw.WriteTo(writer);
        }
    }

    internal static class UnionTag
    {
        /// <summary>The switch key of a tag: a string as is, any other JSON value as its JSON text.</summary>
        internal static string Key(JToken tag)
        {
            if (tag == null) return null;
            return tag.Type == JTokenType.String ? (string)tag : tag.ToString(Formatting.None);
        }

        internal static string String(JObject raw, string tag)
        {
            var t = raw == null ? null : raw[tag];
            return t == null || t.Type == JTokenType.Null ? null : (t.Type == JTokenType.String ? (string)t : t.ToString(Formatting.None));
        }

        internal static bool Bool(JObject raw, string tag)
        {
            var t = raw == null ? null : raw[tag];
            return t != null && t.Type == JTokenType.Boolean && (bool)t;
        }
    }
}
