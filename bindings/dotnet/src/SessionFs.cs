using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

// A host-provided session filesystem: with CopilotClientOptions.SessionFs set, the client
// tells the CLI at start (sessionFs.setProvider) that it keeps each session's state (events,
// workspace, plan, large tool output, checkpoints, optionally the session's SQLite database),
// and the CLI then reads and writes those files through the session's ISessionFsProvider
// (the sessionFs.* requests). Names follow the official .NET SDK where its shapes fit.
namespace GitHub.Copilot
{
    /// <summary>The path conventions of a session filesystem.</summary>
    public enum SessionFsConventions
    {
        /// <summary>"posix": paths like /a/b.</summary>
        Posix,
        /// <summary>"windows": paths like C:\a\b.</summary>
        Windows,
    }

    /// <summary>Optional abilities of the session filesystem provider.</summary>
    public sealed class SessionFsCapabilities
    {
        /// <summary>The providers implement <see cref="ISessionFsSqliteProvider"/> (and, for
        /// transactions, <see cref="ISessionFsSqliteTransactionProvider"/>): the CLI then keeps each
        /// session's SQLite database through them (sessionFs.sqliteQuery, sqliteTransaction,
        /// sqliteExists) instead of a local file.</summary>
        public bool Sqlite { get; set; }
    }

    /// <summary>Client option <see cref="CopilotClientOptions.SessionFs"/>: sent as the client option
    /// <c>"sessionFs": {"initialCwd", "sessionStatePath", "conventions": "posix"|"windows",
    /// "capabilities"?: {"sqlite"}}</c>. <c>sessionFs.setProvider</c> goes to the CLI at start, which
    /// fails if the server already has sessions; every session then needs
    /// <see cref="SessionConfig.CreateSessionFsProvider"/> (creating one without fails with
    /// InvalidArgument).</summary>
    public sealed class SessionFsConfig
    {
        /// <summary>The sessions' initial working directory, in the provider's filesystem (the
        /// official SDK's InitialWorkingDirectory).</summary>
        public string InitialCwd { get; set; }
        /// <summary>Where in each session's filesystem the runtime keeps the session's files
        /// (events, workspace, checkpoints, temporary files).</summary>
        public string SessionStatePath { get; set; }
        /// <summary>How the provider's paths look (default Posix).</summary>
        public SessionFsConventions Conventions { get; set; }
        public SessionFsCapabilities Capabilities { get; set; }

        internal JObject ToJson()
        {
            var o = new JObject
            {
                ["initialCwd"] = InitialCwd,
                ["sessionStatePath"] = SessionStatePath,
                ["conventions"] = Conventions == SessionFsConventions.Windows ? "windows" : "posix",
            };
            if (Capabilities != null) o["capabilities"] = new JObject { ["sqlite"] = Capabilities.Sqlite };
            return o;
        }
    }

    /// <summary>What <see cref="ISessionFsProvider.Stat"/> reports about a path.</summary>
    public sealed class SessionFsStat
    {
        public bool IsFile { get; set; }
        public bool IsDirectory { get; set; }
        /// <summary>In bytes.</summary>
        public long Size { get; set; }
        /// <summary>Last modification (sent as ISO 8601 UTC).</summary>
        public DateTimeOffset Mtime { get; set; }
        /// <summary>Creation (sent as ISO 8601 UTC).</summary>
        public DateTimeOffset Birthtime { get; set; }
    }

    /// <summary>The type of a directory entry.</summary>
    public enum SessionFsEntryType
    {
        File,
        Directory,
    }

    /// <summary>A directory entry with its type (<c>{"name", "type": "file"|"directory"}</c>).</summary>
    public sealed class SessionFsReaddirWithTypesEntry
    {
        public string Name { get; set; }
        public SessionFsEntryType Type { get; set; }
    }

