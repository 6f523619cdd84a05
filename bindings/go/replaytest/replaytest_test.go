package replaytest_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/libcopilot/libcopilot/bindings/go/replaytest"
)

var repoRoot, _ = filepath.Abs("../../..")

// start serves tests/conversations/weather_tool.yaml with the repository's
// build of copilot-replay (unless $COPILOT_REPLAY_PATH names another).
func start(t *testing.T) *replaytest.Server {
	opts := replaytest.Options{}
	if os.Getenv("COPILOT_REPLAY_PATH") == "" {
		opts.Binary = filepath.Join(repoRoot, "target/debug/copilot-replay")
		if _, err := os.Stat(opts.Binary); err != nil {
			t.Fatalf("%s missing: run `cargo build -p copilot-replay`", opts.Binary)
		}
	}
	return replaytest.StartWith(t, opts, filepath.Join(repoRoot, "tests/conversations/weather_tool.yaml"))
}

const paris = "What is the weather in Paris? Use the get_weather tool."

func TestRequestsShowWhatTheModelWasSent(t *testing.T) {
	replay := start(t)
	if got := replay.Requests(); len(got) != 0 {
		t.Fatalf("requests before any: %v", got)
	}
	body := `{"model":"claude-sonnet-4.5","messages":[{"role":"system","content":"be brief"},` +
		`{"role":"user","content":[{"type":"text","text":"` + paris + `"}]}],` +
		`"tools":[{"type":"function","function":{"name":"get_weather"}}]}`
	resp, err := http.Post(replay.URL()+"/chat/completions", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}

	got := replay.Requests()
	if len(got) != 1 || got[0].Method != "POST" || got[0].Path != "/v1/chat/completions" {
		t.Fatalf("requests %+v", got)
	}
	m := got[0].Messages()
	if len(m) != 2 || m[0].Role != "system" || m[0].Text() != "be brief" || m[1].Text() != paris {
		t.Fatalf("messages %+v", m)
	}
	if names := got[0].ToolNames(); len(names) != 1 || names[0] != "get_weather" {
		t.Fatalf("tools %v", names)
	}
	if replay.RootURL()+"/v1" != replay.URL() {
		t.Fatalf("root %s, url %s", replay.RootURL(), replay.URL())
	}
}

func TestCloseStopsTheServer(t *testing.T) {
	replay := start(t)
	replay.Close()
	if resp, err := http.Get(replay.RootURL() + "/_replay/requests"); err == nil {
		resp.Body.Close()
		t.Fatal("still answering after Close")
	}
	replay.Close() // idempotent
}
