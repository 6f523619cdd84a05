// Command chat is the Go version of the libcopilot demo: a session with one
// custom tool, streamed text, the tool call and the final answer.
//
// Offline by default: it starts copilot-replay (target/debug/copilot-replay)
// with examples/conversations/demo.yaml. With COPILOT_GITHUB_TOKEN set it talks
// to GitHub Copilot; with COPILOT_PROVIDER_URL to that OpenAI-compatible endpoint.
//
//	cargo build -p copilot -p copilot-replay && cd bindings/go && go run -tags copilotdev ./examples/chat
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	copilot "github.com/libcopilot/libcopilot/bindings/go"
)

type weatherArgs struct {
	City string `json:"city" jsonschema:"the city to look up"`
}

// startReplay runs the offline model server and returns its provider URL.
func startReplay(root string) (string, func()) {
	cmd := exec.Command(filepath.Join(root, "target/debug/copilot-replay"),
		filepath.Join(root, "examples/conversations/demo.yaml"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatalf("start copilot-replay (cargo build -p copilot-replay): %v", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		log.Fatalf("copilot-replay: %v", err)
	}
	url := strings.TrimSpace(strings.TrimPrefix(line, "copilot-replay listening on ")) + "/v1"
	return url, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
}

func main() {
	root, _ := filepath.Abs("../..")
	if _, err := os.Stat(filepath.Join(root, "Cargo.toml")); err != nil {
		root, _ = filepath.Abs("../../../..") // run from examples/chat
	}
	opts := &copilot.ClientOptions{}
	cfg := &copilot.SessionConfig{Streaming: copilot.Bool(true)}
	if token := os.Getenv("COPILOT_GITHUB_TOKEN"); token != "" {
		opts.GitHubToken = token
	} else {
		no := false
		opts.UseLoggedInUser = &no
		url := os.Getenv("COPILOT_PROVIDER_URL")
		if url == "" {
			var stop func()
			url, stop = startReplay(root)
			defer stop()
		}
		cfg.Model = "claude-sonnet-4.5"
		cfg.Provider = &copilot.ProviderConfig{Type: "openai", BaseURL: url, APIKey: "offline", WireAPI: "completions"}
	}

	cfg.Tools = []copilot.Tool{copilot.DefineTool("get_weather", "Current weather for a city",
		func(a weatherArgs, _ copilot.ToolInvocation) (string, error) { return "18C and sunny", nil })}
	cfg.OnPermissionRequest = copilot.PermissionHandler.ApproveAll
	cfg.OnEvent = func(e copilot.SessionEvent) {
		switch d := e.Data.(type) {
		case *copilot.AssistantMessageDeltaData:
			fmt.Print(d.DeltaContent)
		case *copilot.ToolExecutionStartData:
			args, _ := json.Marshal(d.Arguments)
			fmt.Printf("\n[tool call] %s %s\n", d.ToolName, args)
		case *copilot.ToolExecutionCompleteData:
			if d.Result != nil {
				fmt.Printf("[tool result] %s\n", d.Result.Content)
			}
		}
	}

	client := copilot.NewClient(opts)
	defer client.Close()
	ctx := context.Background()
	session, err := client.CreateSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	prompt := "What's the weather like in Paris today? Use the get_weather tool."
	fmt.Println(">", prompt)
	answer, err := session.SendAndWait(ctx, copilot.MessageOptions{Prompt: prompt})
	if err != nil {
		log.Fatal(err)
	}
	if m, ok := answer.Data.(*copilot.AssistantMessageData); ok {
		fmt.Printf("\n\n[final answer] %s\n", m.Content)
	}
	_ = session.Disconnect()
	if err := client.Stop(); err != nil {
		log.Fatal(err)
	}
}
