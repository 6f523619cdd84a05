package copilot

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// pinnedSchema reads the CLI's session-events.schema.json from the shared
// unpacked-CLI cache, the file the generated types came from.
func pinnedSchema(t *testing.T) map[string]any {
	t.Helper()
	cache := os.Getenv("COPILOT_TEST_CACHE")
	if cache == "" {
		cache = filepath.Join(repoRoot, "target/copilot-cache")
	}
	matches, _ := filepath.Glob(filepath.Join(cache, "copilot/pkg/*/*/schemas/session-events.schema.json"))
	if len(matches) != 1 {
		t.Fatalf("want one unpacked CLI's session-events.schema.json under %s, found %v", cache, matches)
	}
	raw, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	return schema
}

// Every event type of the pinned schema has a constant and decodes to its
// own struct, not to the raw fallback.
func TestGeneratedEventTypesCoverThePinnedSchema(t *testing.T) {
	defs := pinnedSchema(t)["definitions"].(map[string]any)
	known := map[rpc.SessionEventType]bool{}
	for _, typ := range rpc.SessionEventTypes {
		known[typ] = true
	}
	variants := defs["SessionEvent"].(map[string]any)["anyOf"].([]any)
	for _, v := range variants {
		ref := v.(map[string]any)["$ref"].(string)
		def := defs[filepath.Base(ref)].(map[string]any)
		typ := rpc.SessionEventType(def["properties"].(map[string]any)["type"].(map[string]any)["const"].(string))
		if !known[typ] {
			t.Errorf("%s: no SessionEventType constant", typ)
			continue
		}
		data := rpc.DecodeSessionEventData(typ, json.RawMessage(`{}`))
		if _, raw := data.(rpc.RawSessionEventData); raw {
			t.Errorf("%s: decoded to RawSessionEventData", typ)
		} else if data.Type() != typ {
			t.Errorf("%s: data reports type %s", typ, data.Type())
		}
	}
	if len(variants) != len(rpc.SessionEventTypes) {
		t.Errorf("schema has %d event types, generated code %d", len(variants), len(rpc.SessionEventTypes))
	}
}

// A new event type, or data that does not match the schema, is kept whole.
func TestUnknownAndMismatchedEventsArriveRaw(t *testing.T) {
	ev := parseEvent([]byte(`{"id":"1","timestamp":"2026-01-01T00:00:00Z","parentId":null,"type":"future.kind","data":{"x":1}}`))
	raw, ok := ev.Data.(RawSessionEventData)
	if !ok || ev.Type() != "future.kind" || string(raw.Raw) != `{"x":1}` {
		t.Fatalf("unknown type: %#v", ev.Data)
	}
	ev = parseEvent([]byte(`{"id":"2","timestamp":"2026-01-01T00:00:00Z","parentId":null,"type":"assistant.message","data":{"content":42}}`))
	if raw, ok := ev.Data.(RawSessionEventData); !ok || string(raw.Raw) != `{"content":42}` || ev.Type() != SessionEventTypeAssistantMessage {
		t.Fatalf("mismatched data: %#v", ev.Data)
	}
	ev = parseEvent([]byte(`not json`))
	if string(ev.Raw) != "not json" || ev.Data == nil {
		t.Fatalf("not JSON: %#v", ev)
	}
}

// A tagged union field decodes to its variant and marshals its tag back.
func TestUnionFieldsDecodeToVariants(t *testing.T) {
	var d UserMessageData
	in := `{"content":"see","attachments":[{"type":"file","path":"/a.go","displayName":"a.go"},{"type":"hologram","x":1}]}`
	if err := json.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Attachments) != 2 {
		t.Fatalf("attachments: %#v", d.Attachments)
	}
	file, ok := d.Attachments[0].(*AttachmentFile)
	if !ok || file.Path != "/a.go" || file.Type() != AttachmentTypeFile {
		t.Fatalf("first attachment: %#v", d.Attachments[0])
	}
	if raw, ok := d.Attachments[1].(RawAttachment); !ok || raw.Discriminator != "hologram" {
		t.Fatalf("unknown variant: %#v", d.Attachments[1])
	}
	out, err := json.Marshal(AttachmentFile{Path: "/b.go", DisplayName: "b.go"})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(out, &back); err != nil || back["type"] != "file" || back["path"] != "/b.go" {
		t.Fatalf("marshalled variant: %s", out)
	}
}

