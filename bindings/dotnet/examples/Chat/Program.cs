using System;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;
using GitHub.Copilot;
using Newtonsoft.Json.Linq;

// The .NET version of the libcopilot demo: one custom tool, streamed text, the
// tool call and the final answer. Offline by default (copilot-replay with
// examples/conversations/demo.yaml); COPILOT_GITHUB_TOKEN or
// COPILOT_PROVIDER_URL switch to a real model. Run bindings/dotnet/build.sh chat.
public class WeatherArgs
{
    public string City { get; set; }
}

public static class Chat
{
    public static int Main(string[] args)
    {
        return Run(args.Length > 0 ? args[0] : Directory.GetCurrentDirectory()).Result;
    }

    private static async Task<int> Run(string root)
    {
        Process replay = null;
        var options = new CopilotClientOptions();
        var config = new SessionConfig { Streaming = true };
        var token = Environment.GetEnvironmentVariable("COPILOT_GITHUB_TOKEN");
        if (!string.IsNullOrEmpty(token))
        {
            options.GitHubToken = token;
        }
        else
        {
            options.UseLoggedInUser = false;
            var url = Environment.GetEnvironmentVariable("COPILOT_PROVIDER_URL");
            if (string.IsNullOrEmpty(url))
            {
                replay = Process.Start(new ProcessStartInfo(Path.Combine(root, "target/debug/copilot-replay"),
                    Path.Combine(root, "examples/conversations/demo.yaml")) { UseShellExecute = false, RedirectStandardOutput = true });
                url = replay.StandardOutput.ReadLine().Replace("copilot-replay listening on ", "").Trim() + "/v1";
            }
            config.Model = "claude-sonnet-4.5";
            config.Provider = new JObject { ["type"] = "openai", ["baseUrl"] = url, ["apiKey"] = "offline", ["wireApi"] = "completions" };
        }
        config.Tools = new[]
        {
            CopilotTool.Define<WeatherArgs>("get_weather", "Current weather for a city",
                (a, inv) => Task.FromResult<object>("18C and sunny")),
        };
        config.OnPermissionRequest = PermissionHandler.ApproveAll;
        config.OnEvent = e =>
        {
            // Every event type has its class (src/Generated/SessionEvents.cs) with a typed Data.
            if (e is AssistantMessageDeltaEvent delta) Console.Write(delta.Data.DeltaContent);
            else if (e is ToolExecutionStartEvent start)
                Console.WriteLine("\n[tool call] " + start.Data.ToolName + " " + (start.Data.Arguments == null ? "" : start.Data.Arguments.ToString(Newtonsoft.Json.Formatting.None)));
            else if (e is ToolExecutionCompleteEvent done)
                Console.WriteLine("[tool result] " + (done.Data.Result != null ? done.Data.Result.Content : done.Data.Error != null ? "failed: " + done.Data.Error.Message : ""));
        };
        try
        {
            using (var client = new CopilotClient(options))
            {
                var session = await client.CreateSessionAsync(config);
                var prompt = "What's the weather like in Paris today? Use the get_weather tool.";
                Console.WriteLine("> " + prompt);
                var answer = await session.SendAndWaitAsync(prompt, TimeSpan.FromMinutes(2));
                Console.WriteLine("\n\n[final answer] " + (answer == null ? "(none)" : answer.Data.Content));
                await session.DisposeAsync();
                await client.StopAsync();
            }
            return 0;
        }
        finally
        {
            if (replay != null) { replay.Kill(); replay.WaitForExit(); }
        }
    }
}
