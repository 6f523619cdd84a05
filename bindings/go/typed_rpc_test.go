package copilot

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// Every server- and session-scope method of the pinned api.schema.json is
// reachable as a typed method, at the path the wire name gives
// (session.model.switchTo is Session.RPC.Model.SwitchTo).
func TestGeneratedRPCCoversThePinnedSchema(t *testing.T) {
	cache := os.Getenv("COPILOT_TEST_CACHE")
	if cache == "" {
		cache = filepath.Join(repoRoot, "target/copilot-cache")
	}
	matches, _ := filepath.Glob(filepath.Join(cache, "copilot/pkg/*/*/schemas/api.schema.json"))
	if len(matches) != 1 {
		t.Fatalf("want one unpacked CLI's api.schema.json under %s, found %v", cache, matches)
	}
	raw, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	roots := map[string]any{
		"server":  rpc.NewServerRPC(requester{}),
		"session": rpc.NewSessionRPC(requester{}, "s"),
	}
	count := 0
	for scope, root := range roots {
		var walk func(node map[string]any, path []string)
		walk = func(node map[string]any, path []string) {
			for key, child := range node {
				m, ok := child.(map[string]any)
				if !ok {
					continue
				}
				if name, ok := m["rpcMethod"].(string); ok {
					count++
					if !hasMethod(root, append(path, key)) {
						t.Errorf("%s (%s scope): no typed method", name, scope)
					}
					continue
				}
				walk(m, append(append([]string(nil), path...), key))
			}
		}
		walk(schema[scope].(map[string]any), nil)
	}
	if count < 500 {
		t.Fatalf("only %d methods found in the schema", count)
	}
}

func hasMethod(root any, path []string) bool {
	v := reflect.ValueOf(root)
	for i, group := range path[:len(path)-1] {
		if i == 0 {
			v = v.Elem().FieldByName(exportedGoName(group)) // top-level groups are fields
		} else if m := v.MethodByName(exportedGoName(group)); m.IsValid() {
			v = m.Call(nil)[0] // nested ones accessors, as in the official SDK
		} else {
			return false
		}
		if !v.IsValid() || v.IsNil() {
			return false
		}
	}
	verb := []rune(path[len(path)-1])
	verb[0] = unicode.ToUpper(verb[0])
	return v.MethodByName(string(verb)).IsValid()
}

// exportedGoName applies the generator's initialisms to a group name (mcp -> MCP).
func exportedGoName(group string) string {
	up := map[string]string{"mcp": "MCP", "ui": "UI", "lsp": "Lsp", "sessionFs": "SessionFS", "mcpApps": "MCPApps", "mcpOauth": "MCPOauth", "urls": "URLs"}
	if s, ok := up[group]; ok {
		return s
	}
	return strings.ToUpper(group[:1]) + group[1:]
}

// Typed calls against the real CLI: server scope (ping) and session scope
// (model, mode and name round trips), params and results both typed.
func TestTypedRPCAgainstTheRealCLI(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	client := env.client(t)
	ctx := context.Background()
	s, err := client.CreateSession(ctx, env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	msg := "typed"
	pong, err := client.RPC.Ping(ctx, &rpc.PingRequest{Message: &msg})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pong.Message, "typed") || pong.ProtocolVersion < 1 {
		t.Fatalf("ping: %+v", pong)
	}

	switched, err := s.RPC.Model.SwitchTo(ctx, &rpc.ModelSwitchToRequest{ModelID: "gpt-5"})
	if err != nil {
		t.Fatal(err)
	}
	if switched.ModelID == nil || *switched.ModelID != "gpt-5" {
		t.Fatalf("switchTo: %+v", switched)
	}
	current, err := s.RPC.Model.GetCurrent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if current.ModelID == nil || *current.ModelID != "gpt-5" {
		t.Fatalf("getCurrent after switchTo: %+v", current)
	}

	if _, err := s.RPC.Mode.Set(ctx, &rpc.ModeSetRequest{Mode: rpc.SessionModePlan}); err != nil {
		t.Fatal(err)
	}
	mode, err := s.RPC.Mode.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if *mode != rpc.SessionModePlan {
		t.Fatalf("mode after set: %v", *mode)
	}

	if _, err := s.RPC.Name.Set(ctx, &rpc.NameSetRequest{Name: "typed session"}); err != nil {
		t.Fatal(err)
	}
	name, err := s.RPC.Name.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if name.Name == nil || *name.Name != "typed session" {
		t.Fatalf("name after set: %+v", name)
	}

	// A protocol error comes back as *Error, as from Call.
	other := rpc.NewSessionRPC(requester{client.conn}, "no-such-session")
	if _, err := other.Model.GetCurrent(ctx); err == nil {
		t.Fatal("getCurrent on an unknown session succeeded")
	} else if e, ok := err.(*Error); !ok || e.Status != StatusRPC {
		t.Fatalf("unknown session: %T %v", err, err)
	}
}
