package copilot

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// recordedRequest is what a test Transport saw of one model request.
type recordedRequest struct {
	method, url string
	header      http.Header
	body        []byte
	rc          *CopilotRequestContext
}

// recordingTransport records each request, then forwards it.
type recordingTransport struct {
	mu   sync.Mutex
	seen []recordedRequest
	next http.RoundTripper
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	rt.mu.Lock()
	rt.seen = append(rt.seen, recordedRequest{req.Method, req.URL.String(), req.Header.Clone(), body, RequestContextFrom(req)})
	rt.mu.Unlock()
	return rt.next.RoundTrip(req)
}

func (rt *recordingTransport) completions() []recordedRequest {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []recordedRequest
	for _, r := range rt.seen {
		if strings.HasSuffix(strings.SplitN(r.url, "?", 2)[0], "/chat/completions") {
			out = append(out, r)
		}
	}
	return out
}

// A custom Transport carries a whole turn: the CLI's model request reaches
// it with its session's identity, and the answer it forwards is the turn's.
func TestRequestHandlerTransportCarriesATurn(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	rt := &recordingTransport{next: http.DefaultTransport}
	c := env.clientWith(t, &ClientOptions{RequestHandler: &CopilotRequestHandler{Transport: rt}})
	s, err := c.CreateSession(context.Background(), env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, s, "What is the capital of France?"); got != "The capital of France is Paris." {
		t.Fatalf("answer %q", got)
	}
	seen := rt.completions()
	if len(seen) != 1 || len(env.replay.Requests()) != 1 {
		t.Fatalf("%d completions requests through the Transport, %d at the model; want 1 and 1", len(seen), len(env.replay.Requests()))
	}
	r := seen[0]
	if r.rc == nil {
		t.Fatal("RequestContextFrom gave nil inside the Transport")
	}
	if r.rc.SessionID != s.SessionID || r.rc.RequestID == "" || r.rc.Transport != "http" {
		t.Fatalf("request context %+v, want session %s over http", r.rc, s.SessionID)
	}
	if r.method != "POST" || r.rc.Method != "POST" || !strings.HasPrefix(r.url, env.provider) || r.rc.URL != r.url {
		t.Fatalf("%s %s (context %s %s), want a POST to %s", r.method, r.url, r.rc.Method, r.rc.URL, env.provider)
	}
	if got := r.header.Get("Authorization"); got != "Bearer offline" {
		t.Fatalf("Authorization %q, want the session's API key", got)
	}
	if r.rc.Headers.Get("Authorization") != "Bearer offline" {
		t.Fatalf("context headers %v lack the API key", r.rc.Headers)
	}
	for _, h := range []string{"Host", "Content-Length", "Connection", "Transfer-Encoding"} {
		if _, ok := r.header[h]; ok {
			t.Fatalf("hop-by-hop header %s reached the Transport", h)
		}
	}
	if r.rc.Context == nil || r.rc.Context.Err() == nil {
		t.Fatal("the exchange's context outlived the exchange")
	}
	var body struct {
		Messages []struct{ Content any } `json:"messages"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || len(body.Messages) == 0 ||
		!strings.Contains(string(r.body), "What is the capital of France?") {
		t.Fatalf("request body %.200q (%v) does not carry the prompt", r.body, err)
	}
}

// failingTransport refuses every request.
type failingTransport struct {
	mu    sync.Mutex
	calls int
}

const transportFailure = "upstream unreachable (marker 51c2)"

func (ft *failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	ft.mu.Lock()
	ft.calls++
	ft.mu.Unlock()
	return nil, errors.New(transportFailure)
}

// A Transport error fails the turn (the CLI got a 502 and the error) instead
// of leaving it waiting.
func TestRequestHandlerTransportErrorFailsTheTurn(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	ft := &failingTransport{}
	c := env.clientWith(t, &ClientOptions{RequestHandler: &CopilotRequestHandler{Transport: ft}})
	s, err := c.CreateSession(context.Background(), env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx := within(t, 90*time.Second)
	ev, err := s.SendAndWait(ctx, MessageOptions{Prompt: "What is the capital of France?"})
	if ctx.Err() != nil {
		t.Fatalf("the turn hung for %v", time.Since(start))
	}
	if err == nil {
		t.Fatalf("the turn succeeded (%v) through a Transport that always fails", ev)
	}
	ft.mu.Lock()
	calls := ft.calls
	ft.mu.Unlock()
	if calls == 0 {
		t.Fatal("the Transport was never called")
	}
	if len(env.replay.Requests()) != 0 {
		t.Fatal("a request reached the model around the Transport")
	}
	if !strings.Contains(err.Error(), transportFailure) {
		t.Fatalf("the turn's error %q does not quote the Transport's", err)
	}
	t.Logf("failed after %v and %d Transport calls: %v", time.Since(start), calls, err)
}

// blockingTransport holds each request until its context ends; once
// passThrough is set it forwards them instead.
type blockingTransport struct {
	entered     chan *http.Request
	ended       chan error // context.Cause of each request, once cancelled
	passThrough atomic.Bool
}

func (bt *blockingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if bt.passThrough.Load() {
		return http.DefaultTransport.RoundTrip(req)
	}
	bt.entered <- req
	<-req.Context().Done()
	bt.ended <- context.Cause(req.Context())
	return nil, req.Context().Err()
}

// blockedExchange starts a turn whose model request blocks in the
// Transport, and returns the request.
func blockedExchange(t *testing.T, env *testEnv, bt *blockingTransport) (*Client, *Session, *http.Request) {
	t.Helper()
	c := env.clientWith(t, &ClientOptions{RequestHandler: &CopilotRequestHandler{Transport: bt}})
	s, err := c.CreateSession(context.Background(), env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := within(t, 60*time.Second)
	if _, err := s.Send(ctx, MessageOptions{Prompt: "What is the capital of France?"}); err != nil {
		t.Fatal(err)
	}
	req := receive(t, ctx, bt.entered, "model request in the Transport")
	if req.Context().Err() != nil {
		t.Fatal("the request was cancelled before the test ended it")
	}
	if rc := RequestContextFrom(req); rc == nil || rc.SessionID != s.SessionID {
		t.Fatalf("request context %+v, want session %s", rc, s.SessionID)
	}
	return c, s, req
}

func newBlockingTransport() *blockingTransport {
	return &blockingTransport{entered: make(chan *http.Request, 8), ended: make(chan error, 8)}
}

// Closing the client cancels a request its Transport is still serving,
// rather than leaving it blocked until upstream gives up.
func TestClosingTheClientCancelsAnInferenceExchange(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	bt := newBlockingTransport()
	c, _, req := blockedExchange(t, env, bt)
	c.Close()
	cause := receive(t, within(t, 5*time.Second), bt.ended, "cancellation after Close")
	if !errors.Is(cause, errClientClosed) {
		t.Fatalf("cancelled with %v, want %v", cause, errClientClosed)
	}
	if rc := RequestContextFrom(req); rc.Context.Err() == nil {
		t.Fatal("CopilotRequestContext.Context is not cancelled")
	}
}

// So does ForceStop; and the client still serves a turn after a new Start.
func TestForceStopCancelsAnInferenceExchange(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	bt := newBlockingTransport()
	c, _, _ := blockedExchange(t, env, bt)
	c.ForceStop()
	cause := receive(t, within(t, 5*time.Second), bt.ended, "cancellation after ForceStop")
	if !errors.Is(cause, errClientStopped) {
		t.Fatalf("cancelled with %v, want %v", cause, errClientStopped)
	}
	bt.passThrough.Store(true)
	if err := c.Start(within(t, 60*time.Second)); err != nil {
		t.Fatal(err)
	}
	s, err := c.CreateSession(context.Background(), env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, s, "Count from one to ten in words."); got != "One, two, three, four, five, six, seven, eight, nine, ten." {
		t.Fatalf("answer after the restart %q", got)
	}
}

// A CLI that dies under an exchange takes it along: the exchange is
// cancelled when the connection is lost, not when upstream gives up.
func TestLosingTheCLICancelsAnInferenceExchange(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	bt := newBlockingTransport()
	c, _, _ := blockedExchange(t, env, bt)
	pid := c.PID()
	if pid == 0 {
		t.Fatal("no CLI pid")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cause := receive(t, within(t, 10*time.Second), bt.ended, "cancellation after the CLI died")
	if cause == nil || !strings.Contains(cause.Error(), "connection to the CLI was lost") {
		t.Fatalf("cancelled with %v", cause)
	}
}

// fakeLlmAPI records the response frames an exchange sends (a stand-in for
// the CLI, for what the real one cannot be made to exercise offline).
type fakeLlmAPI struct {
	mu     sync.Mutex
	starts []rpc.LlmInferenceHTTPResponseStartRequest
	chunks []rpc.LlmInferenceHTTPResponseChunkRequest
	ended  chan struct{}
}

func (f *fakeLlmAPI) Request(_ context.Context, method string, params any) (json.RawMessage, error) {
	b, _ := json.Marshal(params)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch method {
	case "llmInference.httpResponseStart":
		var r rpc.LlmInferenceHTTPResponseStartRequest
		_ = json.Unmarshal(b, &r)
		f.starts = append(f.starts, r)
	case "llmInference.httpResponseChunk":
		var r rpc.LlmInferenceHTTPResponseChunkRequest
		_ = json.Unmarshal(b, &r)
		f.chunks = append(f.chunks, r)
		if r.End != nil && *r.End {
			close(f.ended)
		}
	default:
		return nil, errors.New("unexpected " + method)
	}
	return json.RawMessage(`{"accepted":true}`), nil
}

// body is the response body the chunks carry, decoded as the CLI decodes it.
func (f *fakeLlmAPI) body(t *testing.T) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []byte
	for _, c := range f.chunks {
		if c.Binary != nil && *c.Binary {
			b, err := base64.StdEncoding.DecodeString(c.Data)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b...)
		} else {
			out = append(out, c.Data...)
		}
	}
	return out
}

func newFakeProvider(h *CopilotRequestHandler) (*inferenceProvider, *fakeLlmAPI) {
	f := &fakeLlmAPI{ended: make(chan struct{})}
	p := &inferenceProvider{handler: h, api: rpc.NewServerRPC(f).LlmInference, pending: map[string]*inferenceExchange{}}
	return p, f
}

func serveOrFail(t *testing.T, p *inferenceProvider, kind string, params any) {
	t.Helper()
	raw, _ := json.Marshal(params)
	res, err := p.serve(kind, raw)
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	if m, ok := res.(map[string]any); !ok || len(m) != 0 {
		t.Fatalf("%s acknowledged with %#v, want {}", kind, res)
	}
}

// oneByteReader returns a byte per Read, so every multi-byte character is
// split across reads.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:1]) }

// Characters split across reads reach the CLI whole, and bytes that are not
// UTF-8 go as binary: the body the CLI reassembles is the upstream's, byte
// for byte.
func TestResponseBodyChunksKeepEveryByte(t *testing.T) {
	for name, body := range map[string][]byte{
		"utf8":   []byte("data: {\"content\":\"Grüße, 世界 🌍\"}\n\n"),
		"binary": {0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 'h', 'i', 0xc3},
	} {
		t.Run(name, func(t *testing.T) {
			p, f := newFakeProvider(&CopilotRequestHandler{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 200, Status: "200 OK",
					Header: http.Header{"Content-Type": {"text/event-stream"}},
					Body:   io.NopCloser(oneByteReader{bytes.NewReader(body)})}, nil
			})})
			serveOrFail(t, p, "llmInference.httpRequestStart", map[string]any{
				"requestId": "r1", "method": "POST", "url": "http://model.invalid/v1/chat/completions",
				"headers": map[string][]string{"content-type": {"application/json"}}})
			serveOrFail(t, p, "llmInference.httpRequestChunk", map[string]any{"requestId": "r1", "data": "{}", "end": true})
			receive(t, within(t, 5*time.Second), f.ended, "end of the response")
			if got := f.body(t); !bytes.Equal(got, body) {
				t.Fatalf("the CLI would read %q, upstream sent %q", got, body)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.starts) != 1 || f.starts[0].Status != 200 || f.starts[0].StatusText == nil || *f.starts[0].StatusText != "OK" ||
				f.starts[0].Headers["content-type"][0] != "text/event-stream" {
				t.Fatalf("response head %+v", f.starts)
			}
			for _, c := range f.chunks {
				if (c.Binary == nil || !*c.Binary) && !utf8.ValidString(c.Data) {
					t.Fatalf("text chunk %q is not valid text", c.Data)
				}
				if c.Error != nil {
					t.Fatalf("error chunk %+v", c.Error)
				}
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A cancel chunk cancels the exchange's context and answers "cancelled".
func TestCancelChunkCancelsTheExchange(t *testing.T) {
	entered := make(chan *http.Request, 1)
	p, f := newFakeProvider(&CopilotRequestHandler{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		entered <- r
		<-r.Context().Done()
		return nil, r.Context().Err()
	})})
	serveOrFail(t, p, "llmInference.httpRequestStart", map[string]any{
		"requestId": "r2", "method": "POST", "url": "http://model.invalid/x", "headers": map[string][]string{}})
	serveOrFail(t, p, "llmInference.httpRequestChunk", map[string]any{"requestId": "r2", "data": "{}", "end": true})
	ctx := within(t, 5*time.Second)
	req := receive(t, ctx, entered, "request in the Transport")
	serveOrFail(t, p, "llmInference.httpRequestChunk", map[string]any{"requestId": "r2", "data": "", "cancel": true, "cancelReason": "user abort"})
	receive(t, ctx, f.ended, "end of the response")
	if !strings.Contains(context.Cause(req.Context()).Error(), "user abort") {
		t.Fatalf("cause %v", context.Cause(req.Context()))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	last := f.chunks[len(f.chunks)-1]
	if len(f.starts) != 1 || f.starts[0].Status != 499 || last.Error == nil || last.Error.Code == nil || *last.Error.Code != "cancelled" {
		t.Fatalf("starts %+v, last chunk %+v", f.starts, last)
	}
	// A late chunk of the finished exchange is acknowledged and dropped.
	serveOrFail(t, p, "llmInference.httpRequestChunk", map[string]any{"requestId": "r2", "data": "late"})
	if len(p.pending) != 0 {
		t.Fatalf("%d exchanges left pending", len(p.pending))
	}
}

// The WebSocket transport answers 101 at once, then relays messages both
// ways through the default forwarder, its hooks included.
func TestWebSocketExchangeRelaysBothWays(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test") != "yes" {
			http.Error(w, "missing header", http.StatusBadRequest)
			return
		}
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		for { // echo, upper-cased, until the client closes
			typ, data, err := conn.Read(r.Context())
			if err != nil {
				return
			}
			for i, b := range data { // ASCII only: other bytes must come back as they went
				if 'a' <= b && b <= 'z' {
					data[i] = b - 'a' + 'A'
				}
			}
			_ = conn.Write(r.Context(), typ, data)
		}
	}))
	defer upstream.Close()
	var hooked atomic.Int32
	p, f := newFakeProvider(&CopilotRequestHandler{OpenWebSocket: func(rc *CopilotRequestContext) (CopilotWebSocketHandler, error) {
		fw := NewCopilotWebSocketForwarder("ws"+strings.TrimPrefix(upstream.URL, "http"), rc.Headers)
		fw.OnSendRequestMessage = func(m CopilotWebSocketMessage) *CopilotWebSocketMessage {
			hooked.Add(1)
			if m.Text() == "drop me" {
				return nil
			}
			return &m
		}
		return fw, nil
	}})
	serveOrFail(t, p, "llmInference.httpRequestStart", map[string]any{
		"requestId": "w1", "method": "GET", "url": "wss://model.invalid/responses", "transport": "websocket",
		"headers": map[string][]string{"x-test": {"yes"}, "sec-websocket-key": {"abc"}}})
	ctx := within(t, 5*time.Second)
	for f.startCount() == 0 {
		if ctx.Err() != nil {
			t.Fatal("no 101 before the first message")
		}
		time.Sleep(10 * time.Millisecond)
	}
	serveOrFail(t, p, "llmInference.httpRequestChunk", map[string]any{"requestId": "w1", "data": "drop me"})
	serveOrFail(t, p, "llmInference.httpRequestChunk", map[string]any{"requestId": "w1", "data": "hello"})
	serveOrFail(t, p, "llmInference.httpRequestChunk", map[string]any{"requestId": "w1",
		"data": base64.StdEncoding.EncodeToString([]byte{0x00, 'b', 0xff}), "binary": true})
	for f.chunkCount() < 2 {
		if ctx.Err() != nil {
			t.Fatal("the echoes did not come back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	serveOrFail(t, p, "llmInference.httpRequestChunk", map[string]any{"requestId": "w1", "data": "", "end": true})
	receive(t, ctx, f.ended, "end of the exchange")
	if n := hooked.Load(); n != 3 {
		t.Fatalf("OnSendRequestMessage saw %d messages, want 3", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.starts[0].Status != 101 {
		t.Fatalf("status %d, want 101", f.starts[0].Status)
	}
	c0, c1, last := f.chunks[0], f.chunks[1], f.chunks[len(f.chunks)-1]
	if c0.Data != "HELLO" || (c0.Binary != nil && *c0.Binary) {
		t.Fatalf("first message %+v, want text HELLO", c0)
	}
	if c1.Binary == nil || !*c1.Binary || c1.Data != base64.StdEncoding.EncodeToString([]byte{0x00, 'B', 0xff}) {
		t.Fatalf("second message %+v, want the binary echo", c1)
	}
	if last.End == nil || !*last.End || last.Error != nil {
		t.Fatalf("last chunk %+v, want a clean end", last)
	}
}

func (f *fakeLlmAPI) startCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.starts)
}

func (f *fakeLlmAPI) chunkCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.chunks)
}

func TestPartialRuneTail(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{{"", 0}, {"abc", 0}, {"é", 0}, {"a\xc3", 1}, {"a\xe4\xb8", 2}, {"\xf0\x9f\x8c", 3}, {"\xf0\x9f\x8c\x8d", 0}, {"a\x80", 0}} {
		if got := partialRuneTail([]byte(c.in)); got != c.want {
			t.Errorf("partialRuneTail(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// The handler's handles hold no reference to the Client: one dropped
// without Close is still freed by the GC.
func TestGCFreesADroppedClientWithARequestHandler(t *testing.T) {
	var mu sync.Mutex
	freed := map[string]int{}
	hook := func(ref any) {
		mu.Lock()
		freed[fmt.Sprintf("%p", ref)]++
		mu.Unlock()
	}
	freeHook.Store(&hook)
	t.Cleanup(func() { freeHook.Store(nil) })
	// Only the address: a reference would keep the client alive.
	addr := func() string {
		c := NewClient(&ClientOptions{CLIPath: "/nonexistent/copilot", RequestHandler: &CopilotRequestHandler{}})
		if c.inference == nil || c.conn.initErr != nil {
			t.Fatalf("the handler was not registered: %v", c.conn.initErr)
		}
		return fmt.Sprintf("%p", &c.conn.ref)
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		runtime.GC()
		mu.Lock()
		n := freed[addr]
		mu.Unlock()
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after GC the client was freed %d times, want once", n)
		}
	}
}
