using System;
using System.IO;
using System.Threading.Tasks;
using GitHub.Copilot;
using Newtonsoft.Json.Linq;

// A program that uses the GitHub.Copilot NuGet package as any other project
// would: dotnet-consumer.sh compiles it outside the repository against the
// package's lib/netstandard2.0/GitHub.Copilot.dll and runs it under Mono with
// no LD_LIBRARY_PATH. One offline turn against the installed copilot-replay
// (COPILOT_PROVIDER_URL) serving examples/conversations/demo.yaml.
//   Consumer.exe            the turn
//   Consumer.exe --version  only loads libcopilot; prints its version and file
// Exit status 3 with "CopilotException: ..." when the wrapper refuses (no library).
public class WeatherArgs
{
    public string City { get; set; }
}

public static class Consumer
{
    public static int Main(string[] args)
    {
        try
        {
            if (args.Length > 0 && args[0] == "--version")
            {
                Console.WriteLine("libcopilot " + CopilotClient.LibraryVersion + " from " + LoadedFrom());
                return 0;
            }
            return Run().GetAwaiter().GetResult();
        }
        catch (CopilotException e)
        {
            Console.WriteLine("CopilotException: " + e.Message);
            return 3;
        }
    }

    /// <summary>The file libcopilot was mapped from, per /proc/self/maps.</summary>
    private static string LoadedFrom()
    {
        foreach (var line in File.ReadAllLines("/proc/self/maps"))
        {
            var i = line.IndexOf('/');
            if (i >= 0 && line.Contains("libcopilot")) return line.Substring(i);
        }
        return "(not mapped)";
    }

    private static async Task<int> Run()
    {
        var url = Environment.GetEnvironmentVariable("COPILOT_PROVIDER_URL");
        if (string.IsNullOrEmpty(url)) throw new InvalidOperationException("COPILOT_PROVIDER_URL is not set");
        var config = new SessionConfig
        {
            Model = "claude-sonnet-4.5",
            Provider = new JObject { ["type"] = "openai", ["baseUrl"] = url, ["apiKey"] = "offline", ["wireApi"] = "completions" },
            Streaming = true,
            Tools = new[]
            {
                CopilotTool.Define<WeatherArgs>("get_weather", "Current weather for a city",
                    (a, inv) => Task.FromResult<object>("18C and sunny")),
            },
            OnPermissionRequest = PermissionHandler.ApproveAll,
            OnEvent = e =>
            {
                var delta = e as AssistantMessageDeltaEvent;
                if (delta != null) Console.Write(delta.DeltaContent);
            },
        };
        using (var client = new CopilotClient(new CopilotClientOptions { UseLoggedInUser = false }))
        {
            Console.WriteLine("[native] " + LoadedFrom());
            var session = await client.CreateSessionAsync(config);
            var answer = await session.SendAndWaitAsync("What's the weather like in Paris today? Use the get_weather tool.", TimeSpan.FromMinutes(2));
            Console.WriteLine("\n[final answer] " + (answer == null ? "(none)" : answer.Content));
            await session.DisposeAsync();
            await client.StopAsync();
        }
        return 0;
    }
}
