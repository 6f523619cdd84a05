package copilot

import (
	"fmt"
	"regexp"
)

// ToolSet builds the source-qualified tool patterns of
// SessionConfig.AvailableTools and ExcludedTools ("builtin:ask_user",
// "custom:*", "mcp:search"), which ModeEmpty requires.
//
// Unlike the official SDK's, an invalid name does not panic: it is left out
// and reported by Err.
type ToolSet struct {
	items []string
	err   error
}

// NewToolSet returns an empty tool set.
func NewToolSet() *ToolSet { return &ToolSet{} }

var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func (s *ToolSet) add(source, name string) *ToolSet {
	if name != "*" && !toolName.MatchString(name) {
		if s.err == nil {
			s.err = fmt.Errorf("invalid %s tool name %q: use letters, digits, '_' and '-', or \"*\"", source, name)
		}
		return s
	}
	s.items = append(s.items, source+":"+name)
	return s
}

// AddBuiltIn adds built-in tools by name ("*" for all of them).
func (s *ToolSet) AddBuiltIn(names ...string) *ToolSet {
	for _, n := range names {
		s.add("builtin", n)
	}
	return s
}

// AddCustom adds one of the session's own tools ("*" for all).
func (s *ToolSet) AddCustom(name string) *ToolSet { return s.add("custom", name) }

// AddMCP adds an MCP server's tool ("*" for all).
func (s *ToolSet) AddMCP(toolName string) *ToolSet { return s.add("mcp", toolName) }

// ToSlice returns the patterns, for AvailableTools or ExcludedTools.
func (s *ToolSet) ToSlice() []string { return append([]string(nil), s.items...) }

// Err reports the first invalid name given, if any (libcopilot addition).
func (s *ToolSet) Err() error { return s.err }

// BuiltInToolsIsolated are the built-in tools that touch neither the host's
// files nor its network, for AddBuiltIn in multi-tenant hosts.
var BuiltInToolsIsolated = []string{
	"ask_user", "task_complete", "exit_plan_mode", "task", "read_agent",
	"write_agent", "list_agents", "send_inbox", "context_board", "skill",
}
