package testharness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

const (
	// How long copilot-replay gets to print its URL, and to exit once asked.
	replayStartTimeout = 30 * time.Second
	replayStopTimeout  = 5 * time.Second
	// How long WaitForExchanges waits.
	exchangeWait = 120 * time.Second
	// The replay server's own output line (copilot-replay --print-url).
	replayURLPrefix = "COPILOT_REPLAY_URL="
	// A loopback address nothing listens on: HTTP(S) traffic that is not for
	// the replay server goes there and fails at once instead of reaching the
	// network (ProxyEnv).
	refusingProxy = "http://127.0.0.1:9"
)

// CapiProxy is the Copilot API stand-in: one copilot-replay process, started
// on an empty directory and steered over HTTP (/_replay/configure,
// /_replay/users, /_replay/requests). Its binary is $COPILOT_REPLAY_PATH,
// else target/debug/copilot-replay (cargo build -p copilot-replay), else
// copilot-replay on $PATH.
type CapiProxy struct {
	mu      sync.Mutex
	cmd     *exec.Cmd
	stdin   io.Closer
	url     string
	empty   string        // the directory it was started on
	exited  chan struct{} // closed once the process is reaped
	waitErr error         // how it exited; set before exited closes
	stderr  stderrLog
	http    *http.Client
}

// NewCapiProxy returns a proxy that is not running yet: see Start.
func NewCapiProxy() *CapiProxy {
	return &CapiProxy{http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{Proxy: nil},
	}}
}

// Start runs copilot-replay (if it is not running already) with no
// conversations and returns its root URL, http://127.0.0.1:PORT. The process
// exits when Stop closes its stdin, or by itself when this process dies.
func (p *CapiProxy) Start() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.url != "" {
		return p.url, nil
	}
	bin, err := replayBinary()
	if err != nil {
		return "", err
	}
	empty, err := os.MkdirTemp("", "copilot-replay-empty-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "--print-url", "--exit-on-stdin-eof", "--", empty)
	cmd.Stderr = &p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		os.RemoveAll(empty)
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(empty)
		return "", err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(empty)
		return "", fmt.Errorf("starting %s: %w", bin, err)
	}
	p.cmd, p.stdin, p.empty, p.exited, p.waitErr = cmd, stdin, empty, make(chan struct{}), nil
	go func(exited chan struct{}) {
		p.waitErr = cmd.Wait() // read only after exited closes
		close(exited)
	}(p.exited)

	first := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		first <- line
		_, _ = io.Copy(io.Discard, r) // keep the pipe drained
	}()
	select {
	case line := <-first:
		url, ok := strings.CutPrefix(strings.TrimSpace(line), replayURLPrefix)
		if !ok {
			p.stopLocked()
			return "", fmt.Errorf("copilot-replay did not start (stdout %q): %s", line, p.stderr.String())
		}
		p.url = strings.TrimSuffix(strings.TrimSuffix(url, "/"), "/v1")
	case <-time.After(replayStartTimeout):
		p.stopLocked()
		return "", fmt.Errorf("copilot-replay printed no URL within %v: %s", replayStartTimeout, p.stderr.String())
	}
	return p.url, nil
}

// replayBinary finds the copilot-replay executable.
func replayBinary() (string, error) {
	if p := os.Getenv("COPILOT_REPLAY_PATH"); p != "" {
		if !isFile(p) {
			return "", fmt.Errorf("COPILOT_REPLAY_PATH=%s: no such file", p)
		}
		return p, nil
	}
	if p := fromRoot(filepath.Join("target", "debug", "copilot-replay")); isFile(p) {
		return p, nil
	}
	if p, err := exec.LookPath("copilot-replay"); err == nil {
		return p, nil
	}
	return "", errors.New("copilot-replay not found: run `cargo build -p copilot-replay` or set COPILOT_REPLAY_PATH")
}

// Stop stops the server; see StopWithOptions.
func (p *CapiProxy) Stop() error {
	return p.StopWithOptions(false)
}

// StopWithOptions stops the server: closes its stdin, and kills it if it has
// not exited within five seconds. An exit other than the clean one that
// closing stdin causes is returned as an error. skipWritingCache has no
// effect: copilot-replay only replays, it never writes recordings.
func (p *CapiProxy) StopWithOptions(skipWritingCache bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopLocked()
}

