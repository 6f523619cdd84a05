// The official Go SDK's (github.com/github/copilot-sdk/go) row of
// benches/sdk_only.py: one turn against benches/peer over TCP (a
// URIConnection), events counted by a session.On handler, tool calls answered
// by a tool handler (the peer times those).
//
//	official_go_sdkbench HOST:PORT EXPECTED_EVENTS
//
// Prints: go: events=N seconds=S events_per_s=X
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	copilot "github.com/github/copilot-sdk/go"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: official_go_sdkbench HOST:PORT|stdio:PEER_PATH EXPECTED_EVENTS")
		os.Exit(2)
	}
	expected, err := strconv.ParseInt(os.Args[2], 10, 64)
	check(err)
	ctx := context.Background()
	// HOST:PORT, or stdio:PATH: the peer spawned as the SDK's CLI.
	var conn copilot.RuntimeConnection = copilot.URIConnection{URL: os.Args[1]}
	if path, ok := strings.CutPrefix(os.Args[1], "stdio:"); ok {
		conn = copilot.StdioConnection{Path: path}
	}
	client := copilot.NewClient(&copilot.ClientOptions{Connection: conn})
	check(client.Start(ctx))
	session, err := client.CreateSession(ctx, &copilot.SessionConfig{
		OnPermissionRequest: copilot.PermissionHandler.ApproveAll,
		Tools: []copilot.Tool{{
			Name:        "bench",
			Description: "benchmark tool",
			Handler: func(copilot.ToolInvocation) (copilot.ToolResult, error) {
				return copilot.ToolResult{TextResultForLLM: "ok"}, nil
			},
		}},
	})
	check(err)
	// Handlers run one at a time on the session's event goroutine, in arrival
	// order, and session.idle (which ends SendAndWait) comes after every delta:
	// a plain counter is exact once SendAndWait returns.
	var deltas int64
	session.On(func(event copilot.SessionEvent) {
		if event.Type() == copilot.SessionEventTypeAssistantMessageDelta {
			deltas++
		}
	})
	turnCtx, cancel := context.WithTimeout(ctx, 600*time.Second)
	started := time.Now()
	_, err = session.SendAndWait(turnCtx, copilot.MessageOptions{Prompt: "go"})
	seconds := time.Since(started).Seconds()
	cancel()
	check(err)
	fmt.Printf("go: events=%d seconds=%.3f events_per_s=%.0f\n", deltas, seconds, float64(deltas)/seconds)
	// With a URIConnection, Stop closes the socket before the SDK's read loop
	// knows it is stopping, and the loop prints "Error reading message: ...
	// use of closed network connection" on stdout, after the line above.
	if err := client.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "official_go_sdkbench: stop:", err)
	}
	if deltas != expected {
		os.Exit(1)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "official_go_sdkbench:", err)
		os.Exit(1)
	}
}
