// Package testharness is libcopilot's stand-in for the official Go SDK's
// internal/e2e/testharness package. It has the same exported API, so the
// SDK's own end-to-end tests (github.com/github/copilot-sdk/go@v1.0.14,
// internal/e2e) build against it unchanged, but it serves the recorded model
// traffic with copilot-replay (this repository's Rust replay server) instead
// of the SDK's TypeScript proxy.
//
// It is compiled only inside the throwaway module tests/official-go/run.sh
// assembles under target/official-go-e2e, where bindings/go is copied in as
// github.com/github/copilot-sdk/go; it does not build in place.
//
// Each TestContext runs one copilot-replay for its whole lifetime, started on
// an empty directory and reconfigured over HTTP before every subtest
// (POST /_replay/configure). Where things are found:
//
//	repository root    $LIBCOPILOT_ROOT, else found above this source file
//	Copilot CLI        $COPILOT_CLI_PATH, else .tools/copilot-cli/... (tests/support/ensure-cli.sh)
//	copilot-replay     $COPILOT_REPLAY_PATH, else target/debug/copilot-replay, else $PATH
//	snapshots          $COPILOT_SNAPSHOTS (relative to the root), else ../shared/snapshots
//	unpacked-CLI cache $COPILOT_TEST_CACHE, else target/copilot-cache (XDG_CACHE_HOME)
//	RepoPath           $COPILOT_SDK_REPO (a checkout of github/copilot-sdk), else the root
package testharness

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	copilot "github.com/github/copilot-sdk/go"
)

// The token every client signs in with unless a test picks another; the
// replay server knows it as the default e2e user.
const defaultGitHubToken = "fake-token-for-e2e-tests"

// ---------------------------------------------------------------------------
// Locations

var (
	rootOnce sync.Once
	rootDir  string
)

// libcopilotRoot is the libcopilot checkout: $LIBCOPILOT_ROOT, else the first
// directory above this source file (or the working directory) that holds
// both Cargo.toml and bindings/go/go.mod.
func libcopilotRoot() string {
	rootOnce.Do(func() {
		if r := os.Getenv("LIBCOPILOT_ROOT"); r != "" {
			rootDir, _ = filepath.Abs(r)
			return
		}
		var starts []string
		if _, file, _, ok := runtime.Caller(0); ok {
			starts = append(starts, filepath.Dir(file))
		}
		if wd, err := os.Getwd(); err == nil {
			starts = append(starts, wd)
		}
		for _, dir := range starts {
			for {
				if isFile(filepath.Join(dir, "Cargo.toml")) && isFile(filepath.Join(dir, "bindings", "go", "go.mod")) {
					rootDir = dir
					return
				}
				parent := filepath.Dir(dir)
				if parent == dir {
					break
				}
				dir = parent
			}
		}
	})
	return rootDir
}

// RepoPath joins elem onto the root the SDK's tests expect: a checkout of
// github/copilot-sdk when $COPILOT_SDK_REPO names one (for test/harness/*.mjs
// and the like), else the libcopilot root. It does not depend on the working
// directory.
func RepoPath(elem ...string) string {
	root := os.Getenv("COPILOT_SDK_REPO")
	if root == "" {
		root = libcopilotRoot()
	}
	return filepath.Join(append([]string{root}, elem...)...)
}

// fromRoot resolves p against the libcopilot root unless it is absolute.
func fromRoot(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(libcopilotRoot(), p)
}

// snapshotsDir holds <testFile>/<test_name>.yaml, the layout of the SDK's
// test/snapshots.
func snapshotsDir() string {
	if d := os.Getenv("COPILOT_SNAPSHOTS"); d != "" {
		return fromRoot(d)
	}
	return fromRoot(filepath.Join("..", "shared", "snapshots"))
}

// cacheDir is the shared XDG_CACHE_HOME: the CLI unpacks itself there (about
// 235 MB) on its first run, so every test shares one.
func cacheDir() string {
	if d := os.Getenv("COPILOT_TEST_CACHE"); d != "" {
		return fromRoot(d)
	}
	return fromRoot(filepath.Join("target", "copilot-cache"))
}

var (
	cliOnce sync.Once
	cliPath string
)