func (p *CapiProxy) stopLocked() error {
	if p.cmd == nil {
		return nil
	}
	defer func() {
		os.RemoveAll(p.empty)
		p.cmd, p.stdin, p.url, p.empty = nil, nil, "", ""
	}()
	_ = p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(replayStopTimeout):
		_ = p.cmd.Process.Kill()
		select {
		case <-p.exited:
			return fmt.Errorf("copilot-replay did not exit within %v of its stdin closing; killed", replayStopTimeout)
		case <-time.After(replayStopTimeout):
			return errors.New("copilot-replay did not exit even when killed")
		}
	}
	if p.waitErr != nil {
		return fmt.Errorf("copilot-replay: %w: %s", p.waitErr, p.stderr.tail(2000))
	}
	return nil
}

// URL is the server's root URL, or "" when it is not running.
func (p *CapiProxy) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.url
}

// ProxyEnv are the environment entries that keep the CLI off the network:
// HTTP(S) proxies at a loopback port nothing listens on, loopback exempt.
// With COPILOT_E2E_ALLOW_NETWORK=1 it is empty.
func (p *CapiProxy) ProxyEnv() []string {
	if os.Getenv("COPILOT_E2E_ALLOW_NETWORK") == "1" {
		return nil
	}
	const loopback = "127.0.0.1,localhost,::1"
	return []string{
		"HTTP_PROXY=" + refusingProxy, "http_proxy=" + refusingProxy,
		"HTTPS_PROXY=" + refusingProxy, "https_proxy=" + refusingProxy,
		"NO_PROXY=" + loopback, "no_proxy=" + loopback,
	}
}

// Configure serves the conversations of filePath from now on (none when it
// does not exist), with ${workdir} standing for workDir, and forgets the
// requests received so far. A file that exists but does not parse is an
// error.
func (p *CapiProxy) Configure(filePath, workDir string) error {
	// The official tests check which key reached which provider: the log keeps credentials.
	_, err := p.post("/_replay/configure", map[string]any{"paths": []string{filePath}, "workdir": workDir, "revealCredentials": true})
	return err
}

// SetCopilotUserByToken signs token in as a user with response's fields
// over the server's default user. From the first call on, tokens never
// registered are refused (401).
func (p *CapiProxy) SetCopilotUserByToken(token string, response map[string]interface{}) error {
	if response == nil {
		response = map[string]interface{}{}
	}
	_, err := p.post("/_replay/users", map[string]any{"token": token, "user": response})
	return err
}

// GetExchanges are the chat-completions requests received since the last
// Configure, oldest first. Only the request side is known: Response is nil,
// and RequestHeaders is set only by a server that reports headers.
func (p *CapiProxy) GetExchanges() ([]ParsedHttpExchange, error) {
	received, err := p.received()
	if err != nil {
		return nil, err
	}
	out := make([]ParsedHttpExchange, 0, len(received))
	for i, r := range received {
		var ex ParsedHttpExchange
		if len(r.Body) > 0 {
			if err := json.Unmarshal(r.Body, &ex.Request); err != nil {
				return nil, fmt.Errorf("request %d (%s %s): %w", i+1, r.Method, r.Path, err)
			}
		}
		ex.RequestHeaders = r.Headers
		out = append(out, ex)
	}
	return out, nil
}

// GetRequests are the requests the server recorded since the last
// Configure: the chat-completions ones, URL being their path.
func (p *CapiProxy) GetRequests() ([]CapturedRequest, error) {
	received, err := p.received()
	if err != nil {
		return nil, err
	}
	out := make([]CapturedRequest, 0, len(received))
	for _, r := range received {
		out = append(out, CapturedRequest{Method: r.Method, URL: r.Path, Headers: r.Headers, Body: string(r.Body)})
	}
	return out, nil
}

// replayRequest is one element of GET /_replay/requests.
type replayRequest struct {
	Method  string                     `json:"method"`
	Path    string                     `json:"path"`
	Body    json.RawMessage            `json:"body"`
	Headers map[string]json.RawMessage `json:"headers,omitempty"`
}

func (p *CapiProxy) received() ([]replayRequest, error) {
	base := p.URL()
	if base == "" {
		return nil, errors.New("copilot-replay is not running")
	}
	resp, err := p.http.Get(base + "/_replay/requests")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /_replay/requests: %s: %s", resp.Status, serverMessage(data))
	}
	var out []replayRequest
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("GET /_replay/requests: %w", err)
	}
	return out, nil
}

