// Package replaytest runs copilot-replay, the offline OpenAI-compatible model
// server, for the length of one Go test, and shows the test what the model
// was sent.
//
//	replay := replaytest.Start(t, "testdata/weather.yaml")
//	cfg.Provider = &copilot.ProviderConfig{Type: "openai", BaseURL: replay.URL(),
//		APIKey: "offline", WireAPI: "completions"}
//	// ... run the session ...
//	requests := replay.Requests()
//	for _, m := range requests[len(requests)-1].Messages() {
//		// m.Role, m.Text(), m.ToolCallID ...
//	}
//
// The server is started with --print-url, --exit-on-stdin-eof and
// --requests (see `copilot-replay --help`): Start reads its URL line, the
// request log lives in the test's temporary directory, and the server stops
// in t.Cleanup, or by itself when the test binary dies (its stdin closes), so
// no process outlives a failed test. Its stderr (which names the closest
// conversation when a request matches none) is logged when the test fails.
//
// The binary is Options.Binary, else $COPILOT_REPLAY_PATH, else
// copilot-replay on $PATH.
package replaytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// URLVariable prefixes the one line `copilot-replay --print-url` prints.
const URLVariable = "COPILOT_REPLAY_URL"

// Options tune StartWith; the zero value is what Start uses.
type Options struct {
	// Binary is the copilot-replay executable; default $COPILOT_REPLAY_PATH,
	// else copilot-replay on $PATH.
	Binary string
	// Workdir is the directory `${workdir}` stands for in the conversations.
	Workdir string
	// StartTimeout bounds the wait for the server's URL; default 30s.
	StartTimeout time.Duration
}

// Server is one running copilot-replay.
type Server struct {
	t       testing.TB
	cmd     *exec.Cmd
	stdin   io.Closer
	url     string
	logPath string
	errPath string

	started bool // it printed its URL
	once    sync.Once
	exited  chan struct{} // closed once the process is reaped
	waitErr error
}

// Request is one chat-completions request the server received, as logged:
// `{"method", "path", "body"}`.
type Request struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body"`
}

// Message is one entry of a request's "messages".
type Message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls,omitempty"`
}

// Messages decodes the body's "messages" (nil if it has none).
func (r Request) Messages() []Message {
	var body struct {
		Messages []Message `json:"messages"`
	}
	_ = json.Unmarshal(r.Body, &body)
	return body.Messages
}

// ToolNames are the names of the tools the request offered the model.
func (r Request) ToolNames() []string {
	var body struct {
		Tools []struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tools"`
	}
	_ = json.Unmarshal(r.Body, &body)
	var names []string
	for _, tool := range body.Tools {
		names = append(names, tool.Function.Name)
	}
	return names
}

// Text is the message's text: its content string, or its text parts joined.
func (m Message) Text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(m.Content, &parts)
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Start serves the conversations (YAML files, or directories searched for
// *.yaml) and stops the server when the test ends. It fails the test if the
// server cannot start.
func Start(t testing.TB, conversations ...string) *Server {
	t.Helper()
	return StartWith(t, Options{}, conversations...)
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options, conversations ...string) *Server {
	t.Helper()
	bin, err := binary(opts.Binary)
	if err != nil {
		t.Fatalf("replaytest: %v", err)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	dir := t.TempDir()
	s := &Server{
		t:       t,
		logPath: filepath.Join(dir, "requests.jsonl"),
		errPath: filepath.Join(dir, "stderr.log"),
		exited:  make(chan struct{}),
	}
	args := []string{"--print-url", "--exit-on-stdin-eof", "--requests", s.logPath}
	if opts.Workdir != "" {
		args = append(args, "--workdir", opts.Workdir)
	}
	args = append(append(args, "--"), conversations...)
	s.cmd = exec.Command(bin, args...)
	stderr, err := os.Create(s.errPath)
	if err != nil {
		t.Fatalf("replaytest: %v", err)
	}
	defer stderr.Close() // the child has its own copy
	s.cmd.Stderr = stderr
	stdin, err := s.cmd.StdinPipe()
	if err != nil {
		t.Fatalf("replaytest: %v", err)
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("replaytest: %v", err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("replaytest: start %s: %v", bin, err)
	}
	s.stdin = stdin
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.Close()
		if t.Failed() {
			t.Logf("copilot-replay stderr:\n%s", s.Stderr())
		}
	})

	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		url, ok := strings.CutPrefix(strings.TrimSpace(l), URLVariable+"=")
		if !ok {
			s.Close()
			t.Fatalf("replaytest: copilot-replay did not start (first line %q): %s", l, s.Stderr())
		}
		s.url, s.started = url, true
	case <-time.After(opts.StartTimeout):
		s.Close()
		t.Fatalf("replaytest: no URL from copilot-replay within %v: %s", opts.StartTimeout, s.Stderr())
	}
	return s
}

// binary resolves the executable: given, $COPILOT_REPLAY_PATH, or $PATH.
func binary(given string) (string, error) {
	if given == "" {
		given = os.Getenv("COPILOT_REPLAY_PATH")
	}
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("copilot-replay: %w", err)
		}
		return given, nil
	}
	p, err := exec.LookPath("copilot-replay")
	if err != nil {
		return "", errors.New("copilot-replay not found: set Options.Binary or $COPILOT_REPLAY_PATH, or put it on $PATH")
	}
	return p, nil
}

// URL is the provider base URL, http://127.0.0.1:PORT/v1 (ProviderConfig.BaseURL).
func (s *Server) URL() string { return s.url }

// RootURL is the URL without /v1: the Copilot API stand-in for
// COPILOT_API_URL and COPILOT_DEBUG_GITHUB_API_URL (signed-in sessions).
func (s *Server) RootURL() string { return strings.TrimSuffix(s.url, "/v1") }

// RequestLog is the path of the JSON Lines request log.
func (s *Server) RequestLog() string { return s.logPath }

// Requests are the chat-completions requests received so far, oldest first,
// read from the request log. Safe from any goroutine; a log that cannot be
// read fails the test (t.Errorf) and yields what could be read.
func (s *Server) Requests() []Request {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		s.t.Errorf("replaytest: %v", err)
		return nil
	}
	var out []Request
	for len(data) > 0 {
		end := bytes.IndexByte(data, '\n')
		if end < 0 {
			break // a line still being written
		}
		var r Request
		if err := json.Unmarshal(data[:end], &r); err != nil {
			s.t.Errorf("replaytest: request log line %d: %v", len(out)+1, err)
			return out
		}
		out = append(out, r)
		data = data[end+1:]
	}
	return out
}

// Stderr is what the server wrote to stderr so far.
func (s *Server) Stderr() string {
	b, _ := os.ReadFile(s.errPath)
	return string(b)
}

// Close stops the server (closing its stdin, then killing it if it has not
// exited within 5s) and reaps it. Idempotent; t.Cleanup calls it.
func (s *Server) Close() {
	s.once.Do(func() {
		_ = s.stdin.Close()
		select {
		case <-s.exited:
			// Closing stdin makes it exit 0; anything else is a crash to report.
			if s.waitErr != nil && s.started {
				s.t.Errorf("replaytest: copilot-replay: %v: %s", s.waitErr, s.Stderr())
			}
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
}