// CLIPath is the Copilot CLI the tests drive: $COPILOT_CLI_PATH, else the
// pinned CLI tests/support/ensure-cli.sh installs into .tools/, else "" (then
// NewTestContext fails the test).
func CLIPath() string {
	cliOnce.Do(func() {
		if p := os.Getenv("COPILOT_CLI_PATH"); p != "" {
			cliPath = p
			return
		}
		p := fromRoot(filepath.Join(".tools", "copilot-cli", "node_modules", "@github", "copilot-linux-x64", "copilot"))
		if isFile(p) {
			cliPath = p
		}
	})
	return cliPath
}

// ---------------------------------------------------------------------------
// Transport selection

// IsInProcessTransport reports whether COPILOT_SDK_DEFAULT_CONNECTION selects
// the in-process transport for the run (libcopilot has none yet: clients
// then fail to start).
func IsInProcessTransport() bool {
	return strings.EqualFold(os.Getenv("COPILOT_SDK_DEFAULT_CONNECTION"), "inprocess")
}

// SkipIfInProcess skips t, giving reason, under the in-process transport.
func SkipIfInProcess(t *testing.T, reason string) {
	t.Helper()
	if IsInProcessTransport() {
		t.Skipf("not supported over the in-process transport: %s", reason)
	}
}

// SkipIfInProcessOnMacOS skips t, giving reason, under the in-process
// transport on macOS only.
func SkipIfInProcessOnMacOS(t *testing.T, reason string) {
	t.Helper()
	if IsInProcessTransport() && runtime.GOOS == "darwin" {
		t.Skipf("not supported over the in-process transport on macOS: %s", reason)
	}
}

// ---------------------------------------------------------------------------
// TestContext

// TestContext is what one top-level test shares between its subtests: an
// isolated home and working directory, and the replay server standing in for
// the Copilot API.
type TestContext struct {
	CLIPath  string
	HomeDir  string
	WorkDir  string
	ProxyURL string // the replay server's root URL, without /v1

	proxy *CapiProxy

	inProcess bool
	undo      []func() // restores process env/cwd changed for in-process clients
}

// NewTestContext makes the directories, starts the replay server with no
// conversations and the default user registered, and cleans all of it up
// when t ends.
func NewTestContext(t *testing.T) *TestContext {
	t.Helper()
	cli := CLIPath()
	if cli == "" || !isFile(cli) {
		t.Fatalf("Copilot CLI not found (%q): run tests/support/ensure-cli.sh or set COPILOT_CLI_PATH", cli)
	}
	home, err := tempDir("copilot-e2e-home-")
	if err != nil {
		t.Fatalf("temporary home: %v", err)
	}
	work, err := tempDir("copilot-e2e-work-")
	if err != nil {
		os.RemoveAll(home)
		t.Fatalf("temporary working directory: %v", err)
	}
	c := &TestContext{CLIPath: cli, HomeDir: home, WorkDir: work, inProcess: IsInProcessTransport()}

	fail := func(format string, args ...any) {
		t.Helper()
		_ = c.Close(true)
		t.Fatalf(format, args...)
	}
	c.proxy = NewCapiProxy()
	url, err := c.proxy.Start()
	if err != nil {
		fail("starting copilot-replay: %v", err)
	}
	c.ProxyURL = url
	if err := c.proxy.Configure(c.noSnapshot(), c.WorkDir); err != nil {
		fail("configuring copilot-replay: %v", err)
	}
	if err := c.proxy.SetCopilotUserByToken(defaultGitHubToken, map[string]interface{}{
		"login":                 "e2e-test-user",
		"copilot_plan":          "individual_pro",
		"analytics_tracking_id": "e2e-test-tracking-id",
		"endpoints": map[string]interface{}{
			"api":       url,
			"telemetry": "https://localhost:1/telemetry",
		},
	}); err != nil {
		fail("registering the default user: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(t.Failed()); err != nil {
			t.Errorf("closing the test context: %v", err)
		}
	})
	return c
}

// noSnapshot is a conversation file that never exists: configuring it serves
// no conversations.
func (c *TestContext) noSnapshot() string {
	return filepath.Join(c.WorkDir, "__no_snapshot__.yaml")
}

var nonAlphanumeric = regexp.MustCompile(`[^a-zA-Z0-9]`)

