using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot.Testing
{
    /// <summary>Options of <see cref="ReplayServer"/>.</summary>
    public sealed class ReplayServerOptions
    {
        /// <summary>The copilot-replay executable; default <c>$COPILOT_REPLAY_PATH</c>,
        /// else <c>copilot-replay</c> on the PATH.</summary>
        public string BinaryPath { get; set; }

        /// <summary>The directory <c>${workdir}</c> stands for in the conversations.</summary>
        public string Workdir { get; set; }

        /// <summary>How long to wait for the server's URL; default 30 s.</summary>
        public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);
    }

    /// <summary>One chat-completions request the server received.</summary>
    public sealed class ReplayRequest
    {
        /// <summary><c>POST</c>.</summary>
        public string Method { get; set; }

        /// <summary><c>/v1/chat/completions</c> or <c>/chat/completions</c>.</summary>
        public string Path { get; set; }

        /// <summary>The JSON body as sent (model, messages, tools, ...).</summary>
        public JObject Body { get; set; }

        /// <summary>The body's <c>messages</c> (empty if it has none).</summary>
        public IList<JObject> Messages
        {
            get { return (Body?["messages"] as JArray)?.OfType<JObject>().ToList() ?? new List<JObject>(); }
        }

        /// <summary>The names of the tools the request offered the model.</summary>
        public IList<string> ToolNames
        {
            get
            {
                var tools = Body?["tools"] as JArray;
                return tools == null ? new List<string>() : tools.Select(t => (string)t.SelectToken("function.name")).ToList();
            }
        }

        /// <summary>A message's text: its content string, or its text parts joined.</summary>
        public static string Text(JObject message)
        {
            var content = message?["content"];
            if (content == null) return null;
            if (content.Type == JTokenType.String) return (string)content;
            var parts = content as JArray;
            return parts == null ? null : string.Concat(parts.OfType<JObject>()
                .Where(p => (string)p["type"] == "text").Select(p => (string)p["text"]));
        }
    }

    /// <summary>copilot-replay, the offline OpenAI-compatible model server, for the
    /// length of a test: it serves recorded conversations (YAML) at <see cref="Url"/>
    /// and shows what the model was sent (<see cref="Requests"/>).</summary>
    /// <remarks>The server runs with <c>--print-url --exit-on-stdin-eof --requests</c>
    /// (see <c>copilot-replay --help</c>): its stdin is a pipe from this process, so it
    /// exits when <see cref="Dispose"/> closes the pipe, and also when this process dies;
    /// a server still running 5 s later is killed. The request log is a JSON Lines file
    /// in a temporary directory removed on Dispose.</remarks>
    public sealed class ReplayServer : IDisposable
    {
        /// <summary>What <c>copilot-replay --print-url</c> prints before the URL.</summary>
        public const string UrlVariable = "COPILOT_REPLAY_URL";

        private readonly Process _process;
        private readonly string _dir;
        private readonly StringBuilder _stderr = new StringBuilder();
        private bool _disposed;

        /// <summary>Serves the conversations (YAML files, or directories searched for
        /// <c>*.yaml</c>) with default options.</summary>
        public ReplayServer(params string[] conversations) : this(new ReplayServerOptions(), conversations) { }

        /// <summary>Serves the conversations; throws <see cref="InvalidOperationException"/>
        /// (with the server's stderr) when it does not start.</summary>
        public ReplayServer(ReplayServerOptions options, params string[] conversations)
        {
            options = options ?? new ReplayServerOptions();
            var binary = options.BinaryPath;
            if (string.IsNullOrEmpty(binary)) binary = Environment.GetEnvironmentVariable("COPILOT_REPLAY_PATH");
            if (string.IsNullOrEmpty(binary)) binary = "copilot-replay";
            _dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "copilot-replay-" + Guid.NewGuid().ToString("N"));
            RequestLog = System.IO.Path.Combine(_dir, "requests.jsonl");

            var args = new List<string> { "--print-url", "--exit-on-stdin-eof", "--requests", RequestLog };
            if (!string.IsNullOrEmpty(options.Workdir)) { args.Add("--workdir"); args.Add(options.Workdir); }
            args.Add("--");
            args.AddRange(conversations ?? new string[0]);
            var arguments = string.Join(" ", args.Select(Quote));
            Directory.CreateDirectory(_dir);
            var psi = new ProcessStartInfo(binary, arguments)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            try
            {
                _process = Process.Start(psi);
            }
            catch (Exception e)
            {
                DeleteDirectory();
                throw new InvalidOperationException("cannot start " + binary + " (set ReplayServerOptions.BinaryPath or COPILOT_REPLAY_PATH): " + e.Message, e);
            }
            _process.ErrorDataReceived += (s, e) => { if (e.Data != null) lock (_stderr) _stderr.AppendLine(e.Data); };
            _process.BeginErrorReadLine();

            var line = _process.StandardOutput.ReadLineAsync();
            string url = null;
            if (line.Wait(options.StartTimeout) && line.Result != null && line.Result.StartsWith(UrlVariable + "="))
                url = line.Result.Substring(UrlVariable.Length + 1).Trim();
            if (url == null)
            {
                Dispose();
                throw new InvalidOperationException("copilot-replay did not start: " + Stderr);
            }
            Url = url;
        }

        /// <summary>The provider base URL, <c>http://127.0.0.1:PORT/v1</c>.</summary>
        public string Url { get; private set; }

        /// <summary><see cref="Url"/> without <c>/v1</c>: the Copilot API stand-in, for
        /// <c>COPILOT_API_URL</c> and <c>COPILOT_DEBUG_GITHUB_API_URL</c>.</summary>
        public string RootUrl
        {
            get { return Url.EndsWith("/v1") ? Url.Substring(0, Url.Length - 3) : Url; }
        }

        /// <summary>The JSON Lines request log: one <c>{"method","path","body"}</c> per line.</summary>
        public string RequestLog { get; private set; }

        /// <summary>The server's process id.</summary>
        public int ProcessId { get { return _process.Id; } }

        /// <summary>What the server wrote to stderr so far (a request that matches no
        /// conversation is explained there).</summary>
        public string Stderr
        {
            get { lock (_stderr) return _stderr.ToString(); }
        }

        /// <summary>The chat-completions requests received so far, oldest first, read
        /// from the request log (a line still being written is left for the next call).
        /// Any thread.</summary>
        public IList<ReplayRequest> Requests()
        {
            var list = new List<ReplayRequest>();
            string text;
            using (var stream = new FileStream(RequestLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            using (var reader = new StreamReader(stream, Encoding.UTF8))
                text = reader.ReadToEnd();
            var end = text.LastIndexOf('\n');
            if (end < 0) return list;
            foreach (var line in text.Substring(0, end).Split('\n'))
            {
                if (line.Length == 0) continue;
                var o = JObject.Parse(line);
                list.Add(new ReplayRequest { Method = (string)o["method"], Path = (string)o["path"], Body = o["body"] as JObject });
            }
            return list;
        }

        /// <summary>Stops the server (closes its stdin; kills it if it has not exited
        /// within 5 s), reaps it and removes the request log. Idempotent.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            try { _process.StandardInput.Close(); } catch { }
            try
            {
                if (!_process.WaitForExit(5000)) _process.Kill();
                _process.WaitForExit();
            }
            catch { }
            _process.Dispose();
            DeleteDirectory();
        }

        private void DeleteDirectory()
        {
            try { Directory.Delete(_dir, true); } catch { }
        }

        /// <summary>One argument for <see cref="ProcessStartInfo.Arguments"/>. Mono splits
        /// that string by shell rules and .NET by Windows rules; they agree on double-quoted
        /// text without <c>"</c> and <c>\</c>, so only such arguments are accepted.</summary>
        private static string Quote(string arg)
        {
            if (arg.IndexOfAny(new[] { '"', '\\' }) >= 0)
                throw new ArgumentException("copilot-replay arguments cannot contain '\"' or '\\': " + arg);
            return "\"" + arg + "\"";
        }
    }
}
