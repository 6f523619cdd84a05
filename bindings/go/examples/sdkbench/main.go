// Command sdkbench is the Go row of benches/run.sh: one turn against a
// benches/peer instance (a synthetic CLI), counting events into a Go handler
// and answering tool calls from a Go handler. The peer times the round trips.
//
//	go run -tags copilotdev ./examples/sdkbench HOST:PORT|stdio:PEER_PATH EXPECTED_EVENTS
//
// stdio:PEER_PATH spawns the peer as the client's CLI.
//
// Prints: go: events=N seconds=S events_per_s=X
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	copilot "github.com/libcopilot/libcopilot/bindings/go"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: sdkbench HOST:PORT EXPECTED_EVENTS")
		os.Exit(2)
	}
	expected, _ := strconv.ParseInt(os.Args[2], 10, 64)
	client := copilot.NewClient(&copilot.ClientOptions{Connection: connection(os.Args[1])})
	defer client.Close()
	var deltas atomic.Int64
	session, err := client.CreateSession(context.Background(), &copilot.SessionConfig{
		OnEvent: func(e copilot.SessionEvent) {
			if e.Type() == copilot.SessionEventTypeAssistantMessageDelta {
				deltas.Add(1)
			}
		},
		Tools: []copilot.Tool{{Name: "bench", Description: "benchmark tool",
			Handler: func(copilot.ToolInvocation) (copilot.ToolResult, error) {
				return copilot.ToolResult{TextResultForLLM: "ok"}, nil
			}}},
		OnPermissionRequest: copilot.PermissionHandler.ApproveAll,
	})
	if err != nil {
		fail(err)
	}
	start := time.Now()
	if _, err := session.SendAndWait(context.Background(), copilot.MessageOptions{Prompt: "go"}); err != nil {
		fail(err)
	}
	seconds := time.Since(start).Seconds()
	got := deltas.Load()
	fmt.Printf("go: events=%d seconds=%.3f events_per_s=%.0f\n", got, seconds, float64(got)/seconds)
	_ = client.Stop()
	if got != expected {
		fmt.Fprintf(os.Stderr, "sdkbench: delivered %d of %d events\n", got, expected)
		os.Exit(1)
	}
}

// connection is HOST:PORT (a server to connect to) or stdio:PATH (a CLI to spawn).
func connection(address string) copilot.RuntimeConnection {
	if path, ok := strings.CutPrefix(address, "stdio:"); ok {
		return copilot.StdioConnection{Path: path}
	}
	return copilot.URIConnection{URL: address}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sdkbench:", err)
	os.Exit(1)
}