// ConfigureForTest serves the calling subtest's recording,
// <snapshots>/<file>/<name>.yaml: <file> is the caller's file name without
// _test.go and _e2e, <name> the subtest's name below the top-level test,
// lower-cased, every character but letters and digits made "_". Call it
// first thing in each t.Run. A missing recording serves nothing (model
// requests then fail); when the subtest fails, its log names the file and
// holds what copilot-replay reported meanwhile.
func (c *TestContext) ConfigureForTest(t *testing.T) {
	t.Helper()
	_, caller, _, ok := runtime.Caller(1)
	if !ok {
		t.Fatal("ConfigureForTest: cannot tell the calling file")
	}
	file := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(caller), "_test.go"), "_e2e")
	_, sub, found := strings.Cut(t.Name(), "/")
	if !found {
		t.Fatalf("ConfigureForTest needs a subtest, got %s", t.Name())
	}
	snapshot := filepath.Join(snapshotsDir(), file, strings.ToLower(nonAlphanumeric.ReplaceAllString(sub, "_"))+".yaml")
	mark := c.proxy.stderrMark()
	if err := c.proxy.Configure(snapshot, c.WorkDir); err != nil {
		t.Fatalf("configuring copilot-replay for %s: %v", snapshot, err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if isFile(snapshot) {
			t.Logf("replayed %s", snapshot)
		} else {
			t.Logf("no recording at %s: nothing was replayed", snapshot)
		}
		if log := c.proxy.stderrSince(mark); log != "" {
			t.Logf("copilot-replay stderr:\n%s", log)
		}
	})
}

// ConfigureWithoutSnapshot serves no recording (the test answers the model
// itself) while keeping the users and the Copilot API endpoints.
func (c *TestContext) ConfigureWithoutSnapshot(t *testing.T) {
	t.Helper()
	if err := c.proxy.Configure(c.noSnapshot(), c.WorkDir); err != nil {
		t.Fatalf("configuring copilot-replay: %v", err)
	}
}

// Close restores what in-process clients changed in this process, stops the
// replay server and removes the directories. NewTestContext calls it when
// the test ends. (testFailed is there for the official signature: the replay
// server writes nothing back, so there is nothing to skip.)
func (c *TestContext) Close(testFailed bool) error {
	for i := len(c.undo) - 1; i >= 0; i-- {
		c.undo[i]()
	}
	c.undo = nil
	var err error
	if c.proxy != nil {
		if e := c.proxy.StopWithOptions(testFailed); e != nil {
			err = fmt.Errorf("stopping copilot-replay: %w", e)
		}
	}
	if c.HomeDir != "" {
		os.RemoveAll(c.HomeDir)
	}
	if c.WorkDir != "" {
		os.RemoveAll(c.WorkDir)
	}
	return err
}

// GetExchanges are the chat-completions requests received since the last
// Configure..., oldest first (requests only: Response is nil).
func (c *TestContext) GetExchanges() ([]ParsedHttpExchange, error) {
	return c.proxy.GetExchanges()
}

// GetRequests are the requests the replay server recorded since the last
// Configure... (the chat-completions ones).
func (c *TestContext) GetRequests() ([]CapturedRequest, error) {
	return c.proxy.GetRequests()
}

// WaitForExchanges polls GetExchanges until it has at least minimumCount
// entries, failing t after two minutes.
func (c *TestContext) WaitForExchanges(t *testing.T, minimumCount int) []ParsedHttpExchange {
	t.Helper()
	exchanges, err := poll(exchangeWait, func() ([]ParsedHttpExchange, bool, error) {
		got, err := c.GetExchanges()
		return got, err == nil && len(got) >= minimumCount, err
	})
	if err != nil {
		t.Fatalf("waiting for %d chat-completions request(s) (have %d): %v", minimumCount, len(exchanges), err)
	}
	return exchanges
}

// SetCopilotUserByToken makes the replay server sign token in as a user with
// response's fields (over its default user). Once any is set, tokens not
// registered are refused.
func (c *TestContext) SetCopilotUserByToken(token string, response map[string]interface{}) error {
	return c.proxy.SetCopilotUserByToken(token, response)
}

