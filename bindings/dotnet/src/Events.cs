using System;
using System.Collections.Generic;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    /// <summary>A session event; Raw keeps the JSON envelope as the CLI sent it.
    /// Common types parse into subclasses; unknown types arrive as SessionEvent.</summary>
    public class SessionEvent
    {
        public string Type { get; private set; }
        public string Id { get; private set; }
        public string Timestamp { get; private set; }
        public bool Ephemeral { get; private set; }
        public JObject Data { get; private set; }
        public string Raw { get; private set; }

        public static SessionEvent Parse(string raw)
        {
            var o = JObject.Parse(raw);
            var type = (string)o["type"];
            SessionEvent e;
            switch (type)
            {
                case "assistant.message": e = new AssistantMessageEvent(); break;
                case "assistant.message_delta": e = new AssistantMessageDeltaEvent(); break;
                case "tool.execution_start": e = new ToolExecutionStartEvent(); break;
                case "tool.execution_complete": e = new ToolExecutionCompleteEvent(); break;
                case "session.idle": e = new SessionIdleEvent(); break;
                case "session.error": e = new SessionErrorEvent(); break;
                default: e = new SessionEvent(); break;
            }
            e.Type = type;
            e.Id = (string)o["id"];
            e.Timestamp = o["timestamp"] == null ? null : o["timestamp"].ToString();
            e.Ephemeral = o["ephemeral"] != null && (bool)o["ephemeral"];
            e.Data = o["data"] as JObject ?? new JObject();
            e.Raw = raw;
            return e;
        }

        protected string Str(string key)
        {
            var t = Data[key];
            return t == null || t.Type == JTokenType.Null ? null : (string)t;
        }
    }

    public class AssistantMessageEvent : SessionEvent
    {
        public string MessageId { get { return Str("messageId"); } }
        public string Content { get { return Str("content"); } }
    }

    public class AssistantMessageDeltaEvent : SessionEvent
    {
        public string MessageId { get { return Str("messageId"); } }
        public string DeltaContent { get { return Str("deltaContent"); } }
    }

    public class ToolExecutionStartEvent : SessionEvent
    {
        public string ToolCallId { get { return Str("toolCallId"); } }
        public string ToolName { get { return Str("toolName"); } }
        public JToken Arguments { get { return Data["arguments"]; } }
    }

    public class ToolExecutionCompleteEvent : SessionEvent
    {
        public string ToolCallId { get { return Str("toolCallId"); } }
        public bool Success { get { return Data["success"] != null && (bool)Data["success"]; } }
        public JToken Result { get { return Data["result"]; } }
    }

    public class SessionIdleEvent : SessionEvent
    {
        public bool Aborted { get { return Data["aborted"] != null && (bool)Data["aborted"]; } }
    }

    public class SessionErrorEvent : SessionEvent
    {
        public string ErrorType { get { return Str("errorType"); } }
        public string Message { get { return Str("message"); } }
    }
}
