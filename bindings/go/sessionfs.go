package copilot

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// SessionFSConfig makes the client the provider of every session's
// filesystem (ClientOptions.SessionFS): the CLI keeps each session's state
// (events.jsonl, workspace.yaml, plan.md, large tool output, checkpoints)
// through the session's SessionFSProvider instead of on its own disk. It is
// sent as `sessionFs.setProvider` when the client starts, which the CLI
// refuses if it already has sessions (e.g. a shared server reached by a URIConnection).
type SessionFSConfig struct {
	// InitialWorkingDirectory is the directory sessions start in, in the
	// provider's path conventions (wire: initialCwd).
	InitialWorkingDirectory string
	// SessionStatePath is where, inside each session's filesystem, the CLI
	// keeps that session's state.
	SessionStatePath string
	// Conventions says how paths are written: rpc.SessionFSSetProviderConventionsPosix
	// (the default when empty) or ...Windows.
	Conventions rpc.SessionFSSetProviderConventions
	// Capabilities declares optional provider features.
	Capabilities *SessionFSCapabilities
}

// SessionFSCapabilities declares what a SessionFSProvider supports beyond files.
type SessionFSCapabilities struct {
	// Sqlite: the providers implement SessionFSSqliteProvider (and, for
	// transactions, SessionFSSqliteTransactionProvider).
	Sqlite bool
}

func (c *SessionFSConfig) wire() map[string]any {
	conv := c.Conventions
	if conv == "" {
		conv = rpc.SessionFSSetProviderConventionsPosix
	}
	m := map[string]any{
		"initialCwd":       c.InitialWorkingDirectory,
		"sessionStatePath": c.SessionStatePath,
		"conventions":      conv,
	}
	if c.Capabilities != nil {
		m["capabilities"] = map[string]any{"sqlite": c.Capabilities.Sqlite}
	}
	return m
}

// SessionFSProvider is one session's filesystem, for a client with
// ClientOptions.SessionFS (SessionConfig.CreateSessionFSProvider makes one per
// session). Paths follow SessionFSConfig.Conventions.
//
// Each method answers one `sessionFs.*` request of the CLI (named after the
// method: ReadFile answers sessionFs.readFile, MakeDirectory sessionFs.mkdir,
// ReadDirectory sessionFs.readdir, ReadDirectoryWithTypes
// sessionFs.readdirWithTypes, Remove sessionFs.rm, and so on). The methods
// run on the client's callback thread, one at a time, in the order the CLI
// sent the requests, and hold up the client's events and other callbacks
// while they run: keep them quick, and do not call the client or its
// sessions from them (Stop and SendAndWait refuse there with
// StatusWrongThread, and a call whose answer needs another callback of this
// client would never complete).
//
// Errors are results, not failures: an error that is (or wraps)
// os.ErrNotExist is reported as `{"code": "ENOENT", "message"}`, any other as
// `{"code": "UNKNOWN", "message"}`; Exists reports an error as false. A panic
// is reported as UNKNOWN.
type SessionFSProvider interface {
	// ReadFile returns a file's content (sessionFs.readFile).
	ReadFile(path string) (string, error)
	// WriteFile writes a file, creating it (and its parent directories) if
	// needed; mode is a POSIX permission mode or nil (sessionFs.writeFile).
	WriteFile(path string, content string, mode *int) error
	// AppendFile appends to a file, creating it (and its parent directories)
	// if needed (sessionFs.appendFile).
	AppendFile(path string, content string, mode *int) error
	// Exists says whether path exists (sessionFs.exists).
	Exists(path string) (bool, error)
	// Stat describes a file or directory (sessionFs.stat).
	Stat(path string) (*SessionFSFileInfo, error)
	// MakeDirectory creates a directory, and with recursive its parents
	// (sessionFs.mkdir).
	MakeDirectory(path string, recursive bool, mode *int) error
	// ReadDirectory lists a directory's entry names (sessionFs.readdir).
	ReadDirectory(path string) ([]string, error)
	// ReadDirectoryWithTypes lists a directory's entries with their types
	// (sessionFs.readdirWithTypes).
	ReadDirectoryWithTypes(path string) ([]SessionFSReaddirWithTypesEntry, error)
	// Remove deletes a file or directory; recursive removes a directory's
	// contents, force ignores a missing path (sessionFs.rm).
	Remove(path string, recursive bool, force bool) error
	// Rename moves a file or directory (sessionFs.rename).
	Rename(src string, dest string) error
}

// SessionFSFileInfo is what Stat returns.
type SessionFSFileInfo struct {
	IsFile      bool
	IsDirectory bool
	Size        int64
	Mtime       time.Time
	Birthtime   time.Time
}

// SessionFSReaddirWithTypesEntry is one entry of ReadDirectoryWithTypes: a
// name and its type (rpc.SessionFSReaddirWithTypesEntryTypeFile or ...Directory).
type SessionFSReaddirWithTypesEntry = rpc.SessionFSReaddirWithTypesEntry

// SessionFSSqliteQueryType says how to run a SQLite statement.
type SessionFSSqliteQueryType string

