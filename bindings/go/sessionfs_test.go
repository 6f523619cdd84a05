package copilot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// memFS is an in-memory POSIX filesystem, one per session, recording the
// operations the CLI asked for. Its methods run on the callback thread; mu
// (shared with the test) guards nodes and ops.
type memFS struct {
	mu    *sync.Mutex
	nodes map[string]*string // nil: a directory
	ops   *[]string
}

// log records an operation and locks mu until the deferred unlock it returns.
func (m *memFS) log(op, p string) func() {
	m.mu.Lock()
	*m.ops = append(*m.ops, op+" "+p)
	return m.mu.Unlock
}

func notExist(p string) error { return fmt.Errorf("%s: %w", p, os.ErrNotExist) }

func (m *memFS) mkdirs(p string) {
	for d := p; ; d = path.Dir(d) {
		if _, ok := m.nodes[d]; !ok {
			m.nodes[d] = nil
		}
		if d == "/" || d == "." {
			return
		}
	}
}

func (m *memFS) ReadFile(p string) (string, error) {
	defer m.log("readFile", p)()
	if c, ok := m.nodes[p]; ok && c != nil {
		return *c, nil
	}
	return "", notExist(p)
}

func (m *memFS) write(p, content string, appendTo bool) error {
	m.mkdirs(path.Dir(p))
	if c, ok := m.nodes[p]; ok && c == nil {
		return errors.New(p + " is a directory")
	} else if ok && appendTo {
		s := *c + content
		m.nodes[p] = &s
		return nil
	}
	m.nodes[p] = &content
	return nil
}

func (m *memFS) WriteFile(p, content string, _ *int) error {
	defer m.log("writeFile", p)()
	return m.write(p, content, false)
}

func (m *memFS) AppendFile(p, content string, _ *int) error {
	defer m.log("appendFile", p)()
	return m.write(p, content, true)
}

func (m *memFS) Exists(p string) (bool, error) {
	defer m.log("exists", p)()
	_, ok := m.nodes[p]
	return ok, nil
}

func (m *memFS) Stat(p string) (*SessionFSFileInfo, error) {
	defer m.log("stat", p)()
	c, ok := m.nodes[p]
	if !ok {
		return nil, notExist(p)
	}
	now := time.Now()
	info := &SessionFSFileInfo{IsDirectory: c == nil, IsFile: c != nil, Mtime: now, Birthtime: now}
	if c != nil {
		info.Size = int64(len(*c))
	}
	return info, nil
}

func (m *memFS) MakeDirectory(p string, recursive bool, _ *int) error {
	defer m.log("mkdir", p)()
	if _, ok := m.nodes[path.Dir(p)]; !ok && !recursive {
		return notExist(path.Dir(p))
	}
	m.mkdirs(p)
	return nil
}

func (m *memFS) children(dir string) []string {
	var names []string
	for p := range m.nodes {
		if p != dir && path.Dir(p) == dir {
			names = append(names, path.Base(p))
		}
	}
	sort.Strings(names)
	return names
}

func (m *memFS) ReadDirectory(p string) ([]string, error) {
	defer m.log("readdir", p)()
	if c, ok := m.nodes[p]; !ok || c != nil {
		return nil, notExist(p)
	}
	return m.children(p), nil
}

func (m *memFS) ReadDirectoryWithTypes(p string) ([]SessionFSReaddirWithTypesEntry, error) {
	defer m.log("readdirWithTypes", p)()
	if c, ok := m.nodes[p]; !ok || c != nil {
		return nil, notExist(p)
	}
	var out []SessionFSReaddirWithTypesEntry
	for _, n := range m.children(p) {
		typ := rpc.SessionFSReaddirWithTypesEntryTypeFile
		if m.nodes[path.Join(p, n)] == nil {
			typ = rpc.SessionFSReaddirWithTypesEntryTypeDirectory
		}
		out = append(out, SessionFSReaddirWithTypesEntry{Name: n, Type: typ})
	}
	return out, nil
}

func (m *memFS) Remove(p string, _, force bool) error {
	defer m.log("rm", p)()
	if _, ok := m.nodes[p]; !ok {
		if force {
			return nil
		}
		return notExist(p)
	}
	for k := range m.nodes {
		if k == p || strings.HasPrefix(k, p+"/") {
			delete(m.nodes, k)
		}
	}
	return nil
}

func (m *memFS) Rename(src, dest string) error {
	defer m.log("rename", src)()
	if _, ok := m.nodes[src]; !ok {
		return notExist(src)
	}
	m.mkdirs(path.Dir(dest))
	for k, v := range m.nodes {
		if k == src || strings.HasPrefix(k, src+"/") {
			delete(m.nodes, k)
			m.nodes[dest+k[len(src):]] = v
		}
	}
	return nil
}

