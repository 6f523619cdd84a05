using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using GitHub.Copilot;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

// Wrapper benchmarks against a synthetic peer that speaks just enough of the
// CLI's protocol over TCP: events per second into a C# handler, and the tool
// round trip (event written by the peer until the result is read back).
//   bindings/dotnet/build.sh bench [events] [toolCalls]
public static class Bench
{
    private sealed class Peer
    {
        private readonly TcpListener _listener = new TcpListener(IPAddress.Loopback, 0);
        private readonly int _events, _tools;
        internal readonly List<double> RoundTripsUs = new List<double>();
        internal int Port { get { return ((IPEndPoint)_listener.LocalEndpoint).Port; } }

        internal Peer(int events, int tools)
        {
            _events = events;
            _tools = tools;
            _listener.Start();
            new Thread(Accept) { IsBackground = true }.Start();
        }

        private void Accept()
        {
            while (true)
            {
                var c = _listener.AcceptTcpClient();
                c.NoDelay = true;
                new Thread(() => Serve(c.GetStream())) { IsBackground = true }.Start();
            }
        }

        private static JObject Read(Stream s)
        {
            var header = new StringBuilder();
            int b;
            while ((b = s.ReadByte()) >= 0)
            {
                header.Append((char)b);
                if (header.Length >= 4 && header.ToString().EndsWith("\r\n\r\n")) break;
            }
            if (b < 0) return null;
            var len = int.Parse(header.ToString().Split(':')[1].Trim());
            var body = new byte[len];
            for (int off = 0; off < len;) off += s.Read(body, off, len - off);
            return JObject.Parse(Encoding.UTF8.GetString(body));
        }

        private void Serve(Stream s)
        {
            var gate = new object();
            Action<JObject> write = o =>
            {
                var body = Encoding.UTF8.GetBytes(o.ToString(Formatting.None));
                var head = Encoding.ASCII.GetBytes("Content-Length: " + body.Length + "\r\n\r\n");
                var frame = new byte[head.Length + body.Length];
                head.CopyTo(frame, 0);
                body.CopyTo(frame, head.Length);
                lock (gate) s.Write(frame, 0, frame.Length);
            };
            var answered = new SemaphoreSlim(0);
            JObject msg;
            while ((msg = Read(s)) != null)
            {
                var method = (string)msg["method"];
                Action<JToken> reply = r => write(new JObject { ["jsonrpc"] = "2.0", ["id"] = msg["id"], ["result"] = r });
                if (method == "connect") reply(new JObject { ["ok"] = true, ["protocolVersion"] = 3, ["version"] = "fake" });
                else if (method == "session.create" || method == "session.resume") reply(new JObject { ["sessionId"] = msg["params"]["sessionId"] });
                else if (method == "session.send")
                {
                    reply(new JObject { ["messageId"] = "m1" });
                    var session = (string)msg["params"]["sessionId"];
                    new Thread(() => Turn(session, write, answered)) { IsBackground = true }.Start();
                }
                else if (method == "session.tools.handlePendingToolCall") { reply(new JObject { ["success"] = true }); answered.Release(); }
                else reply(new JObject());
            }
        }

        private void Turn(string session, Action<JObject> write, SemaphoreSlim answered)
        {
            Action<string, JObject> ev = (type, data) => write(new JObject
            {
                ["jsonrpc"] = "2.0", ["method"] = "session.event",
                ["params"] = new JObject { ["sessionId"] = session, ["event"] = new JObject { ["id"] = "e", ["timestamp"] = "2026-01-01T00:00:00Z", ["type"] = type, ["data"] = data } },
            });
            for (int i = 0; i < _events; i++)
                ev("assistant.message_delta", new JObject { ["messageId"] = "a1", ["deltaContent"] = "0123456789012345678901234567890123456789" });
            for (int i = 0; i < _tools; i++)
            {
                var sw = Stopwatch.StartNew();
                ev("external_tool.requested", new JObject { ["requestId"] = i.ToString(), ["toolCallId"] = "t" + i, ["toolName"] = "bench", ["arguments"] = new JObject() });
                answered.Wait();
                lock (RoundTripsUs) RoundTripsUs.Add(sw.Elapsed.TotalMilliseconds * 1000);
            }
            ev("user.message", new JObject { ["messageId"] = "m1", ["content"] = "go" });
            ev("assistant.message", new JObject { ["messageId"] = "a1", ["originatingMessageId"] = "m1", ["content"] = "done" });
            ev("session.idle", new JObject());
        }
    }

