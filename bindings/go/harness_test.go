package copilot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libcopilot/libcopilot/bindings/go/replaytest"
)

// The tests drive the real Copilot CLI with model replies from copilot-replay
// (built by `cargo build -p copilot-replay`), in an isolated home.

var repoRoot, _ = filepath.Abs("../..")

func cliPath(t testing.TB) string {
	if p := os.Getenv("COPILOT_CLI_PATH"); p != "" {
		return p
	}
	p := filepath.Join(repoRoot, ".tools/copilot-cli/node_modules/@github/copilot-linux-x64/copilot")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Copilot CLI not found at %s: run tests/support/ensure-cli.sh or set COPILOT_CLI_PATH", p)
	}
	return p
}

// startReplay serves the named conversations from tests/conversations.
func startReplay(t testing.TB, files ...string) *replaytest.Server {
	bin := filepath.Join(repoRoot, "target/debug/copilot-replay")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s missing: run `cargo build -p copilot-replay`", bin)
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(repoRoot, "tests/conversations", f)
	}
	return replaytest.StartWith(t, replaytest.Options{Binary: bin}, paths...)
}

// isolatedEnv is the environment of testing-offline.md: no tokens, a private
// home, the shared unpacked-CLI cache.
func isolatedEnv(t testing.TB, home string) []string {
	cache := os.Getenv("COPILOT_TEST_CACHE")
	if cache == "" {
		cache = filepath.Join(repoRoot, "target/copilot-cache")
	}
	var env []string
	for _, kv := range os.Environ() {
		k := strings.ToUpper(strings.SplitN(kv, "=", 2)[0])
		if strings.Contains(k, "TOKEN") || strings.HasPrefix(k, "GH_") || strings.HasPrefix(k, "GITHUB") || strings.HasPrefix(k, "COPILOT") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+home, "COPILOT_HOME="+home+"/.copilot", "XDG_CONFIG_HOME="+home+"/.config",
		"XDG_STATE_HOME="+home+"/.state", "GH_CONFIG_DIR="+home+"/.gh", "XDG_CACHE_HOME="+cache,
		"NO_PROXY=127.0.0.1,localhost,::1")
}

type testEnv struct {
	home     string
	provider string
	replay   *replaytest.Server // what the model was sent: replay.Requests()
}

func newEnv(t testing.TB, conversations ...string) *testEnv {
	replay := startReplay(t, conversations...)
	return &testEnv{home: t.TempDir(), provider: replay.URL(), replay: replay}
}

func (e *testEnv) client(t testing.TB) *Client {
	return e.clientWith(t, nil)
}

// clientWith is client with options of the test's own (SessionFS, ...).
func (e *testEnv) clientWith(t testing.TB, opts *ClientOptions) *Client {
	if opts == nil {
		opts = &ClientOptions{}
	}
	no := false
	if opts.Connection == nil {
		opts.Connection = StdioConnection{Path: cliPath(t)}
	}
	opts.Env, opts.WorkingDirectory, opts.UseLoggedInUser = isolatedEnv(t, e.home), e.home, &no
	c := NewClient(opts)
	t.Cleanup(func() { _ = c.Stop(); c.Close() })
	return c
}

func (e *testEnv) config(cfg SessionConfig) *SessionConfig {
	cfg.Model = "claude-sonnet-4.5"
	cfg.Provider = &ProviderConfig{Type: "openai", BaseURL: e.provider, APIKey: "offline", WireAPI: "completions"}
	cfg.WorkingDirectory = e.home
	return &cfg
}

// within bounds a test's waits.
func within(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// receive takes the next value of ch, failing the test when ctx ends first.
func receive[T any](t *testing.T, ctx context.Context, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("no %s: %v", what, ctx.Err())
		panic("unreachable")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
