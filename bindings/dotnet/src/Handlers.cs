using System;
using System.Collections.Generic;
using System.Reflection;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    /// <summary>One call of a custom tool.</summary>
    public sealed class ToolInvocation
    {
        public string SessionId { get; internal set; }
        public string ToolCallId { get; internal set; }
        public string ToolName { get; internal set; }
        public JToken Arguments { get; internal set; }
    }

    /// <summary>A full tool result; handlers may also return a string or any JSON-serialisable value.</summary>
    public sealed class ToolResultObject
    {
        public string TextResultForLlm { get; set; }
        /// <summary>"success" (default), "failure", "rejected" or "denied".</summary>
        public string ResultType { get; set; }
    }

    /// <summary>A custom tool: its declaration and handler.</summary>
    public sealed class CopilotTool
    {
        public string Name { get; private set; }
        public string Description { get; private set; }
        /// <summary>The JSON Schema of the arguments object.</summary>
        public JObject Parameters { get; private set; }
        public bool SkipPermission { get; set; }
        public bool OverridesBuiltInTool { get; set; }
        internal Func<ToolInvocation, Task<object>> Handler { get; private set; }

        /// <summary>A tool with an explicit JSON Schema. An exception in the handler
        /// becomes a failed tool call; the model is told only that the tool failed. The handler
        /// runs on the thread pool, or on the session's captured context
        /// (<see cref="SessionConfig.UseSynchronizationContext"/>); the call is completed when
        /// its task does.</summary>
        public static CopilotTool Define(string name, string description, JObject parameters,
            Func<ToolInvocation, Task<object>> handler)
        {
            return new CopilotTool { Name = name, Description = description, Parameters = parameters, Handler = handler };
        }

        /// <summary>A tool whose arguments bind to TArgs; the schema is derived from
        /// TArgs's public properties (string, numbers, bool, arrays, nested classes).</summary>
        public static CopilotTool Define<TArgs>(string name, string description,
            Func<TArgs, ToolInvocation, Task<object>> handler)
        {
            return Define(name, description, Schema.For(typeof(TArgs)),
                inv => handler(inv.Arguments == null ? default(TArgs) : inv.Arguments.ToObject<TArgs>(), inv));
        }

        internal string Declaration()
        {
            var d = new JObject { ["name"] = Name };
            if (Description != null) d["description"] = Description;
            if (Parameters != null) d["parameters"] = Parameters;
            if (SkipPermission) d["skipPermission"] = true;
            if (OverridesBuiltInTool) d["overridesBuiltInTool"] = true;
            return d.ToString(Newtonsoft.Json.Formatting.None);
        }
    }

    /// <summary>JSON Schema from a .NET type's public properties (camelCase names).</summary>
    internal static class Schema
    {
        internal static JObject For(Type t)
        {
            if (t == typeof(string)) return new JObject { ["type"] = "string" };
            if (t == typeof(bool)) return new JObject { ["type"] = "boolean" };
            if (t == typeof(int) || t == typeof(long) || t == typeof(short)) return new JObject { ["type"] = "integer" };
            if (t == typeof(double) || t == typeof(float) || t == typeof(decimal)) return new JObject { ["type"] = "number" };
            if (t.IsArray) return new JObject { ["type"] = "array", ["items"] = For(t.GetElementType()) };
            if (t.IsGenericType && typeof(System.Collections.IEnumerable).IsAssignableFrom(t))
                return new JObject { ["type"] = "array", ["items"] = For(t.GetGenericArguments()[0]) };
            var props = new JObject();
            var required = new JArray();
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var name = char.ToLowerInvariant(p.Name[0]) + p.Name.Substring(1);
                props[name] = For(p.PropertyType);
                if (p.PropertyType.IsValueType && Nullable.GetUnderlyingType(p.PropertyType) == null) required.Add(name);
                else if (p.PropertyType == typeof(string)) required.Add(name);
            }
            var o = new JObject { ["type"] = "object", ["properties"] = props };
            if (required.Count > 0) o["required"] = required;
            return o;
        }
    }

    /// <summary>What the ask_user tool asks.</summary>
    public sealed class UserInputRequest
    {
        public string Question { get; internal set; }
        public IList<string> Choices { get; internal set; }
        public bool? AllowFreeform { get; internal set; }
    }

    /// <summary>The user's answer.</summary>
    public sealed class UserInputResponse
    {
        public string Answer { get; set; }
        public bool WasFreeform { get; set; }
    }
}
