using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot.Tests
{
    /// <summary>The real Copilot CLI with model replies from copilot-replay
    /// (target/debug/copilot-replay), in an isolated home per test.</summary>
    internal sealed class TestEnv : IDisposable
    {
        internal static readonly string Root = FindRoot();
        private readonly Process _replay;
        internal readonly string Home;
        internal readonly string ProviderUrl;

        private static string FindRoot()
        {
            var dir = Environment.GetEnvironmentVariable("COPILOT_REPO") ?? Directory.GetCurrentDirectory();
            while (dir != null && !File.Exists(Path.Combine(dir, "Cargo.toml"))) dir = Path.GetDirectoryName(dir);
            if (dir == null) throw new InvalidOperationException("run the tests from inside the repository (or set COPILOT_REPO)");
            return dir;
        }

        internal static string CliPath
        {
            get
            {
                var p = Environment.GetEnvironmentVariable("COPILOT_CLI_PATH");
                return !string.IsNullOrEmpty(p) ? p : Path.Combine(Root, ".tools/copilot-cli/node_modules/@github/copilot-linux-x64/copilot");
            }
        }

        internal TestEnv(params string[] conversations)
        {
            Home = Path.Combine(Path.GetTempPath(), "copilot-dotnet-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Home);
            var args = new List<string>();
            foreach (var c in conversations) args.Add("\"" + Path.Combine(Root, "tests/conversations", c) + "\"");
            var psi = new ProcessStartInfo(Path.Combine(Root, "target/debug/copilot-replay"), string.Join(" ", args))
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
            };
            _replay = Process.Start(psi);
            var line = _replay.StandardOutput.ReadLine() ?? "";
            ProviderUrl = line.Replace("copilot-replay listening on ", "").Trim() + "/v1";
        }

        /// <summary>The isolated environment of testing-offline.md.</summary>
        internal IDictionary<string, string> ChildEnv()
        {
            var env = new Dictionary<string, string>();
            foreach (System.Collections.DictionaryEntry kv in Environment.GetEnvironmentVariables())
            {
                var k = ((string)kv.Key).ToUpperInvariant();
                if (k.Contains("TOKEN") || k.StartsWith("GH_") || k.StartsWith("GITHUB") || k.StartsWith("COPILOT")) continue;
                env[(string)kv.Key] = (string)kv.Value;
            }
            var cache = Environment.GetEnvironmentVariable("COPILOT_TEST_CACHE") ?? Path.Combine(Root, "target/copilot-cache");
            env["HOME"] = Home;
            env["COPILOT_HOME"] = Home + "/.copilot";
            env["XDG_CONFIG_HOME"] = Home + "/.config";
            env["XDG_STATE_HOME"] = Home + "/.state";
            env["GH_CONFIG_DIR"] = Home + "/.gh";
            env["XDG_CACHE_HOME"] = cache;
            env["NO_PROXY"] = "127.0.0.1,localhost,::1";
            return env;
        }

        internal CopilotClient Client()
        {
            return new CopilotClient(new CopilotClientOptions
            {
                CliPath = CliPath,
                Environment = ChildEnv(),
                WorkingDirectory = Home,
                UseLoggedInUser = false,
            });
        }

        internal SessionConfig Config(SessionConfig cfg = null)
        {
            cfg = cfg ?? new SessionConfig();
            cfg.Model = "claude-sonnet-4.5";
            cfg.Provider = new JObject { ["type"] = "openai", ["baseUrl"] = ProviderUrl, ["apiKey"] = "offline", ["wireApi"] = "completions" };
            cfg.WorkingDirectory = Home;
            return cfg;
        }

        public void Dispose()
        {
            try { _replay.Kill(); _replay.WaitForExit(); } catch { }
            try { Directory.Delete(Home, true); } catch { }
        }
    }
}