// SQLite query types.
const (
	// SessionFSSqliteQueryTypeExec runs DDL or several statements, returning no rows.
	SessionFSSqliteQueryTypeExec SessionFSSqliteQueryType = "exec"
	// SessionFSSqliteQueryTypeQuery runs a SELECT and returns rows.
	SessionFSSqliteQueryTypeQuery SessionFSSqliteQueryType = "query"
	// SessionFSSqliteQueryTypeRun runs INSERT/UPDATE/DELETE and returns RowsAffected.
	SessionFSSqliteQueryTypeRun SessionFSSqliteQueryType = "run"
)

// SessionFSSqliteQueryResult is the result of one SQLite statement.
type SessionFSSqliteQueryResult struct {
	Columns         []string         `json:"columns"`
	Rows            []map[string]any `json:"rows"`
	RowsAffected    int64            `json:"rowsAffected"`
	LastInsertRowid *int64           `json:"lastInsertRowid,omitempty"`
}

// SessionFSSqliteProvider is what a SessionFSProvider also implements to
// serve the session's SQLite database (with SessionFSCapabilities.Sqlite):
// sessionFs.sqliteQuery and sessionFs.sqliteExists. Without it, queries
// report an UNKNOWN error and the database does not exist.
type SessionFSSqliteProvider interface {
	SqliteQuery(queryType SessionFSSqliteQueryType, query string, params map[string]any) (*SessionFSSqliteQueryResult, error)
	SqliteExists() (bool, error)
}

// SessionFSSqliteTransactionStatement is one statement of a transaction.
type SessionFSSqliteTransactionStatement struct {
	QueryType SessionFSSqliteQueryType `json:"queryType"`
	Query     string                   `json:"query"`
	Params    map[string]any           `json:"params,omitempty"`
}

// SessionFSSqliteTransactionProvider is what a SessionFSProvider also
// implements to run several statements atomically (sessionFs.sqliteTransaction),
// returning one result per statement. Without it, transactions fail "fatal".
type SessionFSSqliteTransactionProvider interface {
	SqliteTransaction(statements []SessionFSSqliteTransactionStatement) ([]SessionFSSqliteQueryResult, error)
}

// SessionFSSqliteTransactionErrorClass classifies a failed transaction.
type SessionFSSqliteTransactionErrorClass string

// Transaction failure classes.
const (
	// SessionFSSqliteTransactionErrorClassBusyOrLocked: rolled back; safe to retry.
	SessionFSSqliteTransactionErrorClassBusyOrLocked SessionFSSqliteTransactionErrorClass = "busyOrLocked"
	// SessionFSSqliteTransactionErrorClassFatal: failed for good; not retried.
	SessionFSSqliteTransactionErrorClassFatal SessionFSSqliteTransactionErrorClass = "fatal"
	// SessionFSSqliteTransactionErrorClassPostCommitAmbiguous: may have committed.
	SessionFSSqliteTransactionErrorClassPostCommitAmbiguous SessionFSSqliteTransactionErrorClass = "postCommitAmbiguous"
)

// SessionFSSqliteTransactionFailure is the error SqliteTransaction returns to
// classify a failure; any other error is "fatal".
type SessionFSSqliteTransactionFailure struct {
	Class   SessionFSSqliteTransactionErrorClass
	Message string
}

func (e *SessionFSSqliteTransactionFailure) Error() string { return e.Message }

// fsError is the wire FsError: `{"code": "ENOENT"|"UNKNOWN", "message"?}`.
type fsError struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

func toFsError(err error) *fsError {
	if err == nil {
		return nil
	}
	code := "UNKNOWN"
	if errors.Is(err, os.ErrNotExist) {
		code = "ENOENT"
	}
	return &fsError{Code: code, Message: err.Error()}
}