// Env is the CLI's environment: this process's, without credentials and
// Copilot/GitHub settings, plus a private home, the Copilot API at the replay
// server, the default token, and the shared cache. Later entries of the same
// name win, so tests may append overrides.
func (c *TestContext) Env() []string {
	env := make([]string, 0, 64)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !inheritable(name) {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, c.proxy.ProxyEnv()...)
	return append(env,
		"HOME="+c.HomeDir,
		"COPILOT_HOME="+c.HomeDir,
		"XDG_CONFIG_HOME="+c.HomeDir,
		"XDG_STATE_HOME="+c.HomeDir,
		"GH_CONFIG_DIR="+c.HomeDir,
		"XDG_CACHE_HOME="+cacheDir(),
		"COPILOT_API_URL="+c.ProxyURL,
		"COPILOT_DEBUG_GITHUB_API_URL="+c.ProxyURL,
		"COPILOT_SDK_AUTH_TOKEN="+defaultGitHubToken,
		"GH_TOKEN="+defaultGitHubToken,
		"GITHUB_TOKEN="+defaultGitHubToken,
		"COPILOT_MCP_APPS=true",
		"MCP_APPS=true",
	)
}

// inheritable: what Env keeps from this process (testing-offline.md's
// isolation: no tokens, nothing GitHub- or Copilot-specific, no proxies).
func inheritable(name string) bool {
	n := strings.ToUpper(name)
	switch {
	case strings.Contains(n, "TOKEN"), strings.HasPrefix(n, "GH_"), strings.HasPrefix(n, "GITHUB"),
		strings.HasPrefix(n, "COPILOT"), strings.HasSuffix(n, "_HMAC_KEY"),
		n == "HTTP_PROXY", n == "HTTPS_PROXY", n == "ALL_PROXY", n == "NO_PROXY",
		n == "HOME", strings.HasPrefix(n, "XDG_"):
		return false
	}
	return true
}

// NewClient makes a client for the CLI over stdio, in WorkDir, with Env and
// the default token; opts adjust the options first. The client is not
// started.
func (c *TestContext) NewClient(opts ...func(*copilot.ClientOptions)) *copilot.Client {
	options := &copilot.ClientOptions{
		Connection:       copilot.StdioConnection{Path: c.CLIPath},
		WorkingDirectory: c.WorkDir,
		Env:              c.Env(),
	}
	for _, opt := range opts {
		opt(options)
	}
	if _, external := options.Connection.(copilot.URIConnection); options.GitHubToken == "" && !external {
		options.GitHubToken = defaultGitHubToken
	}
	if c.inProcess && c.isDefaultStdio(options) {
		c.hostInProcess(options)
	}
	return copilot.NewClient(options)
}

// isDefaultStdio: the connection is the one NewClient chose, untouched.
func (c *TestContext) isDefaultStdio(options *copilot.ClientOptions) bool {
	s, ok := options.Connection.(copilot.StdioConnection)
	return ok && s.Path == c.CLIPath && len(s.Args) == 0 && s.Env == nil
}

// hostInProcess switches options to the in-process transport. That runtime
// takes its environment and working directory from this process, so they are
// set here (with the token in GH_TOKEN/GITHUB_TOKEN) and restored by Close.
func (c *TestContext) hostInProcess(options *copilot.ClientOptions) {
	vars := map[string]string{}
	for _, kv := range options.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	vars["GH_TOKEN"], vars["GITHUB_TOKEN"], vars["COPILOT_CLI_PATH"] = defaultGitHubToken, defaultGitHubToken, c.CLIPath
	for _, k := range []string{"COPILOT_HMAC_KEY", "CAPI_HMAC_KEY"} {
		delete(vars, k)
		c.setEnv(k, "", false)
	}
	for k, v := range vars {
		c.setEnv(k, v, true)
	}
	if dir := options.WorkingDirectory; dir != "" {
		if prev, err := os.Getwd(); err == nil && os.Chdir(dir) == nil {
			c.undo = append(c.undo, func() { _ = os.Chdir(prev) })
		}
	}
	options.Connection = copilot.InProcessConnection{}
	options.Env = nil
	options.WorkingDirectory = ""
}

// setEnv sets (or, set false, unsets) a process variable until Close.
func (c *TestContext) setEnv(key, value string, set bool) {
	prev, had := os.LookupEnv(key)
	c.undo = append(c.undo, func() {
		if had {
			os.Setenv(key, prev)
		} else {
			os.Unsetenv(key)
		}
	})
	if set {
		os.Setenv(key, value)
	} else {
		os.Unsetenv(key)
	}
}

// tempDir makes a directory with symbolic links resolved, so its path is the
// one child processes report for their working directory.
func tempDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return dir, nil
}

func isFile(p string) bool {
	info, err := os.Stat(p)
	return err == nil && !info.IsDir()
}
