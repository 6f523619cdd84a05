using System;
using System.Collections.Generic;
using System.IO;
using GitHub.Copilot.Testing;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot.Tests
{
    /// <summary>The real Copilot CLI with model replies from copilot-replay
    /// (target/debug/copilot-replay), in an isolated home per test.</summary>
    internal sealed class TestEnv : IDisposable
    {
        internal static readonly string Root = FindRoot();
        /// <summary>The model server; <c>Replay.Requests()</c> is what the model was sent.</summary>
        internal readonly ReplayServer Replay;
        internal readonly string Home;
        internal readonly string ProviderUrl;
        internal readonly string ReplayUrl;

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
            var paths = new List<string>();
            foreach (var c in conversations) paths.Add(Path.Combine(Root, "tests/conversations", c));
            var options = new ReplayServerOptions { BinaryPath = Path.Combine(Root, "target/debug/copilot-replay") };
            Replay = new ReplayServer(options, paths.ToArray());
            ReplayUrl = Replay.RootUrl;
            ProviderUrl = Replay.Url;
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
            // Signed-in sessions (CopilotApiConfig) reach the Copilot API through copilot-replay.
            env["COPILOT_API_URL"] = ReplayUrl;
            env["COPILOT_DEBUG_GITHUB_API_URL"] = ReplayUrl;
            return env;
        }

        internal CopilotClient Client(Action<CopilotClientOptions> configure = null)
        {
            var options = new CopilotClientOptions
            {
                CliPath = CliPath,
                Environment = ChildEnv(),
                WorkingDirectory = Home,
                UseLoggedInUser = false,
            };
            if (configure != null) configure(options);
            return new CopilotClient(options);
        }

        internal SessionConfig Config(SessionConfig cfg = null)
        {
            cfg = cfg ?? new SessionConfig();
            cfg.Model = "claude-sonnet-4.5";
            cfg.Provider = new JObject { ["type"] = "openai", ["baseUrl"] = ProviderUrl, ["apiKey"] = "offline", ["wireApi"] = "completions" };
            cfg.WorkingDirectory = Home;
            return cfg;
        }

        /// <summary>A signed-in session's config: a GitHub token (any; copilot-replay accepts it)
        /// instead of a BYOK provider, so the CLI uses the Copilot API (model list, rate limits).</summary>
        internal SessionConfig CopilotApiConfig(SessionConfig cfg = null)
        {
            cfg = Config(cfg);
            cfg.Provider = null;
            cfg.Extra = cfg.Extra ?? new JObject();
            cfg.Extra["gitHubToken"] = "gho_copilot_replay_test_token";
            return cfg;
        }

        public void Dispose()
        {
            Replay.Dispose();
            try { Directory.Delete(Home, true); } catch { }
        }
    }

    /// <summary>An in-memory POSIX filesystem for one session, recording each operation.</summary>
    internal sealed class MemFs : ISessionFsProvider
    {
        private readonly Dictionary<string, string> _files = new Dictionary<string, string>();
        private readonly HashSet<string> _dirs = new HashSet<string> { "/" };
        internal readonly List<string> Ops = new List<string>();
        internal readonly string SessionId;

        internal MemFs(string sessionId) { SessionId = sessionId; }

        private static string Norm(string p)
        {
            p = (p ?? "").Replace('\\', '/');
            if (!p.StartsWith("/")) p = "/" + p;
            return p.Length > 1 ? p.TrimEnd('/') : p;
        }

        private static string Parent(string p)
        {
            var i = p.LastIndexOf('/');
            return i <= 0 ? "/" : p.Substring(0, i);
        }

        private void Log(string op, string path) { lock (Ops) Ops.Add(op + " " + path); }

        internal string Read(string path) { lock (_files) { string c; return _files.TryGetValue(Norm(path), out c) ? c : null; } }

        private void MkdirsLocked(string dir)
        {
            for (var d = dir; !_dirs.Contains(d); d = Parent(d)) _dirs.Add(d);
        }

        public string ReadFile(string path)
        {
            Log("readFile", path);
            lock (_files) { string c; if (_files.TryGetValue(Norm(path), out c)) return c; }
            throw new FileNotFoundException("no such file: " + path);
        }

        public void WriteFile(string path, string content, int? mode)
        {
            Log("writeFile", path);
            var p = Norm(path);
            lock (_files) { MkdirsLocked(Parent(p)); _files[p] = content; }
        }

        public void AppendFile(string path, string content, int? mode)
        {
            Log("appendFile", path);
            var p = Norm(path);
            lock (_files) { MkdirsLocked(Parent(p)); string c; _files[p] = (_files.TryGetValue(p, out c) ? c : "") + content; }
        }

        public bool Exists(string path)
        {
            Log("exists", path);
            var p = Norm(path);
            lock (_files) return _files.ContainsKey(p) || _dirs.Contains(p);
        }

        public SessionFsStat Stat(string path)
        {
            Log("stat", path);
            var p = Norm(path);
            lock (_files)
            {
                string c;
                var now = DateTimeOffset.UtcNow;
                if (_files.TryGetValue(p, out c)) return new SessionFsStat { IsFile = true, Size = System.Text.Encoding.UTF8.GetByteCount(c), Mtime = now, Birthtime = now };
                if (_dirs.Contains(p)) return new SessionFsStat { IsDirectory = true, Mtime = now, Birthtime = now };
            }
            throw new FileNotFoundException("no such file or directory: " + path);
        }

        public void Mkdir(string path, bool recursive, int? mode)
        {
            Log("mkdir", path);
            var p = Norm(path);
            lock (_files)
            {
                if (!recursive && !_dirs.Contains(Parent(p))) throw new DirectoryNotFoundException("no such directory: " + Parent(p));
                MkdirsLocked(p);
            }
        }

        private List<KeyValuePair<string, bool>> Children(string dir)
        {
            var prefix = dir == "/" ? "/" : dir + "/";
            var list = new List<KeyValuePair<string, bool>>();
            foreach (var d in _dirs) if (d != dir && d.StartsWith(prefix) && d.IndexOf('/', prefix.Length) < 0) list.Add(new KeyValuePair<string, bool>(d.Substring(prefix.Length), true));
            foreach (var f in _files.Keys) if (f.StartsWith(prefix) && f.IndexOf('/', prefix.Length) < 0) list.Add(new KeyValuePair<string, bool>(f.Substring(prefix.Length), false));
            return list;
        }

        public IList<string> Readdir(string path)
        {
            Log("readdir", path);
            var p = Norm(path);
            lock (_files)
            {
                if (!_dirs.Contains(p)) throw new DirectoryNotFoundException("no such directory: " + path);
                return Children(p).ConvertAll(kv => kv.Key);
            }
        }

        public IList<SessionFsReaddirWithTypesEntry> ReaddirWithTypes(string path)
        {
            Log("readdirWithTypes", path);
            var p = Norm(path);
            lock (_files)
            {
                if (!_dirs.Contains(p)) throw new DirectoryNotFoundException("no such directory: " + path);
                return Children(p).ConvertAll(kv => new SessionFsReaddirWithTypesEntry { Name = kv.Key, Type = kv.Value ? SessionFsEntryType.Directory : SessionFsEntryType.File });
            }
        }

        public void Rm(string path, bool recursive, bool force)
        {
            Log("rm", path);
            var p = Norm(path);
            lock (_files)
            {
                if (!_files.ContainsKey(p) && !_dirs.Contains(p))
                {
                    if (force) return;
                    throw new FileNotFoundException("no such file or directory: " + path);
                }
                _files.Remove(p);
                _dirs.Remove(p);
                var under = p + "/";
                foreach (var f in new List<string>(_files.Keys)) if (f.StartsWith(under)) _files.Remove(f);
                _dirs.RemoveWhere(d => d.StartsWith(under));
            }
        }

        public void Rename(string src, string dest)
        {
            Log("rename", src + " -> " + dest);
            string s = Norm(src), d = Norm(dest);
            lock (_files)
            {
                string c;
                if (_files.TryGetValue(s, out c)) { _files.Remove(s); MkdirsLocked(Parent(d)); _files[d] = c; return; }
                if (!_dirs.Contains(s)) throw new FileNotFoundException("no such file or directory: " + src);
                var under = s + "/";
                foreach (var f in new List<string>(_files.Keys)) if (f.StartsWith(under)) { _files[d + f.Substring(s.Length)] = _files[f]; _files.Remove(f); }
                foreach (var x in new List<string>(_dirs)) if (x == s || x.StartsWith(under)) { _dirs.Remove(x); _dirs.Add(d + x.Substring(s.Length)); }
                MkdirsLocked(Parent(d));
            }
        }
    }
}
