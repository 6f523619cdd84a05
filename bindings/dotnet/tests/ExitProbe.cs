using System;
using GitHub.Copilot;
using Newtonsoft.Json.Linq;

// Starts a client and a session (with a lifecycle handler, an elicitation handler and a
// command registered) and leaves Main without disposing them: the wrapper's ProcessExit
// handler must free them so Mono exits promptly.
public static class ExitProbe
{
    public static int Main(string[] args)
    {
        var client = new CopilotClient(new CopilotClientOptions { UseLoggedInUser = false, WorkingDirectory = args[1] });
        client.OnLifecycle(e => { });
        var session = client.CreateSessionAsync(new SessionConfig
        {
            Model = "claude-sonnet-4.5",
            Provider = new JObject { ["type"] = "openai", ["baseUrl"] = args[0], ["apiKey"] = "offline", ["wireApi"] = "completions" },
            OnEvent = e => { },
            OnElicitationRequest = ctx => System.Threading.Tasks.Task.FromResult(ElicitationResult.Cancel()),
            Commands = new[] { new CommandDefinition { Name = "probe", Handler = ctx => System.Threading.Tasks.Task.FromResult(true) } },
        }).Result;
        Console.WriteLine("session live: " + session.SessionId);
        return 0;
    }
}
