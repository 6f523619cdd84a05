package copilot

/*
#include "copilot.h"

extern copilot_status client_on_state(copilot_client *c, uintptr_t h, copilot_error **e);
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// The LLM inference provider (ClientOptions.RequestHandler): the CLI hands
// its model traffic to us as llmInference.httpRequestStart/httpRequestChunk
// requests and reads the answer from our httpResponseStart/httpResponseChunk
// calls. The library sends llmInference.setProvider on every connect.

// CopilotRequestContext describes one model request the CLI handed over.
type CopilotRequestContext struct {
	RequestID       string
	SessionID       string
	AgentID         string
	ParentAgentID   string
	InteractionType string
	// AgentInvocationID identifies the agentic loop that issued the request
	// (libcopilot addition).
	AgentInvocationID string
	// Transport is "http" (plain HTTP and SSE) or "websocket".
	Transport string
	Method    string
	URL       string
	// Headers as the CLI sent them, keys in canonical form so Get works.
	Headers http.Header
	// Context ends when the CLI cancels the request or the client stops.
	Context context.Context

	// body is fed by the callback thread; only this file reads it (the
	// Transport sees it as the request body, a WebSocket handler as
	// SendRequestMessage calls).
	body *bodyQueue
}

// CopilotRequestHandler intercepts the CLI's model requests. Both fields nil
// forward everything unchanged.
type CopilotRequestHandler struct {
	// Transport carries HTTP requests (SSE included); nil is a shared clone
	// of http.DefaultTransport with compression off. RoundTrip is called
	// directly: redirects are not followed.
	Transport http.RoundTripper
	// OpenWebSocket makes the handler of one WebSocket connection; nil opens
	// a CopilotWebSocketForwarder to the request's URL.
	OpenWebSocket func(ctx *CopilotRequestContext) (CopilotWebSocketHandler, error)
}

// CopilotWebSocketMessage is one WebSocket frame, text unless Binary.
type CopilotWebSocketMessage struct {
	Data   []byte
	Binary bool
}

// Text is the frame's payload as a string.
func (m CopilotWebSocketMessage) Text() string { return string(m.Data) }

// NewTextMessage makes a text frame.
func NewTextMessage(text string) CopilotWebSocketMessage {
	return CopilotWebSocketMessage{Data: []byte(text)}
}

// CopilotWebSocketCloseStatus is how a handler-owned WebSocket connection ended.
type CopilotWebSocketCloseStatus struct {
	Description string
	ErrorCode   string
	Err         error
}

// WebSocketResponseWriter sends upstream messages back to the CLI.
type WebSocketResponseWriter interface {
	SendText(data []byte) error
	SendBinary(data []byte) error
}

// CopilotWebSocketHandler serves one WebSocket connection the CLI asked for.
type CopilotWebSocketHandler interface {
	// Open connects and starts delivering upstream messages to resp; it must
	// not block beyond that. ctx ends when the exchange does.
	Open(ctx context.Context, resp WebSocketResponseWriter) error
	// SendRequestMessage sends one CLI message upstream.
	SendRequestMessage(ctx context.Context, msg CopilotWebSocketMessage) error
	// Done is closed when the upstream connection ended.
	Done() <-chan struct{}
	// Err is why it ended, once Done is closed (nil: a clean close).
	Err() error
	Close() error
}

type requestContextKey struct{}

// RequestContextFrom returns the CopilotRequestContext of a request a
// Transport was handed, or nil for any other request.
func RequestContextFrom(r *http.Request) *CopilotRequestContext {
	if r == nil {
		return nil
	}
	rc, _ := r.Context().Value(requestContextKey{}).(*CopilotRequestContext)
	return rc
}

// skipRequestHeader: these describe the CLI's connection, not ours; the
// transport (or the WebSocket dialer) sets its own.
func skipRequestHeader(name string) bool {
	switch n := strings.ToLower(name); n {
	case "host", "connection", "content-length", "transfer-encoding", "keep-alive",
		"upgrade", "proxy-connection", "te", "trailer":
		return true
	default:
		return strings.HasPrefix(n, "sec-websocket-")
	}
}

// defaultInferenceTransport keeps compression off: the CLI decodes bodies
// itself and must see their Content-Encoding.
var defaultInferenceTransport = sync.OnceValue(func() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t = t.Clone()
		t.DisableCompression = true
		return t
	}
	return http.DefaultTransport
})

func (h *CopilotRequestHandler) transport() http.RoundTripper {
	if h.Transport != nil {
		return h.Transport
	}
	return defaultInferenceTransport()
}

func (h *CopilotRequestHandler) serveHTTP(rc *CopilotRequestContext, x *inferenceExchange) error {
	req, err := newInferenceRequest(rc)
	if err != nil {
		return err
	}
	resp, err := h.transport().RoundTrip(req)
	if err != nil {
		return err
	}
	if resp == nil {
		return errors.New("CopilotRequestHandler: Transport returned neither a response nor an error")
	}
	defer resp.Body.Close()
	text := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	if err := x.start(resp.StatusCode, text, resp.Header); err != nil {
		return err
	}
	return x.streamBody(resp.Body)
}

// newInferenceRequest waits for the whole request body (the CLI sends it in
// chunks after the start) and makes the request the Transport gets.
func newInferenceRequest(rc *CopilotRequestContext) (*http.Request, error) {
	var body bytes.Buffer
	for {
		m, err := rc.body.next(rc.Context)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		body.Write(m.Data)
	}
	method := strings.ToUpper(rc.Method)
	var r io.Reader
	if body.Len() > 0 && method != http.MethodGet && method != http.MethodHead {
		r = bytes.NewReader(body.Bytes())
	}
	ctx := context.WithValue(rc.Context, requestContextKey{}, rc)
	req, err := http.NewRequestWithContext(ctx, method, rc.URL, r)
	if err != nil {
		return nil, err
	}
	for name, values := range rc.Headers {
		if skipRequestHeader(name) {
			continue
		}
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	return req, nil
}

func (h *CopilotRequestHandler) serveWebSocket(rc *CopilotRequestContext, x *inferenceExchange) error {
	var ws CopilotWebSocketHandler
	if h.OpenWebSocket != nil {
		var err error
		if ws, err = h.OpenWebSocket(rc); err != nil {
			return err
		}
		if ws == nil {
			return errors.New("CopilotRequestHandler: OpenWebSocket returned no handler")
		}
	} else {
		ws = NewCopilotWebSocketForwarder(rc.URL, rc.Headers)
	}
	// The CLI sends the first message only once it has seen the 101.
	if err := x.start(http.StatusSwitchingProtocols, "", nil); err != nil {
		return err
	}
	if err := ws.Open(rc.Context, &wsResponseWriter{x}); err != nil {
		return err
	}
	defer ws.Close()

	pumped := make(chan error, 1)
	go func() {
		for {
			m, err := rc.body.next(rc.Context)
			if err == nil {
				err = ws.SendRequestMessage(rc.Context, m)
			}
			if err != nil {
				pumped <- err
				return
			}
		}
	}()
	select {
	case <-ws.Done():
		return ws.Err()
	case err := <-pumped:
		if rc.Context.Err() != nil {
			return context.Cause(rc.Context)
		}
		// The CLI ended its side (io.EOF) or upstream refused a message:
		// close upstream and report how it ended.
		_ = ws.Close()
		select {
		case <-ws.Done():
		case <-rc.Context.Done():
			return context.Cause(rc.Context)
		}
		if err != io.EOF {
			return err
		}
		return ws.Err()
	case <-rc.Context.Done():
		return context.Cause(rc.Context)
	}
}

// wsResponseWriter sends whole messages; once the exchange ended they are
// dropped, as the CLI no longer reads them.
type wsResponseWriter struct{ x *inferenceExchange }

func (w *wsResponseWriter) SendText(data []byte) error { return w.x.message(string(data), false) }

func (w *wsResponseWriter) SendBinary(data []byte) error {
	return w.x.message(base64.StdEncoding.EncodeToString(data), true)
}

// CopilotWebSocketForwarder is the default CopilotWebSocketHandler: it dials
// URL and relays messages both ways. The hooks may observe, replace or (by
// returning nil) drop each message.
type CopilotWebSocketForwarder struct {
	URL     string
	Headers http.Header
	// OnSendRequestMessage sees each CLI → upstream message.
	OnSendRequestMessage func(msg CopilotWebSocketMessage) *CopilotWebSocketMessage
	// OnSendResponseMessage sees each upstream → CLI message.
	OnSendResponseMessage func(msg CopilotWebSocketMessage) *CopilotWebSocketMessage

	mu        sync.Mutex
	conn      *websocket.Conn
	done      chan struct{}
	err       error
	closeOnce sync.Once
}

// NewCopilotWebSocketForwarder makes a forwarder to url that sends headers
// in its handshake.
func NewCopilotWebSocketForwarder(url string, headers http.Header) *CopilotWebSocketForwarder {
	return &CopilotWebSocketForwarder{URL: url, Headers: headers, done: make(chan struct{})}
}

func (f *CopilotWebSocketForwarder) doneChan() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done == nil { // a forwarder made without the constructor
		f.done = make(chan struct{})
	}
	return f.done
}

// Open dials upstream and starts relaying its messages to resp.
func (f *CopilotWebSocketForwarder) Open(ctx context.Context, resp WebSocketResponseWriter) error {
	done := f.doneChan()
	header := http.Header{}
	for name, values := range f.Headers {
		if !skipRequestHeader(name) {
			for _, v := range values {
				header.Add(name, v)
			}
		}
	}
	conn, _, err := websocket.Dial(ctx, f.URL, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return err
	}
	conn.SetReadLimit(-1) // model events can be large; the CLI bounds them
	f.mu.Lock()
	f.conn = conn
	f.mu.Unlock()
	go f.relay(ctx, conn, resp, done)
	return nil
}

func (f *CopilotWebSocketForwarder) relay(ctx context.Context, conn *websocket.Conn, resp WebSocketResponseWriter, done chan struct{}) {
	var err error
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("CopilotWebSocketForwarder: OnSendResponseMessage panicked: %v", p)
			_ = conn.Close(websocket.StatusInternalError, "")
		}
		f.mu.Lock()
		f.err = err
		f.mu.Unlock()
		close(done)
	}()
	for {
		typ, data, rerr := conn.Read(ctx)
		if rerr != nil {
			switch websocket.CloseStatus(rerr) {
			case websocket.StatusNormalClosure, websocket.StatusGoingAway:
			default:
				if ctx.Err() == nil {
					err = rerr
				}
			}
			return
		}
		m := CopilotWebSocketMessage{Data: data, Binary: typ == websocket.MessageBinary}
		if f.OnSendResponseMessage != nil {
			out := f.OnSendResponseMessage(m)
			if out == nil {
				continue
			}
			m = *out
		}
		if m.Binary {
			err = resp.SendBinary(m.Data)
		} else {
			err = resp.SendText(m.Data)
		}
		if err != nil { // the CLI cannot take it: stop reading upstream
			_ = conn.Close(websocket.StatusGoingAway, "")
			return
		}
	}
}

// SendRequestMessage sends one message upstream.
func (f *CopilotWebSocketForwarder) SendRequestMessage(ctx context.Context, msg CopilotWebSocketMessage) error {
	if f.OnSendRequestMessage != nil {
		out := f.OnSendRequestMessage(msg)
		if out == nil {
			return nil
		}
		msg = *out
	}
	f.mu.Lock()
	conn := f.conn
	f.mu.Unlock()
	if conn == nil {
		return errors.New("CopilotWebSocketForwarder: not open")
	}
	typ := websocket.MessageText
	if msg.Binary {
		typ = websocket.MessageBinary
	}
	return conn.Write(ctx, typ, msg.Data)
}

// Done is closed when the upstream connection ended.
func (f *CopilotWebSocketForwarder) Done() <-chan struct{} { return f.doneChan() }

// Err is why the upstream connection ended; nil for a clean close.
func (f *CopilotWebSocketForwarder) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Close closes the upstream connection normally.
func (f *CopilotWebSocketForwarder) Close() error {
	f.mu.Lock()
	conn := f.conn
	f.mu.Unlock()
	if conn != nil {
		f.closeOnce.Do(func() { _ = conn.Close(websocket.StatusNormalClosure, "") })
	}
	return nil
}

// bodyQueue holds request body frames from the callback thread (which must
// never block) until the exchange's goroutine takes them.
type bodyQueue struct {
	mu     sync.Mutex
	frames []CopilotWebSocketMessage
	ended  bool
	err    error         // why the body is unusable, after ended
	wake   chan struct{} // capacity 1: a frame or the end arrived
}

func newBodyQueue() *bodyQueue { return &bodyQueue{wake: make(chan struct{}, 1)} }

func (q *bodyQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *bodyQueue) push(m CopilotWebSocketMessage) {
	q.mu.Lock()
	if !q.ended {
		q.frames = append(q.frames, m)
	}
	q.mu.Unlock()
	q.poke()
}

// end marks the body complete, or broken when err is not nil.
func (q *bodyQueue) end(err error) {
	q.mu.Lock()
	if !q.ended {
		q.ended, q.err = true, err
	}
	q.mu.Unlock()
	q.poke()
}

// next returns the next frame, io.EOF after the last, or why it cannot.
func (q *bodyQueue) next(ctx context.Context) (CopilotWebSocketMessage, error) {
	for {
		q.mu.Lock()
		if len(q.frames) > 0 {
			m := q.frames[0]
			q.frames[0] = CopilotWebSocketMessage{}
			q.frames = q.frames[1:]
			q.mu.Unlock()
			return m, nil
		}
		ended, err := q.ended, q.err
		q.mu.Unlock()
		if ended {
			if err == nil {
				err = io.EOF
			}
			return CopilotWebSocketMessage{}, err
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			return CopilotWebSocketMessage{}, context.Cause(ctx)
		}
	}
}

// inferenceExchange is one request the CLI handed over, and our answer.
type inferenceExchange struct {
	id     string
	ctx    context.Context
	cancel context.CancelCauseFunc
	body   *bodyQueue
	api    *rpc.ServerLlmInferenceAPI

	// mu is held across each send so the frames of one exchange reach the
	// CLI in order and nothing follows the end.
	mu       sync.Mutex
	started  bool
	finished bool
}

var errExchangeOver = errors.New("the exchange is over")

// start sends the response head.
func (x *inferenceExchange) start(status int, statusText string, header http.Header) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.started || x.finished {
		return errors.New("CopilotRequestHandler: response started twice")
	}
	return x.sendStart(status, statusText, header)
}

func (x *inferenceExchange) sendStart(status int, statusText string, header http.Header) error {
	x.started = true
	// The wire wants lowercased names.
	h := make(map[string][]string, len(header))
	for k, vs := range header {
		lk := strings.ToLower(k)
		h[lk] = append(h[lk], vs...)
	}
	req := &rpc.LlmInferenceHTTPResponseStartRequest{RequestID: x.id, Status: int64(status), Headers: h}
	if statusText != "" {
		req.StatusText = &statusText
	}
	_, err := x.api.HttpResponseStart(context.Background(), req)
	return err
}

func (x *inferenceExchange) sendChunk(data string, binary bool, end bool, e *rpc.LlmInferenceHTTPResponseChunkError) error {
	req := &rpc.LlmInferenceHTTPResponseChunkRequest{RequestID: x.id, Data: data, End: &end, Error: e}
	if binary {
		req.Binary = &binary
	}
	_, err := x.api.HttpResponseChunk(context.Background(), req)
	return err
}

// chunk sends one body chunk (data base64 when binary).
func (x *inferenceExchange) chunk(data string, binary bool) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.finished {
		return errExchangeOver
	}
	if !x.started {
		return errors.New("CopilotRequestHandler: body before the response head")
	}
	return x.sendChunk(data, binary, false, nil)
}

// message is chunk for a WebSocket writer: late messages are dropped.
func (x *inferenceExchange) message(data string, binary bool) error {
	if err := x.chunk(data, binary); err != errExchangeOver {
		return err
	}
	return nil
}

// end completes the response.
func (x *inferenceExchange) end() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.started {
		return x.failLocked("CopilotRequestHandler: finished without a response", "")
	}
	if x.finished {
		return nil
	}
	x.finished = true
	return x.sendChunk("", false, true, nil)
}

// fail ends the response with an error, after a 502 head (499 when
// cancelled) if none was sent yet.
func (x *inferenceExchange) fail(message, code string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.failLocked(message, code)
}

func (x *inferenceExchange) failLocked(message, code string) error {
	if x.finished {
		return nil
	}
	x.finished = true
	if !x.started {
		status := http.StatusBadGateway
		if code == "cancelled" {
			status = 499 // nginx's "client closed request", as the official SDK answers
		}
		if err := x.sendStart(status, "", nil); err != nil {
			return err
		}
	}
	e := &rpc.LlmInferenceHTTPResponseChunkError{Message: message}
	if code != "" {
		e.Code = &code
	}
	return x.sendChunk("", false, true, e)
}

// streamBody sends body as chunks. Text chunks never end inside a UTF-8
// character (its first bytes wait for the next read); bytes that are not
// UTF-8 at all go as binary, so nothing is mangled by the JSON encoding.
func (x *inferenceExchange) streamBody(body io.Reader) error {
	buf := make([]byte, 32<<10)
	var pending []byte
	flush := func(final bool) error {
		cut := len(pending)
		if !final {
			cut -= partialRuneTail(pending)
		}
		var err error
		if utf8.Valid(pending[:cut]) {
			if cut > 0 {
				err = x.chunk(string(pending[:cut]), false)
			}
		} else {
			cut = len(pending)
			err = x.chunk(base64.StdEncoding.EncodeToString(pending), true)
		}
		pending = append(pending[:0], pending[cut:]...)
		return err
	}
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			pending = append(pending, buf[:n]...)
			if err := flush(false); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			if len(pending) > 0 {
				if err := flush(true); err != nil {
					return err
				}
			}
			return x.end()
		}
		if rerr != nil {
			return rerr
		}
	}
}

// partialRuneTail is the length of an incomplete UTF-8 character ending b.
func partialRuneTail(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-(utf8.UTFMax-1); i-- {
		c := b[i]
		if c&0xC0 == 0x80 {
			continue // a continuation byte: look further back for its leader
		}
		if c >= 0xC0 && !utf8.FullRune(b[i:]) {
			return len(b) - i
		}
		return 0
	}
	return 0
}

// inferenceProvider answers the llmInference.* requests of one client.
// It must not reference the Client: its handle is a GC root for as long as
// the native client lives, and would keep Client's finalizer from running.
type inferenceProvider struct {
	handler *CopilotRequestHandler
	api     *rpc.ServerLlmInferenceAPI

	mu      sync.Mutex
	pending map[string]*inferenceExchange
	closed  error // set by Close: later exchanges are cancelled at once
}

// inferenceRequests makes the handler of the llmInference requests for c
// and gives c the means to cancel them (Client.cancelInference).
func inferenceRequests(c *Client, h *CopilotRequestHandler) inlineRequestHandler {
	p := &inferenceProvider{handler: h, api: c.RPC.LlmInference, pending: map[string]*inferenceExchange{}}
	c.inference = p
	return p.serve
}

// serve runs on the callback thread: it only records and acknowledges; the
// exchange's own goroutine does the rest.
func (p *inferenceProvider) serve(kind string, raw json.RawMessage) (any, error) {
	switch kind {
	case "llmInference.httpRequestStart":
		var r rpc.LlmInferenceHTTPRequestStartRequest
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		if err := p.open(&r); err != nil {
			return nil, err
		}
	case "llmInference.httpRequestChunk":
		var r rpc.LlmInferenceHTTPRequestChunkRequest
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		p.chunk(&r)
	default:
		return nil, fmt.Errorf("unsupported request %s", kind)
	}
	return map[string]any{}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (p *inferenceProvider) open(r *rpc.LlmInferenceHTTPRequestStartRequest) error {
	ctx, cancel := context.WithCancelCause(context.Background())
	x := &inferenceExchange{id: r.RequestID, ctx: ctx, cancel: cancel, body: newBodyQueue(), api: p.api}
	p.mu.Lock()
	if _, dup := p.pending[r.RequestID]; dup {
		p.mu.Unlock()
		cancel(nil)
		return fmt.Errorf("request %s is already in flight", r.RequestID)
	}
	p.pending[r.RequestID] = x
	if p.closed != nil {
		cancel(p.closed)
	}
	p.mu.Unlock()

	transport := "http"
	if r.Transport != nil && *r.Transport != "" {
		transport = string(*r.Transport)
	}
	headers := make(http.Header, len(r.Headers))
	for k, vs := range r.Headers {
		for _, v := range vs {
			headers.Add(k, v)
		}
	}
	rc := &CopilotRequestContext{
		RequestID:         r.RequestID,
		SessionID:         deref(r.SessionID),
		AgentID:           deref(r.AgentID),
		ParentAgentID:     deref(r.ParentAgentID),
		InteractionType:   deref(r.InteractionType),
		AgentInvocationID: deref(r.AgentInvocationID),
		Transport:         transport,
		Method:            r.Method,
		URL:               r.URL,
		Headers:           headers,
		Context:           ctx,
		body:              x.body,
	}
	go p.run(rc, x)
	return nil
}

// chunk routes a body chunk. The library delivers requests in wire order,
// so a chunk of an unknown id is late (its exchange already answered) and
// is dropped.
func (p *inferenceProvider) chunk(r *rpc.LlmInferenceHTTPRequestChunkRequest) {
	p.mu.Lock()
	x := p.pending[r.RequestID]
	p.mu.Unlock()
	if x == nil {
		return
	}
	if r.Cancel != nil && *r.Cancel {
		why := "request cancelled by the runtime"
		if r.CancelReason != nil && *r.CancelReason != "" {
			why += ": " + *r.CancelReason
		}
		x.cancel(errors.New(why))
		x.body.end(nil)
		return
	}
	if r.Data != "" {
		binary := r.Binary != nil && *r.Binary
		data := []byte(r.Data)
		if binary {
			var err error
			if data, err = base64.StdEncoding.DecodeString(r.Data); err != nil {
				x.body.end(fmt.Errorf("request body chunk is not base64: %w", err))
				return
			}
		}
		x.body.push(CopilotWebSocketMessage{Data: data, Binary: binary})
	}
	if r.End != nil && *r.End {
		x.body.end(nil)
	}
}

func (p *inferenceProvider) run(rc *CopilotRequestContext, x *inferenceExchange) {
	defer func() {
		p.mu.Lock()
		if p.pending[x.id] == x {
			delete(p.pending, x.id)
		}
		p.mu.Unlock()
		x.cancel(errExchangeOver) // frees the context; a no-op for the answered request
	}()
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("CopilotRequestHandler panicked: %v", v)
			}
		}()
		if rc.Transport == "websocket" {
			return p.handler.serveWebSocket(rc, x)
		}
		return p.handler.serveHTTP(rc, x)
	}()
	switch {
	case x.ctx.Err() != nil:
		_ = x.fail(context.Cause(x.ctx).Error(), "cancelled")
	case err != nil:
		_ = x.fail(err.Error(), "")
	default:
		_ = x.end()
	}
}

// cancelAll cancels the exchanges in flight; with final, later ones too.
func (p *inferenceProvider) cancelAll(why error, final bool) {
	p.mu.Lock()
	if final {
		p.closed = why
	}
	xs := make([]*inferenceExchange, 0, len(p.pending))
	for _, x := range p.pending {
		xs = append(xs, x)
	}
	p.mu.Unlock()
	for _, x := range xs {
		x.cancel(why)
	}
}

// watch cancels the exchanges of a connection that went away (a CLI that
// died and is being restarted, a stop): that CLI reads no answer anymore.
// State changes come on the callback thread in order with the requests, so
// the exchanges of the next connection are never hit.
func (p *inferenceProvider) watch(client *C.copilot_client) error {
	h := handleOf(stateHandler(func(state ClientState, _ string) {
		if state != StateConnected && state != StateConnecting {
			p.cancelAll(errors.New("the connection to the CLI was lost"), false)
		}
	}))
	var cerr *C.copilot_error
	if err := errorFrom(C.client_on_state(client, h, &cerr), cerr); err != nil {
		deleteHandle(h)
		return err
	}
	return nil
}

var (
	errClientClosed  = errors.New("the client was closed")
	errClientStopped = errors.New("the client was stopped")
)

// cancelInference cancels the exchanges of a client whose CLI is going
// away; after Close (final) also any that still arrive.
func (c *Client) cancelInference(why error, final bool) {
	if c.inference != nil {
		c.inference.cancelAll(why, final)
	}
}