    /// <summary>One session's filesystem, created by
    /// <see cref="SessionConfig.CreateSessionFsProvider"/>. Paths are the CLI's, in the client's
    /// <see cref="SessionFsConfig.Conventions"/>.
    ///
    /// Threading: libcopilot hands each <c>sessionFs.*</c> request to the wrapper on the client's
    /// callback thread; the wrapper runs the provider's methods on the thread pool, one at a
    /// time per session, in the order the CLI sent the requests (so appends land in order), and
    /// returns the callback thread to event delivery at once. Methods may block.
    ///
    /// Errors: throw to fail an operation. <see cref="FileNotFoundException"/> and
    /// <see cref="DirectoryNotFoundException"/> become the FsError <c>{"code": "ENOENT",
    /// "message"}</c>, anything else <c>{"code": "UNKNOWN", "message"}</c>, inside the operation's
    /// result shape (e.g. readFile <c>{"content": "", "error"}</c>, writeFile the FsError itself);
    /// an exception from <see cref="Exists"/> answers <c>{"exists": false}</c>.</summary>
    public interface ISessionFsProvider
    {
        /// <summary><c>sessionFs.readFile {path}</c> -> <c>{"content"}</c>: the whole file as text.
        /// Throw FileNotFoundException when it does not exist.</summary>
        string ReadFile(string path);
        /// <summary><c>sessionFs.writeFile {path, content, mode?}</c> -> <c>null</c>: creates or
        /// replaces the file (creating parent directories); mode is a POSIX mode or null.</summary>
        void WriteFile(string path, string content, int? mode);
        /// <summary><c>sessionFs.appendFile {path, content, mode?}</c> -> <c>null</c>: appends,
        /// creating the file (and parent directories) if needed.</summary>
        void AppendFile(string path, string content, int? mode);
        /// <summary><c>sessionFs.exists {path}</c> -> <c>{"exists"}</c>.</summary>
        bool Exists(string path);
        /// <summary><c>sessionFs.stat {path}</c> -> <c>{"isFile", "isDirectory", "size", "mtime",
        /// "birthtime"}</c>. Throw FileNotFoundException when the path does not exist.</summary>
        SessionFsStat Stat(string path);
        /// <summary><c>sessionFs.mkdir {path, recursive?, mode?}</c> -> <c>null</c>: no error when
        /// the directory exists.</summary>
        void Mkdir(string path, bool recursive, int? mode);
        /// <summary><c>sessionFs.readdir {path}</c> -> <c>{"entries": [name]}</c>. Throw
        /// DirectoryNotFoundException when the directory does not exist.</summary>
        IList<string> Readdir(string path);
        /// <summary><c>sessionFs.readdirWithTypes {path}</c> -> <c>{"entries": [{"name", "type"}]}</c>.</summary>
        IList<SessionFsReaddirWithTypesEntry> ReaddirWithTypes(string path);
        /// <summary><c>sessionFs.rm {path, recursive?, force?}</c> -> <c>null</c>: with force, no
        /// error when the path does not exist.</summary>
        void Rm(string path, bool recursive, bool force);
        /// <summary><c>sessionFs.rename {src, dest}</c> -> <c>null</c>.</summary>
        void Rename(string src, string dest);
    }

    /// <summary>The result of one SQLite statement: <c>{"columns", "rows": [object],
    /// "rowsAffected", "lastInsertRowid"?}</c>.</summary>
    public sealed class SessionFsSqliteResult
    {
        public IList<string> Columns { get; set; }
        /// <summary>For queries, one object per row keyed by column; otherwise empty.</summary>
        public IList<JObject> Rows { get; set; }
        /// <summary>For INSERT/UPDATE/DELETE.</summary>
        public long RowsAffected { get; set; }
        /// <summary>For INSERT.</summary>
        public long? LastInsertRowid { get; set; }

        internal JObject ToJson()
        {
            var rows = new JArray();
            foreach (var r in Rows ?? new JObject[0]) rows.Add(r ?? new JObject());
            var o = new JObject
            {
                ["columns"] = new JArray(Columns ?? new string[0]),
                ["rows"] = rows,
                ["rowsAffected"] = RowsAffected,
            };
            if (LastInsertRowid.HasValue) o["lastInsertRowid"] = LastInsertRowid.Value;
            return o;
        }
    }

    /// <summary>One statement of a transaction.</summary>
    public sealed class SessionFsSqliteStatement
    {
        /// <summary>"exec" (DDL or several statements), "query" (SELECT) or "run" (INSERT/UPDATE/DELETE).</summary>
        public string QueryType { get; set; }
        public string Query { get; set; }
        /// <summary>Named bind parameters, or null.</summary>
        public JObject Params { get; set; }
    }