// sessionFSRequests answers every sessionFs.* request of a session config,
// on the callback thread, with the provider create makes for the request's
// session (once per session id).
func sessionFSRequests(create func(sessionID string) SessionFSProvider) inlineRequestHandler {
	var mu sync.Mutex
	providers := map[string]SessionFSProvider{}
	provider := func(sid string) SessionFSProvider {
		mu.Lock()
		defer mu.Unlock()
		p, ok := providers[sid]
		if !ok {
			p = create(sid)
			providers[sid] = p
		}
		return p
	}
	return func(kind string, raw json.RawMessage) (res any, err error) {
		var r struct {
			SessionID  string                                `json:"sessionId"`
			Path       string                                `json:"path"`
			Content    string                                `json:"content"`
			Mode       *int                                  `json:"mode"`
			Recursive  bool                                  `json:"recursive"`
			Force      bool                                  `json:"force"`
			Src        string                                `json:"src"`
			Dest       string                                `json:"dest"`
			QueryType  SessionFSSqliteQueryType              `json:"queryType"`
			Query      string                                `json:"query"`
			Params     map[string]any                        `json:"params"`
			Statements []SessionFSSqliteTransactionStatement `json:"statements"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		// A panic becomes the operation's UNKNOWN error (via the library's failure shape).
		defer func() {
			if p := recover(); p != nil {
				res, err = nil, fmt.Errorf("session filesystem provider panicked: %v", p)
			}
		}()
		p := provider(r.SessionID)
		if p == nil {
			return nil, fmt.Errorf("no session filesystem provider for session %s", r.SessionID)
		}
		return sessionFSOp(p, strings.TrimPrefix(kind, "sessionFs."), &fsArgs{
			path: r.Path, content: r.Content, mode: r.Mode, recursive: r.Recursive, force: r.Force,
			src: r.Src, dest: r.Dest, queryType: r.QueryType, query: r.Query, params: r.Params,
			statements: r.Statements,
		})
	}
}

type fsArgs struct {
	path, content    string
	mode             *int
	recursive, force bool
	src, dest        string
	queryType        SessionFSSqliteQueryType
	query            string
	params           map[string]any
	statements       []SessionFSSqliteTransactionStatement
}

// nullOr is a mutator's answer: null, or the FsError itself.
func nullOr(err error) any {
	if err == nil {
		return nil
	}
	return toFsError(err)
}

func wireQueryResult(r SessionFSSqliteQueryResult) SessionFSSqliteQueryResult {
	if r.Columns == nil {
		r.Columns = []string{}
	}
	if r.Rows == nil {
		r.Rows = []map[string]any{}
	}
	return r
}

func sessionFSOp(p SessionFSProvider, op string, a *fsArgs) (any, error) {
	switch op {
	case "readFile":
		c, err := p.ReadFile(a.path)
		if err != nil {
			return map[string]any{"content": "", "error": toFsError(err)}, nil
		}
		return map[string]any{"content": c}, nil
	case "writeFile":
		return nullOr(p.WriteFile(a.path, a.content, a.mode)), nil
	case "appendFile":
		return nullOr(p.AppendFile(a.path, a.content, a.mode)), nil
	case "exists":
		ok, err := p.Exists(a.path)
		return map[string]any{"exists": ok && err == nil}, nil
	case "stat":
		info, err := p.Stat(a.path)
		if err == nil && info == nil {
			err = fmt.Errorf("%s: %w", a.path, os.ErrNotExist)
		}
		if err != nil {
			return map[string]any{"isFile": false, "isDirectory": false, "size": 0, "error": toFsError(err)}, nil
		}
		return map[string]any{
			"isFile": info.IsFile, "isDirectory": info.IsDirectory, "size": info.Size,
			"mtime": info.Mtime.UTC().Format(time.RFC3339Nano), "birthtime": info.Birthtime.UTC().Format(time.RFC3339Nano),
		}, nil
	case "mkdir":
		return nullOr(p.MakeDirectory(a.path, a.recursive, a.mode)), nil
	case "readdir":
		entries, err := p.ReadDirectory(a.path)
		if err != nil {
			return map[string]any{"entries": []string{}, "error": toFsError(err)}, nil
		}
		if entries == nil {
			entries = []string{}
		}
		return map[string]any{"entries": entries}, nil
	case "readdirWithTypes":
		entries, err := p.ReadDirectoryWithTypes(a.path)
		if err != nil {
			return map[string]any{"entries": []any{}, "error": toFsError(err)}, nil
		}
		if entries == nil {
			entries = []SessionFSReaddirWithTypesEntry{}
		}
		return map[string]any{"entries": entries}, nil
	case "rm":
		return nullOr(p.Remove(a.path, a.recursive, a.force)), nil
	case "rename":
		return nullOr(p.Rename(a.src, a.dest)), nil
	case "sqliteQuery":
		sp, ok := p.(SessionFSSqliteProvider)
		if !ok {
			return nil, errors.New("SQLite is not supported by this session filesystem provider")
		}
		r, err := sp.SqliteQuery(a.queryType, a.query, a.params)
		if err != nil {
			return map[string]any{"columns": []string{}, "rows": []any{}, "rowsAffected": 0, "error": toFsError(err)}, nil
		}
		if r == nil {
			r = &SessionFSSqliteQueryResult{}
		}
		return wireQueryResult(*r), nil
	case "sqliteTransaction":
		sp, ok := p.(SessionFSSqliteTransactionProvider)
		if !ok {
			return nil, errors.New("SQLite transactions are not supported by this session filesystem provider")
		}
		results, err := sp.SqliteTransaction(a.statements)
		if err != nil {
			class, msg := SessionFSSqliteTransactionErrorClassFatal, err.Error()
			var f *SessionFSSqliteTransactionFailure
			if errors.As(err, &f) {
				class, msg = f.Class, f.Message
			}
			return map[string]any{"results": []any{}, "error": map[string]any{"errorClass": class, "message": msg}}, nil
		}
		out := make([]SessionFSSqliteQueryResult, len(results))
		for i, r := range results {
			out[i] = wireQueryResult(r)
		}
		return map[string]any{"results": out}, nil
	case "sqliteExists":
		sp, ok := p.(SessionFSSqliteProvider)
		if !ok {
			return map[string]any{"exists": false}, nil
		}
		exists, err := sp.SqliteExists()
		return map[string]any{"exists": exists && err == nil}, nil
	}
	return nil, fmt.Errorf("unknown session filesystem operation %q", op)
}
