package copilot

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakePeer speaks just enough of the CLI's protocol over TCP for the
// benchmarks: on session.send it floods `events` assistant.message_delta
// events, then runs `toolCalls` sequential external_tool.requested round
// trips, then session.idle. It measures each tool round trip.
type fakePeer struct {
	ln        net.Listener
	events    int
	toolCalls int
	mu        sync.Mutex
	rtts      []time.Duration
}

func startFakePeer(tb testing.TB, events, toolCalls int) *fakePeer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &fakePeer{ln: ln, events: events, toolCalls: toolCalls}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	tb.Cleanup(func() { ln.Close() })
	return p
}

func (p *fakePeer) serve(c net.Conn) {
	defer c.Close()
	var wmu sync.Mutex
	write := func(v any) {
		body, _ := json.Marshal(v)
		frame := append([]byte(fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))), body...)
		wmu.Lock()
		_, _ = c.Write(frame)
		wmu.Unlock()
	}
	answered := make(chan struct{}, 1)
	r := textproto.NewReader(bufio.NewReaderSize(c, 1<<16))
	for {
		hdr, err := r.ReadMIMEHeader()
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(hdr.Get("Content-Length"))
		body := make([]byte, n)
		if _, err := io.ReadFull(r.R, body); err != nil {
			return
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params map[string]any  `json:"params"`
		}
		_ = json.Unmarshal(body, &msg)
		reply := func(result any) { write(map[string]any{"jsonrpc": "2.0", "id": msg.ID, "result": result}) }
		switch msg.Method {
		case "connect":
			reply(map[string]any{"ok": true, "protocolVersion": 3, "version": "fake"})
		case "session.create", "session.resume":
			reply(map[string]any{"sessionId": msg.Params["sessionId"]})
		case "session.send":
			reply(map[string]any{"messageId": "m1"})
			go p.turn(msg.Params["sessionId"].(string), write, answered)
		case "session.tools.handlePendingToolCall":
			reply(map[string]any{"success": true})
			answered <- struct{}{}
		default:
			reply(map[string]any{})
		}
	}
}

func (p *fakePeer) turn(session string, write func(any), answered chan struct{}) {
	event := func(typ string, data map[string]any) {
		write(map[string]any{"jsonrpc": "2.0", "method": "session.event", "params": map[string]any{
			"sessionId": session,
			"event":     map[string]any{"id": "e", "timestamp": "2026-01-01T00:00:00Z", "type": typ, "data": data},
		}})
	}
	for i := 0; i < p.events; i++ {
		event("assistant.message_delta", map[string]any{"messageId": "a1", "deltaContent": "0123456789012345678901234567890123456789"})
	}
	for i := 0; i < p.toolCalls; i++ {
		start := time.Now()
		event("external_tool.requested", map[string]any{
			"requestId": strconv.Itoa(i), "toolCallId": "t" + strconv.Itoa(i), "toolName": "bench", "arguments": map[string]any{},
		})
		<-answered
		p.mu.Lock()
		p.rtts = append(p.rtts, time.Since(start))
		p.mu.Unlock()
	}
	event("user.message", map[string]any{"messageId": "m1", "content": "go"})
	event("assistant.message", map[string]any{"messageId": "a1", "originatingMessageId": "m1", "content": "done"})
	event("session.idle", map[string]any{})
}

func benchClient(b *testing.B, p *fakePeer) *Client {
	c := NewClient(&ClientOptions{CLIUrl: p.ln.Addr().String()})
	b.Cleanup(func() { _ = c.Stop(); c.Close() })
	return c
}

// BenchmarkEventsIntoGoCallback: b.N events delivered to a Go OnEvent handler.
func BenchmarkEventsIntoGoCallback(b *testing.B) {
	p := startFakePeer(b, b.N, 0)
	var got atomic.Int64
	s, err := benchClient(b, p).CreateSession(context.Background(), &SessionConfig{
		OnEvent: func(e SessionEvent) {
			if e.Type() == SessionEventTypeAssistantMessageDelta {
				got.Add(1)
			}
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if _, err := s.SendAndWait(context.Background(), MessageOptions{Prompt: "go"}); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if got.Load() != int64(b.N) {
		b.Fatalf("delivered %d of %d events", got.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// BenchmarkToolRoundTrip: b.N sequential tool calls answered by a Go handler,
// timed at the peer from event written to result read.
func BenchmarkToolRoundTrip(b *testing.B) {
	p := startFakePeer(b, 0, b.N)
	tool := Tool{Name: "bench", Handler: func(ToolInvocation) (ToolResult, error) { return ToolResult{TextResultForLLM: "ok"}, nil }}
	s, err := benchClient(b, p).CreateSession(context.Background(), &SessionConfig{
		Tools: []Tool{tool}, OnPermissionRequest: PermissionHandler.ApproveAll,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if _, err := s.SendAndWait(context.Background(), MessageOptions{Prompt: "go"}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.rtts) != b.N {
		b.Fatalf("%d of %d round trips", len(p.rtts), b.N)
	}
	sort.Slice(p.rtts, func(i, j int) bool { return p.rtts[i] < p.rtts[j] })
	b.ReportMetric(float64(p.rtts[len(p.rtts)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(p.rtts[len(p.rtts)*99/100].Microseconds()), "p99-µs")
}

// deltaEvent is an assistant.message_delta as the CLI streams it.
var deltaEvent = []byte(`{"type":"assistant.message_delta","data":{"messageId":"a1","deltaContent":"0123456789012345678901234567890123456789"},"id":"00000000-0000-4000-8000-000000000000","timestamp":"2026-01-01T00:00:00.000Z","parentId":null,"ephemeral":true}`)

// BenchmarkDecodeEvent: one event decoded as a handler receives it, by the
// fast path (the library named its type) and by the general path.
func BenchmarkDecodeEvent(b *testing.B) {
	b.Run("typed-one-pass", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, ok := parseEventOfType(SessionEventTypeAssistantMessageDelta, deltaEvent).Data.(*AssistantMessageDeltaData); !ok {
				b.Fatal("not typed")
			}
		}
	})
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, ok := parseEvent(deltaEvent).Data.(*AssistantMessageDeltaData); !ok {
				b.Fatal("not typed")
			}
		}
	})
}
