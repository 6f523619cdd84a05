package copilot

import (
	"encoding/json"
	"fmt"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// The structured parts of SessionConfig, each sent to session.create under
// its wire name (the json tags).

// ProviderConfig points the session at a model provider of your own (BYOK).
type ProviderConfig struct {
	// Type is "openai", "azure" or "anthropic".
	Type string `json:"type,omitempty"`
	// WireAPI is "completions" or "responses".
	WireAPI   string `json:"wireApi,omitempty"`
	Transport string `json:"transport,omitempty"`
	BaseURL   string `json:"baseUrl"`
	APIKey    string `json:"apiKey,omitempty"`
	// BearerToken is sent as "Authorization: Bearer ..." instead of the API key.
	BearerToken     string                `json:"bearerToken,omitempty"`
	Azure           *AzureProviderOptions `json:"azure,omitempty"`
	Headers         map[string]string     `json:"headers,omitempty"`
	ModelID         string                `json:"modelId,omitempty"`
	WireModel       string                `json:"wireModel,omitempty"`
	MaxPromptTokens int                   `json:"maxPromptTokens,omitempty"`
	MaxOutputTokens int                   `json:"maxOutputTokens,omitempty"`
	// BearerTokenProvider, when set, is asked for the bearer token before every
	// request to this provider (ProviderName "default"); the CLI keeps no copy.
	BearerTokenProvider BearerTokenProvider `json:"-"`
}

// MarshalJSON tells the CLI the session answers providerToken.getToken for
// this provider when BearerTokenProvider is set.
func (p ProviderConfig) MarshalJSON() ([]byte, error) {
	type plain ProviderConfig
	return json.Marshal(struct {
		plain
		HasBearerTokenProvider bool `json:"hasBearerTokenProvider,omitempty"`
	}{plain(p), p.BearerTokenProvider != nil})
}

// ProviderTokenArgs say which provider of which session needs a bearer token.
type ProviderTokenArgs struct {
	// ProviderName is NamedProviderConfig.Name, or "default" for SessionConfig.Provider.
	ProviderName string
	SessionID    string
}

// BearerTokenProvider returns the bearer token for one model request. It is
// called before every request, on a goroutine: cache and refresh as needed.
type BearerTokenProvider func(args ProviderTokenArgs) (string, error)

// defaultProviderName is what the CLI calls SessionConfig.Provider.
const defaultProviderName = "default"

// bearerTokenProviders maps each provider name to its token callback.
func (cfg *SessionConfig) bearerTokenProviders() map[string]BearerTokenProvider {
	out := map[string]BearerTokenProvider{}
	if cfg.Provider != nil && cfg.Provider.BearerTokenProvider != nil {
		out[defaultProviderName] = cfg.Provider.BearerTokenProvider
	}
	for _, p := range cfg.Providers {
		if p.BearerTokenProvider != nil {
			out[p.Name] = p.BearerTokenProvider
		}
	}
	return out
}

// providerTokenRequest answers providerToken.getToken from the session's callbacks.
func providerTokenRequest(providers map[string]BearerTokenProvider) requestHandler {
	return func(raw json.RawMessage) (any, error) {
		var r struct {
			SessionID    string `json:"sessionId"`
			ProviderName string `json:"providerName"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		get, ok := providers[r.ProviderName]
		if !ok {
			return nil, fmt.Errorf("no bearer token provider for provider %q", r.ProviderName)
		}
		token, err := get(ProviderTokenArgs{ProviderName: r.ProviderName, SessionID: r.SessionID})
		if err != nil {
			return nil, err
		}
		return map[string]string{"token": token}, nil
	}
}

// CopilotExpAssignmentResponse is experimentation-service data (features,
// flights, configs), in the shape the CLI fetches it; SessionConfig.ExpAssignments.
type CopilotExpAssignmentResponse struct {
	Features          []string          `json:"Features"`
	Flights           map[string]string `json:"Flights"`
	Configs           []ExpConfigEntry  `json:"Configs"`
	ParameterGroups   any               `json:"ParameterGroups,omitempty"`
	FlightingVersion  *int              `json:"FlightingVersion,omitempty"`
	ImpressionID      *string           `json:"ImpressionId,omitempty"`
	AssignmentContext string            `json:"AssignmentContext"`
}

// MarshalJSON writes empty lists and maps rather than null, as the service does.
func (r CopilotExpAssignmentResponse) MarshalJSON() ([]byte, error) {
	type plain CopilotExpAssignmentResponse
	w := plain(r)
	if w.Features == nil {
		w.Features = []string{}
	}
	if w.Flights == nil {
		w.Flights = map[string]string{}
	}
	if w.Configs == nil {
		w.Configs = []ExpConfigEntry{}
	}
	return json.Marshal(w)
}

// ExpConfigEntry is one experimentation config and its parameters.
type ExpConfigEntry struct {
	ID         string                  `json:"Id"`
	Parameters map[string]ExpFlagValue `json:"Parameters"`
}

// MarshalJSON writes empty parameters as {}.
func (e ExpConfigEntry) MarshalJSON() ([]byte, error) {
	type plain ExpConfigEntry
	w := plain(e)
	if w.Parameters == nil {
		w.Parameters = map[string]ExpFlagValue{}
	}
	return json.Marshal(w)
}

// ExpFlagValue is an experimentation parameter: a string, number or boolean.
type ExpFlagValue any

// AzureProviderOptions are Azure OpenAI's extra settings.
type AzureProviderOptions struct {
	APIVersion string `json:"apiVersion,omitempty"`
}

// NamedProviderConfig is one of several providers a session may route models to.
type NamedProviderConfig struct {
	// Name is what ProviderModelConfig.Provider refers to; no "/".
	Name        string                `json:"name"`
	Type        string                `json:"type,omitempty"`
	WireAPI     string                `json:"wireApi,omitempty"`
	BaseURL     string                `json:"baseUrl"`
	APIKey      string                `json:"apiKey,omitempty"`
	BearerToken string                `json:"bearerToken,omitempty"`
	Azure       *AzureProviderOptions `json:"azure,omitempty"`
	Headers     map[string]string     `json:"headers,omitempty"`
	// BearerTokenProvider, when set, is asked for the bearer token before
	// every request to this provider (ProviderName is Name).
	BearerTokenProvider BearerTokenProvider `json:"-"`
}

// MarshalJSON adds hasBearerTokenProvider when BearerTokenProvider is set.
func (p NamedProviderConfig) MarshalJSON() ([]byte, error) {
	type plain NamedProviderConfig
	return json.Marshal(struct {
		plain
		HasBearerTokenProvider bool `json:"hasBearerTokenProvider,omitempty"`
	}{plain(p), p.BearerTokenProvider != nil})
}

// ProviderModelConfig is a model served by one of the session's Providers.
type ProviderModelConfig struct {
	// ID is the model's id, unique within its provider.
	ID                     string                         `json:"id"`
	Provider               string                         `json:"provider"`
	WireModel              string                         `json:"wireModel,omitempty"`
	ModelID                string                         `json:"modelId,omitempty"`
	Name                   string                         `json:"name,omitempty"`
	MaxPromptTokens        int                            `json:"maxPromptTokens,omitempty"`
	MaxContextWindowTokens int                            `json:"maxContextWindowTokens,omitempty"`
	MaxOutputTokens        int                            `json:"maxOutputTokens,omitempty"`
	Capabilities           *rpc.ModelCapabilitiesOverride `json:"capabilities,omitempty"`
}

// Model capability overrides, re-exported from package rpc.
type (
	ModelCapabilitiesOverride             = rpc.ModelCapabilitiesOverride
	ModelCapabilitiesOverrideSupports     = rpc.ModelCapabilitiesOverrideSupports
	ModelCapabilitiesOverrideLimits       = rpc.ModelCapabilitiesOverrideLimits
	ModelCapabilitiesOverrideLimitsVision = rpc.ModelCapabilitiesOverrideLimitsVision
)

// CapiSessionOptions tune the GitHub Copilot API transport.
type CapiSessionOptions struct {
	EnableWebSocketResponses *bool    `json:"enableWebSocketResponses,omitempty"`
	AutoTier                 AutoTier `json:"autoTier,omitempty"`
}

// MCPServerConfig is an MCP server the session may use: MCPStdioServerConfig
// or MCPHTTPServerConfig.
type MCPServerConfig interface {
	mcpServerConfig()
}

// MCPStdioServerConfig starts an MCP server as a child process.
type MCPStdioServerConfig struct {
	// Tools the session may use ("*" for all); nil means none.
	Tools []string `json:"tools,omitempty"`
	// Timeout in ms for the server's tool calls.
	Timeout          int               `json:"timeout,omitempty"`
	Command          string            `json:"command"`
	Args             []string          `json:"args,omitempty"`
	Env              map[string]string `json:"env,omitempty"`
	WorkingDirectory string            `json:"cwd,omitempty"`
}

// MCPHTTPServerConfig reaches an MCP server over HTTP.
type MCPHTTPServerConfig struct {
	Tools   []string          `json:"tools,omitempty"`
	Timeout int               `json:"timeout,omitempty"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}

func (MCPStdioServerConfig) mcpServerConfig() {}
func (MCPHTTPServerConfig) mcpServerConfig()  {}

// MarshalJSON writes the server with "type": "stdio".
func (c MCPStdioServerConfig) MarshalJSON() ([]byte, error) {
	type plain MCPStdioServerConfig
	return withType("stdio", plain(c))
}

// MarshalJSON writes the server with "type": "http".
func (c MCPHTTPServerConfig) MarshalJSON() ([]byte, error) {
	type plain MCPHTTPServerConfig
	return withType("http", plain(c))
}

// withType marshals v with a leading "type" member.
func withType(kind string, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	head, _ := json.Marshal(kind)
	out := append([]byte(`{"type":`), head...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// CustomAgentConfig defines an agent the session can delegate to.
type CustomAgentConfig struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	// Tools the agent may use; nil means all.
	Tools           []string                   `json:"tools,omitempty"`
	Prompt          string                     `json:"prompt"`
	MCPServers      map[string]MCPServerConfig `json:"mcpServers,omitempty"`
	Infer           *bool                      `json:"infer,omitempty"`
	Skills          []string                   `json:"skills,omitempty"`
	Model           string                     `json:"model,omitempty"`
	ReasoningEffort string                     `json:"reasoningEffort,omitempty"`
}

// DefaultAgentConfig adjusts the built-in default agent.
type DefaultAgentConfig struct {
	ExcludedTools []string `json:"excludedTools,omitempty"`
}

// InfiniteSessionConfig controls background compaction of long sessions.
type InfiniteSessionConfig struct {
	Enabled *bool `json:"enabled,omitempty"`
	// Thresholds are context utilization fractions (0.0-1.0).
	BackgroundCompactionThreshold *float64 `json:"backgroundCompactionThreshold,omitempty"`
	BufferExhaustionThreshold     *float64 `json:"bufferExhaustionThreshold,omitempty"`
}

// MemoryConfiguration turns the agent's memory on or off.
type MemoryConfiguration struct {
	Enabled bool `json:"enabled"`
}

// LargeToolOutputConfig spills large tool outputs to files.
type LargeToolOutputConfig struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	MaxSizeBytes    *int64 `json:"maxSizeBytes,omitempty"`
	OutputDirectory string `json:"outputDir,omitempty"`
}

// ToolSearchConfig defers tool definitions behind a search tool.
type ToolSearchConfig struct {
	Enabled        *bool `json:"enabled,omitempty"`
	DeferThreshold *int  `json:"deferThreshold,omitempty"`
}