    // The .NET rows of benches/sdk_only.py: one turn against a benches/peer instance,
    // events into a C# handler and tool calls answered by one (the peer times them).
    //   Bench.exe peer HOST:PORT EXPECTED_EVENTS  ->  dotnet: events=N seconds=S events_per_s=X
    // "peer" counts the events by class only (events are decoded lazily, so their JSON is
    // never parsed); "peer-typed" reads each one's typed Data (and its Id), paying for the
    // decoding a handler that uses the events does.
    private static int AgainstPeer(string address, int expected, bool typed)
    {
        int got = 0;
        Action<SessionEvent> onEvent;
        if (typed)
            onEvent = e =>
            {
                var d = e as AssistantMessageDeltaEvent;
                if (d != null && d.Data.DeltaContent.Length > 0 && d.Id != null) Interlocked.Increment(ref got);
            };
        else
            onEvent = e => { if (e is AssistantMessageDeltaEvent) Interlocked.Increment(ref got); };
        // HOST:PORT, or stdio:PATH: the peer spawned as the client's CLI.
        var options = address.StartsWith("stdio:")
            ? new CopilotClientOptions { Connection = RuntimeConnection.ForStdio(address.Substring("stdio:".Length)) }
            : new CopilotClientOptions { CliUrl = address };
        using (var client = new CopilotClient(options))
        {
            var session = client.CreateSessionAsync(new SessionConfig
            {
                OnEvent = onEvent,
                Tools = new[] { CopilotTool.Define("bench", "bench", null, inv => Task.FromResult<object>("ok")) },
                OnPermissionRequest = PermissionHandler.ApproveAll,
            }).Result;
            var sw = Stopwatch.StartNew();
            session.SendAndWaitAsync("go", TimeSpan.FromMinutes(5)).Wait();
            var seconds = sw.Elapsed.TotalSeconds;
            Console.WriteLine("dotnet: events={0} seconds={1:F3} events_per_s={2:F0}", got, seconds, got / seconds);
        }
        return got == expected ? 0 : 1;
    }