    /// <summary>A per-session SQLite database, for providers of a client whose
    /// <see cref="SessionFsCapabilities.Sqlite"/> is set (creating a session whose provider lacks
    /// it then fails with InvalidArgument). Same threading as <see cref="ISessionFsProvider"/>.</summary>
    public interface ISessionFsSqliteProvider
    {
        /// <summary><c>sessionFs.sqliteQuery {queryType, query, params?}</c>: runs one statement
        /// (queryType "exec", "query" or "run") with named parameters. Null answers an empty
        /// result; an exception answers <c>{"columns": [], "rows": [], "rowsAffected": 0, "error":
        /// FsError}</c>.</summary>
        SessionFsSqliteResult Query(string queryType, string query, JObject parameters);
        /// <summary><c>sessionFs.sqliteExists {}</c> -> <c>{"exists"}</c>: whether the session's
        /// database exists, without creating it. An exception answers false.</summary>
        bool DatabaseExists();
    }

    /// <summary>Atomic SQLite transactions (<c>sessionFs.sqliteTransaction {statements}</c> ->
    /// <c>{"results"}</c>), for providers that also implement <see cref="ISessionFsSqliteProvider"/>.
    /// Without it, transactions fail with error class "fatal".</summary>
    public interface ISessionFsSqliteTransactionProvider
    {
        /// <summary>Runs the statements in order inside one transaction; one result per
        /// statement. Throw <see cref="SessionFsSqliteTransactionException"/> to classify a failure;
        /// any other exception answers <c>{"results": [], "error": {"errorClass": "fatal",
        /// "message"}}</c>.</summary>
        IList<SessionFsSqliteResult> Transaction(IList<SessionFsSqliteStatement> statements);
    }

    /// <summary>A failed SQLite transaction and how the runtime should treat it.</summary>
    public sealed class SessionFsSqliteTransactionException : Exception
    {
        /// <summary>"busyOrLocked" (rolled back, safe to retry), "fatal", or
        /// "postCommitAmbiguous" (never retried).</summary>
        public string ErrorClass { get; private set; }

        public SessionFsSqliteTransactionException(string message, string errorClass, Exception inner = null)
            : base(message, inner)
        {
            ErrorClass = errorClass ?? "fatal";
        }
    }

    /// <summary>Turns sessionFs.* requests into provider calls and their answers into the
    /// result shapes of copilot.h.</summary>
    internal static class SessionFsDispatch
    {
        private const string Epoch = "1970-01-01T00:00:00.000Z";

        private static JObject FsError(Exception e)
        {
            var code = e is FileNotFoundException || e is DirectoryNotFoundException ? "ENOENT" : "UNKNOWN";
            return new JObject { ["code"] = code, ["message"] = e.Message ?? e.GetType().Name };
        }

        private static string Iso(DateTimeOffset t)
        {
            return t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        }

        private static int? Mode(JObject r)
        {
            var m = r["mode"];
            return m == null || m.Type == JTokenType.Null ? (int?)null : (int)m;
        }

        private static bool Flag(JObject r, string key)
        {
            var t = r[key];
            return t != null && t.Type == JTokenType.Boolean && (bool)t;
        }

