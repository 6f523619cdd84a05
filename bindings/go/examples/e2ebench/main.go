// Command e2ebench is the Go wrapper's row of benches/e2e.py: the same steps
// as benches/c/e2e_bench.c against the real CLI and copilot-replay.
//
//	go run -tags copilotdev ./examples/e2ebench CLI_PATH SESSION_JSON REPEATS CONCURRENT
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	copilot "github.com/libcopilot/libcopilot/bindings/go"
)

const (
	plainPrompt = "What is the capital of France?"
	toolPrompt  = "What is the weather in Paris? Use the get_weather tool."
)

func main() {
	var base struct {
		Model            string                 `json:"model"`
		WorkingDirectory string                 `json:"workingDirectory"`
		Provider         copilot.ProviderConfig `json:"provider"`
	}
	if err := json.Unmarshal([]byte(os.Args[2]), &base); err != nil {
		fail(err)
	}
	repeats, _ := strconv.Atoi(os.Args[3])
	concurrent, _ := strconv.Atoi(os.Args[4])
	ctx := context.Background()
	t0 := time.Now() // (a) covers creating the client too
	no := false
	c := copilot.NewClient(&copilot.ClientOptions{Connection: copilot.StdioConnection{Path: os.Args[1]}, UseLoggedInUser: &no})
	config := func() *copilot.SessionConfig {
		provider := base.Provider
		return &copilot.SessionConfig{
			Model: base.Model, WorkingDirectory: base.WorkingDirectory, Provider: &provider,
			Tools: []copilot.Tool{copilot.DefineTool("get_weather", "Current weather for a city",
				func(a struct {
					City string `json:"city"`
				}, _ copilot.ToolInvocation) (string, error) {
					return "18C and sunny", nil
				})},
			OnPermissionRequest: copilot.PermissionHandler.ApproveAll,
		}
	}
	session := func() *copilot.Session {
		s, err := c.CreateSession(ctx, config())
		if err != nil {
			fail(err)
		}
		return s
	}
	turn := func(s *copilot.Session, prompt string) float64 {
		t0 := time.Now()
		if _, err := s.SendAndWait(ctx, copilot.MessageOptions{Prompt: prompt}); err != nil {
			fail(err)
		}
		return ms(t0)
	}

	if err := c.Start(ctx); err != nil {
		fail(err)
	}
	startMs := ms(t0)
	t0 = time.Now()
	first := session()
	createMs := ms(t0)
	turn(first, plainPrompt)
	var plain, tool []float64
	for i := 0; i < repeats; i++ {
		plain = append(plain, turn(session(), plainPrompt))
		tool = append(tool, turn(session(), toolPrompt))
	}
	sessions := make([]*copilot.Session, concurrent)
	for i := range sessions {
		sessions[i] = session()
	}
	conc := make([]float64, concurrent)
	var wg sync.WaitGroup
	t0 = time.Now()
	for i, s := range sessions {
		wg.Add(1)
		go func(i int, s *copilot.Session) {
			defer wg.Done()
			conc[i] = turn(s, toolPrompt)
		}(i, s)
	}
	wg.Wait()
	concurrentS := time.Since(t0).Seconds()
	out, _ := json.Marshal(map[string]any{"start_ms": startMs, "create_ms": createMs, "plain_ms": plain,
		"tool_ms": tool, "concurrent_s": concurrentS, "concurrent_ms": conc})
	fmt.Println(string(out))
	_ = c.Stop()
	c.Close()
}

func ms(t0 time.Time) float64 { return float64(time.Since(t0).Microseconds()) / 1e3 }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "e2ebench:", err)
	os.Exit(1)
}