// post sends body as JSON and returns the 200 answer, or an error carrying
// the server's message.
func (p *CapiProxy) post(path string, body any) ([]byte, error) {
	base := p.URL()
	if base == "" {
		return nil, errors.New("copilot-replay is not running")
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	resp, err := p.http.Post(base+path, "application/json", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %s: %s", path, resp.Status, serverMessage(data))
	}
	return data, nil
}

// serverMessage digs the message out of an error answer: {"error": "..."}
// or {"error": {"message": "..."}}; else the body as it is.
func serverMessage(body []byte) string {
	var answer struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &answer) == nil && len(answer.Error) > 0 {
		var s string
		if json.Unmarshal(answer.Error, &s) == nil {
			return s
		}
		var detail struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(answer.Error, &detail) == nil && detail.Message != "" {
			return detail.Message
		}
	}
	return strings.TrimSpace(string(body))
}

// stderrLog keeps what the server writes to stderr (its "no conversation
// matched" diagnostics), for the logs of failing subtests.
type stderrLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *stderrLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *stderrLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// tail is at most the last n bytes.
func (l *stderrLog) tail(n int) string {
	s := l.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

func (p *CapiProxy) stderrMark() int {
	p.stderr.mu.Lock()
	defer p.stderr.mu.Unlock()
	return p.stderr.buf.Len()
}

func (p *CapiProxy) stderrSince(mark int) string {
	p.stderr.mu.Lock()
	defer p.stderr.mu.Unlock()
	b := p.stderr.buf.Bytes()
	if mark > len(b) {
		return ""
	}
	return string(b[mark:])
}

// poll calls try every 100ms until it reports done or limit passes.
func poll[T any](limit time.Duration, try func() (T, bool, error)) (T, error) {
	deadline := time.Now().Add(limit)
	for {
		v, done, err := try()
		if done {
			return v, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return v, fmt.Errorf("timed out after %v: %w", limit, err)
			}
			return v, fmt.Errorf("timed out after %v", limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// What the tests read from the received requests (OpenAI chat completions).

// CapturedRequest is one HTTP request the server recorded.
type CapturedRequest struct {
	Method  string                     `json:"method"`
	URL     string                     `json:"url"`
	Headers map[string]json.RawMessage `json:"headers"`
	Body    string                     `json:"body"`
}

// ParsedHttpExchange is one chat-completions call.
type ParsedHttpExchange struct {
	Request        ChatCompletionRequest      `json:"request"`
	Response       *ChatCompletionResponse    `json:"response,omitempty"`
	RequestHeaders map[string]json.RawMessage `json:"requestHeaders,omitempty"`
}

// ChatCompletionRequest is the part of a request body the tests look at.
type ChatCompletionRequest struct {
	Model    string                  `json:"model"`
	Messages []ChatCompletionMessage `json:"messages"`
	Tools    []ChatCompletionTool    `json:"tools,omitempty"`
}

// ChatCompletionMessage is one message of a request or a reply. Content is
// the text when the content is a plain string; RawContent is the content as
// sent, whatever its shape (a list of parts for images and the like).
type ChatCompletionMessage struct {
	Role       string          `json:"role"`
	Content    string          `json:"content,omitempty"`
	RawContent json.RawMessage `json:"-"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
	ToolCalls  []ToolCall      `json:"tool_calls,omitempty"`
}

// UnmarshalJSON accepts content as a string or as an array of parts.
func (m *ChatCompletionMessage) UnmarshalJSON(data []byte) error {
	var wire struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []ToolCall      `json:"tool_calls"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return err
	}
	*m = ChatCompletionMessage{Role: wire.Role, RawContent: wire.Content, ToolCallID: wire.ToolCallID, ToolCalls: wire.ToolCalls}
	var text string
	if len(wire.Content) > 0 && json.Unmarshal(wire.Content, &text) == nil {
		m.Content = text
	}
	return nil
}

// Message is short for ChatCompletionMessage.
type Message = ChatCompletionMessage

// ToolCall is one tool call of an assistant message.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function called and its JSON arguments.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// ChatCompletionTool is one tool a request offers the model.
type ChatCompletionTool struct {
	Type     string                     `json:"type"`
	Function ChatCompletionToolFunction `json:"function"`
}

// ChatCompletionToolFunction describes a function tool.
type ChatCompletionToolFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// ChatCompletionResponse is a chat-completions reply.
type ChatCompletionResponse struct {
	ID      string                 `json:"id"`
	Model   string                 `json:"model"`
	Choices []ChatCompletionChoice `json:"choices"`
}

// ChatCompletionChoice is one choice of a reply.
type ChatCompletionChoice struct {
	Index        int                   `json:"index"`
	Message      ChatCompletionMessage `json:"message"`
	FinishReason string                `json:"finish_reason"`
}