        /// <summary>The answer to one request; throws only for an operation it does not know.</summary>
        internal static JToken Answer(ISessionFsProvider fs, string kind, JObject r)
        {
            var op = kind != null && kind.StartsWith("sessionFs.", StringComparison.Ordinal) ? kind.Substring(10) : kind;
            var path = Json.Str(r, "path");
            switch (op)
            {
                case "readFile":
                    try { return new JObject { ["content"] = fs.ReadFile(path) ?? "" }; }
                    catch (Exception e) { return new JObject { ["content"] = "", ["error"] = FsError(e) }; }
                case "writeFile":
                    return Mutate(() => fs.WriteFile(path, Json.Str(r, "content") ?? "", Mode(r)));
                case "appendFile":
                    return Mutate(() => fs.AppendFile(path, Json.Str(r, "content") ?? "", Mode(r)));
                case "exists":
                    try { return new JObject { ["exists"] = fs.Exists(path) }; }
                    catch { return new JObject { ["exists"] = false }; }
                case "stat":
                    try
                    {
                        var s = fs.Stat(path);
                        if (s == null) throw new FileNotFoundException("no such file or directory: " + path);
                        return new JObject
                        {
                            ["isFile"] = s.IsFile,
                            ["isDirectory"] = s.IsDirectory,
                            ["size"] = s.Size,
                            ["mtime"] = Iso(s.Mtime),
                            ["birthtime"] = Iso(s.Birthtime),
                        };
                    }
                    catch (Exception e)
                    {
                        return new JObject
                        {
                            ["isFile"] = false, ["isDirectory"] = false, ["size"] = 0,
                            ["mtime"] = Epoch, ["birthtime"] = Epoch, ["error"] = FsError(e),
                        };
                    }
                case "mkdir":
                    return Mutate(() => fs.Mkdir(path, Flag(r, "recursive"), Mode(r)));
                case "readdir":
                    try { return new JObject { ["entries"] = new JArray(fs.Readdir(path) ?? new string[0]) }; }
                    catch (Exception e) { return new JObject { ["entries"] = new JArray(), ["error"] = FsError(e) }; }
                case "readdirWithTypes":
                    try
                    {
                        var entries = new JArray();
                        foreach (var d in fs.ReaddirWithTypes(path) ?? new SessionFsReaddirWithTypesEntry[0])
                            entries.Add(new JObject { ["name"] = d.Name, ["type"] = d.Type == SessionFsEntryType.Directory ? "directory" : "file" });
                        return new JObject { ["entries"] = entries };
                    }
                    catch (Exception e) { return new JObject { ["entries"] = new JArray(), ["error"] = FsError(e) }; }
                case "rm":
                    return Mutate(() => fs.Rm(path, Flag(r, "recursive"), Flag(r, "force")));
                case "rename":
                    return Mutate(() => fs.Rename(Json.Str(r, "src"), Json.Str(r, "dest")));
                case "sqliteQuery":
                    return SqliteQuery(fs as ISessionFsSqliteProvider, r);
                case "sqliteTransaction":
                    return SqliteTransaction(fs as ISessionFsSqliteTransactionProvider, r);
                case "sqliteExists":
                    try { var db = fs as ISessionFsSqliteProvider; return new JObject { ["exists"] = db != null && db.DatabaseExists() }; }
                    catch { return new JObject { ["exists"] = false }; }
                default:
                    throw new NotSupportedException(kind + " is not supported by this wrapper");
            }
        }

        /// <summary>writeFile, appendFile, mkdir, rm, rename: null, or the FsError itself.</summary>
        private static JToken Mutate(Action op)
        {
            try { op(); return JValue.CreateNull(); }
            catch (Exception e) { return FsError(e); }
        }

        private static JToken SqliteQuery(ISessionFsSqliteProvider db, JObject r)
        {
            var empty = new JObject { ["columns"] = new JArray(), ["rows"] = new JArray(), ["rowsAffected"] = 0 };
            if (db == null)
            {
                empty["error"] = new JObject { ["code"] = "UNKNOWN", ["message"] = "SQLite is not supported by this provider." };
                return empty;
            }
            try
            {
                var result = db.Query(Json.Str(r, "queryType"), Json.Str(r, "query"), r["params"] as JObject);
                return result == null ? empty : result.ToJson();
            }
            catch (Exception e)
            {
                empty["error"] = FsError(e);
                return empty;
            }
        }

        private static JToken SqliteTransaction(ISessionFsSqliteTransactionProvider db, JObject r)
        {
            Func<string, string, JObject> failed = (cls, message) =>
                new JObject { ["results"] = new JArray(), ["error"] = new JObject { ["errorClass"] = cls, ["message"] = message } };
            if (db == null) return failed("fatal", "SQLite transactions are not supported by this provider.");
            try
            {
                var statements = new List<SessionFsSqliteStatement>();
                foreach (var s in r["statements"] as JArray ?? new JArray())
                {
                    var o = s as JObject ?? new JObject();
                    statements.Add(new SessionFsSqliteStatement { QueryType = Json.Str(o, "queryType"), Query = Json.Str(o, "query"), Params = o["params"] as JObject });
                }
                var results = new JArray();
                foreach (var res in db.Transaction(statements) ?? new SessionFsSqliteResult[0])
                    results.Add(res == null ? new SessionFsSqliteResult().ToJson() : res.ToJson());
                return new JObject { ["results"] = results };
            }
            catch (SessionFsSqliteTransactionException e) { return failed(e.ErrorClass, e.Message); }
            catch (Exception e) { return failed("fatal", e.Message); }
        }
    }
}
