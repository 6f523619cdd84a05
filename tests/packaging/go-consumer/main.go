// A program that uses the Go wrapper as any other module would: go-consumer.sh
// copies it into a module created outside the repository, builds it against
// the installed libcopilot (pkg-config) and runs one offline turn against the
// installed copilot-replay serving examples/conversations/demo.yaml, whose
// OpenAI-compatible URL is in COPILOT_PROVIDER_URL.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	copilot "github.com/libcopilot/libcopilot/bindings/go"
)

type weatherArgs struct {
	City string `json:"city"`
}

func main() {
	url := os.Getenv("COPILOT_PROVIDER_URL")
	if url == "" {
		log.Fatal("COPILOT_PROVIDER_URL is not set (copilot-replay's URL followed by /v1)")
	}
	noLogin := false
	client := copilot.NewClient(&copilot.ClientOptions{UseLoggedInUser: &noLogin})
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	session, err := client.CreateSession(ctx, &copilot.SessionConfig{
		Model:     "claude-sonnet-4.5",
		Provider:  &copilot.ProviderConfig{Type: "openai", BaseURL: url, APIKey: "offline", WireAPI: "completions"},
		Streaming: copilot.Bool(true),
		Tools: []copilot.Tool{copilot.DefineTool("get_weather", "Current weather for a city",
			func(a weatherArgs, _ copilot.ToolInvocation) (string, error) { return "18C and sunny", nil })},
		OnPermissionRequest: copilot.PermissionHandler.ApproveAll,
		OnEvent: func(e copilot.SessionEvent) {
			switch d := e.Data.(type) {
			case *copilot.AssistantMessageDeltaData:
				fmt.Print(d.DeltaContent)
			case *copilot.ToolExecutionStartData:
				fmt.Printf("\n[tool call] %s %v\n", d.ToolName, d.Arguments)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	answer, err := session.SendAndWait(ctx, copilot.MessageOptions{Prompt: "What's the weather like in Paris today? Use the get_weather tool."})
	if err != nil {
		log.Fatal(err)
	}
	m, ok := answer.Data.(*copilot.AssistantMessageData)
	if !ok {
		log.Fatal("no assistant message")
	}
	fmt.Printf("\n[final answer] %s\n", m.Content)
	_ = session.Disconnect()
	if err := client.Stop(); err != nil {
		log.Fatal(err)
	}
}