// A real turn with a tool, against the real CLI: every event it sends decodes
// to its typed data, and the typed fields carry the conversation.
func TestRealTurnEventsAreTyped(t *testing.T) {
	env := newEnv(t, "weather_tool.yaml")
	var calls atomic.Int32
	var mu sync.Mutex
	var events []SessionEvent
	s, err := env.client(t).CreateSession(context.Background(), env.config(SessionConfig{
		Tools: []Tool{weatherTool(&calls, sunny)}, OnPermissionRequest: PermissionHandler.ApproveAll,
		OnEvent: func(e SessionEvent) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	answer, err := s.SendAndWait(context.Background(), MessageOptions{Prompt: parisPrompt})
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := answer.Data.(*AssistantMessageData); !ok || m.Content != "It is 18C and sunny in Paris." || m.MessageID == "" {
		t.Fatalf("answer: %s", answer.Raw)
	}
	mu.Lock()
	defer mu.Unlock()
	var user *UserMessageData
	var start *ToolExecutionStartData
	var done *ToolExecutionCompleteData
	known := map[SessionEventType]bool{}
	for _, typ := range rpc.SessionEventTypes {
		known[typ] = true
	}
	typed := 0
	for _, e := range events {
		// The CLI also sends types its schema leaves out (model.* debug
		// events): those stay raw, every described one must decode.
		if raw, ok := e.Data.(RawSessionEventData); ok && known[e.Type()] {
			t.Errorf("%s did not decode to its typed data: %s", e.Type(), raw.Raw)
		} else if !ok {
			typed++
		}
		if e.ID == "" || e.Timestamp.IsZero() {
			t.Errorf("%s: envelope not decoded: %s", e.Type(), e.Raw)
		}
		// The fast decoder (go-json) and encoding/json agree on every real event.
		var general SessionEvent
		if err := general.UnmarshalJSON(e.Raw); err != nil {
			t.Errorf("%s: %v", e.Type(), err)
		} else if !reflect.DeepEqual(general, e) {
			t.Errorf("%s: the one-pass decode differs from encoding/json's:\n%#v\n%#v", e.Type(), e, general)
		}
		switch d := e.Data.(type) {
		case *UserMessageData:
			user = d
		case *ToolExecutionStartData:
			start = d
		case *ToolExecutionCompleteData:
			done = d
		}
	}
	if typed < 8 {
		t.Errorf("only %d typed events in a tool turn", typed)
	}
	if user == nil || user.Content != parisPrompt {
		t.Errorf("user.message: %#v", user)
	}
	if start == nil || start.ToolName != "get_weather" || start.ToolCallID == "" {
		t.Fatalf("tool.execution_start: %#v", start)
	}
	if args, _ := start.Arguments.(map[string]any); args["city"] != "Paris" {
		t.Errorf("tool arguments: %#v", start.Arguments)
	}
	if done == nil || done.ToolCallID != start.ToolCallID || !done.Success || done.Result == nil || done.Result.Content != "18C and sunny" {
		t.Errorf("tool.execution_complete: %#v", done)
	}
}

// Events the library names the type of decode in one pass; one whose data
// does not match its schema, or whose named type is not its own, falls back
// to the general decoding and keeps its data raw, never lost.
func TestEventsOfANamedTypeDecodeInOnePassAndFallBack(t *testing.T) {
	good := []byte(`{"id":"e1","timestamp":"2026-12-03T10:00:00Z","parentId":null,"ephemeral":true,"type":"assistant.message_delta","data":{"messageId":"m","deltaContent":"Hi"}}`)
	ev := parseEventOfType(SessionEventTypeAssistantMessageDelta, good)
	d, ok := ev.Data.(*AssistantMessageDeltaData)
	if !ok || d.DeltaContent != "Hi" || ev.ID != "e1" || ev.Ephemeral == nil || !*ev.Ephemeral || string(ev.Raw) != string(good) {
		t.Fatalf("one-pass decode: %+v", ev)
	}
	bad := []byte(`{"id":"e2","timestamp":"2026-12-03T10:00:00Z","parentId":null,"type":"assistant.message_delta","data":{"messageId":"m","deltaContent":42}}`)
	ev = parseEventOfType(SessionEventTypeAssistantMessageDelta, bad)
	if r, ok := ev.Data.(RawSessionEventData); !ok || ev.ID != "e2" || !strings.Contains(string(r.Raw), "42") {
		t.Fatalf("mismatched data should stay raw: %#v", ev.Data)
	}
	wrongType := parseEventOfType(SessionEventTypeSessionIdle, good)
	if _, ok := wrongType.Data.(*AssistantMessageDeltaData); !ok {
		t.Fatalf("the event's own type wins over the named one: %#v", wrongType.Data)
	}
}