    // The .NET row of benches/e2e.py: the same steps as benches/c/e2e_bench.c
    // against the real CLI and copilot-replay.
    //   Bench.exe e2e CLI_PATH SESSION_JSON REPEATS CONCURRENT  ->  one JSON line
    private static int EndToEnd(string cliPath, string sessionJson, int repeats, int concurrent)
    {
        const string Plain = "What is the capital of France?";
        const string ToolPrompt = "What is the weather in Paris? Use the get_weather tool.";
        var baseConfig = JObject.Parse(sessionJson);
        Func<SessionConfig> config = () => new SessionConfig
        {
            Model = (string)baseConfig["model"],
            WorkingDirectory = (string)baseConfig["workingDirectory"],
            Provider = (JObject)baseConfig["provider"],
            Tools = new[] { CopilotTool.Define("get_weather", "Current weather for a city",
                JObject.Parse("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}"),
                inv => Task.FromResult<object>("18C and sunny")) },
            OnPermissionRequest = PermissionHandler.ApproveAll,
        };
        Func<CopilotSession, string, double> turn = (s, prompt) =>
        {
            var sw = Stopwatch.StartNew();
            s.SendAndWaitAsync(prompt, TimeSpan.FromMinutes(2)).Wait();
            return sw.Elapsed.TotalMilliseconds;
        };
        var total = Stopwatch.StartNew();
        using (var client = new CopilotClient(new CopilotClientOptions { CliPath = cliPath, UseLoggedInUser = false }))
        {
            client.StartAsync().Wait();
            var startMs = total.Elapsed.TotalMilliseconds;
            var sw = Stopwatch.StartNew();
            var first = client.CreateSessionAsync(config()).Result;
            var createMs = sw.Elapsed.TotalMilliseconds;
            turn(first, Plain);
            var plain = new List<double>();
            var tool = new List<double>();
            for (int i = 0; i < repeats; i++)
            {
                plain.Add(turn(client.CreateSessionAsync(config()).Result, Plain));
                tool.Add(turn(client.CreateSessionAsync(config()).Result, ToolPrompt));
            }
            var sessions = new List<CopilotSession>();
            for (int i = 0; i < concurrent; i++) sessions.Add(client.CreateSessionAsync(config()).Result);
            var conc = new double[concurrent];
            sw = Stopwatch.StartNew();
            var threads = new List<Thread>();
            for (int i = 0; i < concurrent; i++)
            {
                int k = i;
                var t = new Thread(() => conc[k] = turn(sessions[k], ToolPrompt));
                t.Start();
                threads.Add(t);
            }
            foreach (var t in threads) t.Join();
            var concurrentS = sw.Elapsed.TotalSeconds;
            Console.WriteLine(new JObject
            {
                ["start_ms"] = startMs, ["create_ms"] = createMs, ["plain_ms"] = new JArray(plain),
                ["tool_ms"] = new JArray(tool), ["concurrent_s"] = concurrentS, ["concurrent_ms"] = new JArray(conc),
            }.ToString(Formatting.None));
        }
        return 0;
    }

    public static int Main(string[] args)
    {
        if (args.Length == 3 && (args[0] == "peer" || args[0] == "peer-typed")) return AgainstPeer(args[1], int.Parse(args[2]), args[0] == "peer-typed");
        if (args.Length == 5 && args[0] == "e2e") return EndToEnd(args[1], args[2], int.Parse(args[3]), int.Parse(args[4]));
        int events = args.Length > 0 ? int.Parse(args[0]) : 100000;
        int tools = args.Length > 1 ? int.Parse(args[1]) : 2000;

        var flood = new Peer(events, 0);
        int got = 0;
        using (var client = new CopilotClient(new CopilotClientOptions { CliUrl = flood.Port.ToString() }))
        {
            var session = client.CreateSessionAsync(new SessionConfig
            {
                OnEvent = e => { if (e is AssistantMessageDeltaEvent) Interlocked.Increment(ref got); },
            }).Result;
            var sw = Stopwatch.StartNew();
            session.SendAndWaitAsync("go", TimeSpan.FromMinutes(5)).Wait();
            Console.WriteLine("events into a C# handler: {0:F0} events/s ({1} of {2} delivered)", events / sw.Elapsed.TotalSeconds, got, events);
        }

        var peer = new Peer(0, tools);
        using (var client = new CopilotClient(new CopilotClientOptions { CliUrl = peer.Port.ToString() }))
        {
            var session = client.CreateSessionAsync(new SessionConfig
            {
                Tools = new[] { CopilotTool.Define("bench", "bench", null, inv => Task.FromResult<object>("ok")) },
                OnPermissionRequest = PermissionHandler.ApproveAll,
            }).Result;
            session.SendAndWaitAsync("go", TimeSpan.FromMinutes(5)).Wait();
            var rtts = peer.RoundTripsUs;
            rtts.Sort();
            Console.WriteLine("tool round trip through a C# handler: p50 {0:F0} us, p99 {1:F0} us ({2} calls)",
                rtts[rtts.Count / 2], rtts[rtts.Count * 99 / 100], rtts.Count);
        }
        return got == events ? 0 : 1;
    }
}