// With ClientOptions.SessionFS the CLI keeps the session's state through the
// session's provider: creating a session and running a turn writes the event
// log into it.
func TestSessionFSProviderKeepsTheSessionState(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	c := env.clientWith(t, &ClientOptions{SessionFS: &SessionFSConfig{
		InitialWorkingDirectory: "/", SessionStatePath: "/session-state", Conventions: "posix"}})
	var mu sync.Mutex // providers run on the callback thread; the test reads from its own
	var ops []string
	providers := map[string]*memFS{}
	cfg := env.config(SessionConfig{
		// Handed the *Session being created (the official signature), whose
		// id is known already.
		CreateSessionFSProvider: func(session *Session) SessionFSProvider {
			mu.Lock()
			defer mu.Unlock()
			p := &memFS{mu: &mu, nodes: map[string]*string{"/": nil}, ops: &ops}
			providers[session.SessionID] = p
			return p
		},
	})
	cfg.WorkingDirectory = "/"
	s, err := c.CreateSession(within(t, 20*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, s, "What is the capital of France?"); got != "The capital of France is Paris." {
		t.Fatalf("answer %q", got)
	}
	if err := s.Disconnect(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	p := providers[s.SessionID]
	if p == nil || len(providers) != 1 {
		t.Fatalf("providers made for %v, session %s", keys(providers), s.SessionID)
	}
	log, ok := p.nodes["/session-state/events.jsonl"]
	if !ok || log == nil || !strings.Contains(*log, "The capital of France is Paris.") {
		t.Fatalf("events.jsonl not written through the provider; operations: %v", ops)
	}
	var wrote bool
	for _, op := range ops {
		wrote = wrote || strings.HasPrefix(op, "appendFile ") || strings.HasPrefix(op, "writeFile ")
	}
	if !wrote {
		t.Fatalf("operations: %v", ops)
	}
	t.Logf("%d operations: %v", len(ops), ops)
}

// A client with SessionFS refuses a session without a provider.
func TestSessionFSNeedsAProvider(t *testing.T) {
	off := false
	c := NewClient(&ClientOptions{AutoStart: &off, SessionFS: &SessionFSConfig{
		InitialWorkingDirectory: "/", SessionStatePath: "/s"}})
	defer c.Close()
	if _, err := c.CreateSession(context.Background(), &SessionConfig{}); !isStatus(err, StatusInvalidArgument) {
		t.Fatalf("got %v", err)
	}
}

// The sessionFs answers, without the CLI: errors become FsError results in
// each operation's own shape, and what a provider lacks is reported, not hung.
func TestSessionFSAnswerShapes(t *testing.T) {
	var mu sync.Mutex
	var ops []string
	made := 0
	answer := sessionFSRequests(func(string) SessionFSProvider {
		made++
		return &memFS{mu: &mu, nodes: map[string]*string{"/": nil}, ops: &ops}
	})
	call := func(kind, params string) string {
		t.Helper()
		res, err := answer(kind, []byte(params))
		if err != nil {
			return "error: " + err.Error()
		}
		b, _ := json.Marshal(res)
		return string(b)
	}
	for _, c := range []struct{ kind, params, want string }{
		{"sessionFs.readFile", `{"sessionId":"a","path":"/x"}`, `{"content":"","error":{"code":"ENOENT","message":"/x: file does not exist"}}`},
		{"sessionFs.writeFile", `{"sessionId":"a","path":"/d/x","content":"hi"}`, `null`},
		{"sessionFs.appendFile", `{"sessionId":"a","path":"/d/x","content":"!"}`, `null`},
		{"sessionFs.readFile", `{"sessionId":"a","path":"/d/x"}`, `{"content":"hi!"}`},
		{"sessionFs.writeFile", `{"sessionId":"a","path":"/d","content":"hi"}`, `{"code":"UNKNOWN","message":"/d is a directory"}`},
		{"sessionFs.exists", `{"sessionId":"a","path":"/d"}`, `{"exists":true}`},
		{"sessionFs.mkdir", `{"sessionId":"a","path":"/p/q"}`, `{"code":"ENOENT","message":"/p: file does not exist"}`},
		{"sessionFs.mkdir", `{"sessionId":"a","path":"/p/q","recursive":true}`, `null`},
		{"sessionFs.readdir", `{"sessionId":"a","path":"/"}`, `{"entries":["d","p"]}`},
		{"sessionFs.readdirWithTypes", `{"sessionId":"a","path":"/d"}`, `{"entries":[{"name":"x","type":"file"}]}`},
		{"sessionFs.readdir", `{"sessionId":"a","path":"/nope"}`, `{"entries":[],"error":{"code":"ENOENT","message":"/nope: file does not exist"}}`},
		{"sessionFs.rename", `{"sessionId":"a","src":"/d/x","dest":"/e/y"}`, `null`},
		{"sessionFs.rm", `{"sessionId":"a","path":"/d/x"}`, `{"code":"ENOENT","message":"/d/x: file does not exist"}`},
		{"sessionFs.rm", `{"sessionId":"a","path":"/d/x","force":true}`, `null`},
		{"sessionFs.stat", `{"sessionId":"a","path":"/gone"}`, `{"error":{"code":"ENOENT","message":"/gone: file does not exist"},"isDirectory":false,"isFile":false,"size":0}`},
		{"sessionFs.sqliteExists", `{"sessionId":"a"}`, `{"exists":false}`},
		{"sessionFs.sqliteQuery", `{"sessionId":"a","queryType":"query","query":"select 1"}`, `error: SQLite is not supported by this session filesystem provider`},
		{"sessionFs.readFile", `{"sessionId":"b","path":"/e/y"}`, `{"content":"","error":{"code":"ENOENT","message":"/e/y: file does not exist"}}`},
	} {
		if got := call(c.kind, c.params); got != c.want {
			t.Errorf("%s %s: got %s, want %s", c.kind, c.params, got, c.want)
		}
	}
	if got := call("sessionFs.stat", `{"sessionId":"a","path":"/e/y"}`); !strings.Contains(got, `"isFile":true`) || !strings.Contains(got, `"size":3`) || !strings.Contains(got, `"mtime":"`) {
		t.Errorf("stat of a file: %s", got)
	}
	if made != 2 {
		t.Errorf("%d providers for 2 sessions", made)
	}
	none := sessionFSRequests(func(string) SessionFSProvider { return nil })
	if _, err := none("sessionFs.readFile", []byte(`{"sessionId":"c","path":"/x"}`)); err == nil {
		t.Error("a nil provider answered")
	}
}
