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
