// The official Go SDK's (github.com/github/copilot-sdk/go) row of
// benches/e2e.py: the same steps as benches/c/e2e_bench.c, against the real
// CLI (spawned by the SDK over stdio) and copilot-replay.
//
//	official_go_e2e CLI_PATH SESSION_JSON REPEATS CONCURRENT
//
// Prints one JSON line: start_ms, create_ms, plain_ms[], tool_ms[],
// concurrent_s, concurrent_ms[].
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	copilot "github.com/github/copilot-sdk/go"
)

const (
	plainPrompt = "What is the capital of France?"
	toolPrompt  = "What is the weather in Paris? Use the get_weather tool."
)

// The fields of benches/e2e.py's session JSON that every row uses.
type sessionJSON struct {
	Model            string `json:"model"`
	WorkingDirectory string `json:"workingDirectory"`
	Provider         struct {
		Type    string `json:"type"`
		BaseURL string `json:"baseUrl"`
		APIKey  string `json:"apiKey"`
		WireAPI string `json:"wireApi"`
	} `json:"provider"`
}

// A fresh config per session, as the other rows build one per create.
func config(base *sessionJSON) *copilot.SessionConfig {
	return &copilot.SessionConfig{
		Model:            base.Model,
		WorkingDirectory: base.WorkingDirectory,
		Provider: &copilot.ProviderConfig{
			Type:    base.Provider.Type,
			BaseURL: base.Provider.BaseURL,
			APIKey:  base.Provider.APIKey,
			WireAPI: base.Provider.WireAPI,
		},
		OnPermissionRequest: copilot.PermissionHandler.ApproveAll,
		Tools: []copilot.Tool{{
			Name:        "get_weather",
			Description: "Current weather for a city",
			Parameters: map[string]any{
				"type":       "object",
				"properties": map[string]any{"city": map[string]any{"type": "string"}},
				"required":   []string{"city"},
			},
			Handler: func(copilot.ToolInvocation) (copilot.ToolResult, error) {
				return copilot.ToolResult{TextResultForLLM: "18C and sunny"}, nil
			},
		}},
	}
}

func ms(since time.Time) float64 {
	return float64(time.Since(since).Nanoseconds()) / 1e6
}

// One turn, send to session.idle, in milliseconds.
func turn(session *copilot.Session, prompt string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	t0 := time.Now()
	if _, err := session.SendAndWait(ctx, copilot.MessageOptions{Prompt: prompt}); err != nil {
		return 0, err
	}
	return ms(t0), nil
}

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: official_go_e2e CLI_PATH SESSION_JSON REPEATS CONCURRENT")
		os.Exit(2)
	}
	var base sessionJSON
	check(json.Unmarshal([]byte(os.Args[2]), &base))
	repeats, err := strconv.Atoi(os.Args[3])
	check(err)
	concurrent, err := strconv.Atoi(os.Args[4])
	check(err)
	ctx := context.Background()

	t0 := time.Now()
	client := copilot.NewClient(&copilot.ClientOptions{
		Connection:      copilot.StdioConnection{Path: os.Args[1]},
		UseLoggedInUser: copilot.Bool(false),
	})
	check(client.Start(ctx))
	startMs := ms(t0)
	t0 = time.Now()
	first, err := client.CreateSession(ctx, config(&base))
	check(err)
	createMs := ms(t0)
	_, err = turn(first, plainPrompt)
	check(err)

	fresh := func(prompt string) float64 {
		session, err := client.CreateSession(ctx, config(&base))
		check(err)
		took, err := turn(session, prompt)
		check(err)
		return took
	}
	plainMs, toolMs := []float64{}, []float64{}
	for i := 0; i < repeats; i++ {
		plainMs = append(plainMs, fresh(plainPrompt))
		toolMs = append(toolMs, fresh(toolPrompt))
	}

	sessions := make([]*copilot.Session, concurrent)
	for i := range sessions {
		sessions[i], err = client.CreateSession(ctx, config(&base))
		check(err)
	}
	concurrentMs := make([]float64, concurrent)
	errs := make([]error, concurrent)
	var wg sync.WaitGroup
	t0 = time.Now()
	for i, session := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			concurrentMs[i], errs[i] = turn(session, toolPrompt)
		}()
	}
	wg.Wait()
	concurrentS := time.Since(t0).Seconds()
	for _, err := range errs {
		check(err)
	}

	line, err := json.Marshal(map[string]any{
		"start_ms": startMs, "create_ms": createMs, "plain_ms": plainMs, "tool_ms": toolMs,
		"concurrent_s": concurrentS, "concurrent_ms": concurrentMs,
	})
	check(err)
	// The SDK's read loop reports some connection errors with fmt.Printf, on
	// stdout; stopping first keeps the JSON line last, where e2e.py reads it.
	if err := client.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "official_go_e2e: stop:", err)
	}
	fmt.Println(string(line))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "official_go_e2e:", err)
		os.Exit(1)
	}
}
