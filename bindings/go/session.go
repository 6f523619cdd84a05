package copilot

/*
#include <stdlib.h>
#include "copilot.h"

extern copilot_status cfg_on_event(copilot_session_config *c, uintptr_t h, copilot_error **e);
extern copilot_status cfg_add_tool(copilot_session_config *c, const char *decl, uintptr_t h, copilot_error **e);
extern copilot_status cfg_permission(copilot_session_config *c, uintptr_t h, copilot_error **e);
extern copilot_status cfg_handler(copilot_session_config *c, const char *kind, uintptr_t h, copilot_error **e);
extern copilot_status cfg_hook(copilot_session_config *c, const char *kind, uintptr_t h, copilot_error **e);
extern copilot_status cfg_add_command(copilot_session_config *c, const char *decl, uintptr_t h, copilot_error **e);
extern copilot_status session_subscribe(copilot_session *s, uintptr_t h, uint64_t *id, copilot_error **e);
*/
import "C"

import (
	"context"
	"encoding/json"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// SystemMessageConfig customises the system prompt.
type SystemMessageConfig struct {
	// Mode is "append" (default), "replace", or "customize" (the default
	// when Sections is set): the CLI's sections, changed per Sections.
	Mode    string `json:"mode,omitempty"`
	Content string `json:"content,omitempty"`
	// Sections changes sections of the system message by id (the Section*
	// constants); a section with a Transform is rewritten by that callback.
	Sections map[string]SectionOverride `json:"sections,omitempty"`
}

// SessionConfig configures CreateSession and ResumeSession.
type SessionConfig struct {
	SessionID        string
	Model            string
	ReasoningEffort  string
	ReasoningSummary ReasoningSummary
	ContextTier      ContextTier
	// ModelCapabilities overrides capabilities the runtime resolved for the model.
	ModelCapabilities *rpc.ModelCapabilitiesOverride
	// Streaming sends assistant.message_delta events as the text arrives.
	Streaming        *bool
	SystemMessage    *SystemMessageConfig
	Provider         *ProviderConfig
	WorkingDirectory string
	// AdditionalDirectories the session may read and write besides WorkingDirectory.
	AdditionalDirectories []string
	AvailableTools        []string
	ExcludedTools         []string
	// ExcludedBuiltInAgents hides built-in agents by name.
	ExcludedBuiltInAgents []string
	// ClientName identifies the host in the session's metadata.
	ClientName string
	// Agent selects a custom agent by name for the session.
	Agent string
	// GitHubToken signs this session in as another user than the client's.
	GitHubToken string
	// ConfigDirectory overrides where the session reads its configuration (wire: configDir).
	ConfigDirectory string
	// MCPOAuthTokenStorage and AuthClientIDMetadataURL configure MCP OAuth.
	MCPOAuthTokenStorage    string
	AuthClientIDMetadataURL string
	// RemoteSession sets whether the session is reachable remotely.
	RemoteSession rpc.RemoteSessionMode
	// SessionLimits bounds the session's spending and turns.
	SessionLimits *rpc.SessionLimitsConfig
	// Feature switches passed to the CLI as they are (nil: its default).
	EnableSessionTelemetry             *bool
	EnableCitations                    *bool
	EnableFileChangeTracking           *bool
	EnableExperimentalMode             *bool // wire: isExperimentalMode
	SkipCustomInstructions             *bool
	CustomAgentsLocalOnly              *bool
	CoauthorEnabled                    *bool
	ManageScheduleEnabled              *bool
	IncludeSubAgentStreamingEvents     *bool
	EnableConfigDiscovery              *bool
	SkipEmbeddingRetrieval             *bool
	EmbeddingCacheStorage              *string
	OrganizationCustomInstructions     *string
	EnableOnDemandInstructionDiscovery *bool
	EnableFileHooks                    *bool
	EnableHostGitOperations            *bool
	EnableSessionStore                 *bool
	EnableSkills                       *bool
	EnableManagedSettings              *bool
	RequestCanvasRenderer              *bool
	RequestExtensions                  *bool
	ExtensionSDKPath                   *string
	// EnableMCPApps asks for MCP Apps support (wire: requestMcpApps).
	EnableMCPApps bool
	// Directories the session loads skills, plugins and instructions from.
	SkillDirectories       []string
	PluginDirectories      []string
	InstructionDirectories []string
	DisabledSkills         []string
	// DisabledMCPServers: nil leaves the CLI's list, empty clears it.
	DisabledMCPServers []string
	// MCPServers the session may use, by name.
	MCPServers map[string]MCPServerConfig
	// CustomAgents the session can delegate to; Agent picks one for the session.
	CustomAgents []CustomAgentConfig
	DefaultAgent *DefaultAgentConfig
	// Providers and Models route models to several BYOK providers.
	Providers []NamedProviderConfig
	Models    []ProviderModelConfig
	Capi      *CapiSessionOptions
	// InfiniteSessions, LargeOutput, ToolSearch and Memory tune long sessions.
	InfiniteSessions    *InfiniteSessionConfig
	LargeOutput         *LargeToolOutputConfig
	ToolSearch          *ToolSearchConfig
	Memory              *MemoryConfiguration
	GitHubMCPToolConfig *GitHubMCPToolConfig
	// ContinuePendingWork (resume only) picks up tool calls and permission
	// requests the session left pending.
	ContinuePendingWork *bool
	// SuppressResumeEvent (resume only) skips the session.resume event (wire: disableResume).
	SuppressResumeEvent bool
	// Canvases the session provides; CanvasHandler answers them. Experimental.
	Canvases []CanvasDeclaration
	// CanvasHandler answers canvas.open, canvas.close and canvas.action.invoke
	// for Canvases, each on a goroutine of its own.
	CanvasHandler CanvasHandler
	// CanvasProvider names the provider of Canvases.
	CanvasProvider *CanvasProviderIdentity
	// OpenCanvases (resume only) are the canvas instances open in the session
	// when it was last used, reopened on resume.
	OpenCanvases []rpc.OpenCanvasInstance
	// ExtensionInfo identifies the extension the session belongs to.
	ExtensionInfo *ExtensionInfo
	// ExpAssignments are experimentation assignments ("flights") the host
	// fetched itself, used instead of the CLI fetching them.
	ExpAssignments *CopilotExpAssignmentResponse
	FeatureFlags   map[string]bool
	// Extra holds any other session.create field, passed through as is
	// (libcopilot addition; typed fields win over Extra).
	Extra map[string]any

	Tools []Tool
	// OnPermissionRequest decides permission requests; without one the CLI
	// denies tools that need permission. PermissionHandler.ApproveAll approves all.
	OnPermissionRequest PermissionHandlerFunc
	// OnUserInputRequest answers the ask_user tool (enabling it).
	OnUserInputRequest UserInputHandler
	// Hooks intercept tool use, prompts and session lifecycle.
	Hooks *SessionHooks
	// OnEvent is subscribed before the session is created, so it sees every event.
	OnEvent SessionEventHandler

	// OnElicitationRequest answers elicitations (form dialogs) for the
	// session, and makes the session report the elicitation capability
	// (wire: requestElicitation). Without it, elicitation requests are left
	// to other clients of the server.
	OnElicitationRequest ElicitationHandler
	// OnExitPlanModeRequest answers `exitPlanMode.request` (wire:
	// requestExitPlanMode); without it the library approves.
	OnExitPlanModeRequest ExitPlanModeRequestHandler
	// OnAutoModeSwitchRequest answers `autoModeSwitch.request` (wire:
	// requestAutoModeSwitch); without it the library answers "no".
	OnAutoModeSwitchRequest AutoModeSwitchRequestHandler
	// OnMCPAuthRequest answers MCP servers' OAuth requests ("mcp.oauth_required").
	OnMCPAuthRequest MCPAuthHandler
	// Commands are the session's slash commands.
	Commands []CommandDefinition
	// CreateSessionFSProvider makes the filesystem of a session of a client
	// with ClientOptions.SessionFS (required there, unused otherwise). It is
	// called on the callback thread when the CLI first touches the session's
	// filesystem (during CreateSession or ResumeSession), once per session id;
	// returning nil fails every operation. The *Session it receives has its
	// SessionID, but until CreateSession returns its calls fail with
	// StatusInvalidState (it has no native session yet).
	CreateSessionFSProvider func(session *Session) SessionFSProvider
}

// ResumeSessionConfig configures ResumeSession.
type ResumeSessionConfig = SessionConfig

func (cfg *SessionConfig) fieldsJSON() (string, error) {
	m := map[string]any{}
	for k, v := range cfg.Extra {
		m[k] = v
	}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("sessionId", cfg.SessionID)
	set("model", cfg.Model)
	set("reasoningEffort", cfg.ReasoningEffort)
	set("workingDirectory", cfg.WorkingDirectory)
	if cfg.Streaming != nil {
		m["streaming"] = *cfg.Streaming
	}
	// The pass-through fields, under their wire names.
	wire := struct {
		ReasoningSummary                   ReasoningSummary               `json:"reasoningSummary,omitempty"`
		ContextTier                        ContextTier                    `json:"contextTier,omitempty"`
		ModelCapabilities                  *rpc.ModelCapabilitiesOverride `json:"modelCapabilities,omitempty"`
		AdditionalDirectories              []string                       `json:"additionalDirectories,omitempty"`
		ExcludedBuiltInAgents              []string                       `json:"excludedBuiltinAgents,omitempty"`
		ClientName                         string                         `json:"clientName,omitempty"`
		Agent                              string                         `json:"agent,omitempty"`
		GitHubToken                        string                         `json:"gitHubToken,omitempty"`
		ConfigDirectory                    string                         `json:"configDir,omitempty"`
		MCPOAuthTokenStorage               string                         `json:"mcpOAuthTokenStorage,omitempty"`
		AuthClientIDMetadataURL            string                         `json:"authClientIdMetadataUrl,omitempty"`
		RemoteSession                      rpc.RemoteSessionMode          `json:"remoteSession,omitempty"`
		SessionLimits                      *rpc.SessionLimitsConfig       `json:"sessionLimits,omitempty"`
		EnableSessionTelemetry             *bool                          `json:"enableSessionTelemetry,omitempty"`
		EnableCitations                    *bool                          `json:"enableCitations,omitempty"`
		EnableFileChangeTracking           *bool                          `json:"enableFileChangeTracking,omitempty"`
		EnableExperimentalMode             *bool                          `json:"isExperimentalMode,omitempty"`
		SkipCustomInstructions             *bool                          `json:"skipCustomInstructions,omitempty"`
		CustomAgentsLocalOnly              *bool                          `json:"customAgentsLocalOnly,omitempty"`
		CoauthorEnabled                    *bool                          `json:"coauthorEnabled,omitempty"`
		ManageScheduleEnabled              *bool                          `json:"manageScheduleEnabled,omitempty"`
		IncludeSubAgentStreamingEvents     *bool                          `json:"includeSubAgentStreamingEvents,omitempty"`
		EnableConfigDiscovery              *bool                          `json:"enableConfigDiscovery,omitempty"`
		SkipEmbeddingRetrieval             *bool                          `json:"skipEmbeddingRetrieval,omitempty"`
		EmbeddingCacheStorage              *string                        `json:"embeddingCacheStorage,omitempty"`
		OrganizationCustomInstructions     *string                        `json:"organizationCustomInstructions,omitempty"`
		EnableOnDemandInstructionDiscovery *bool                          `json:"enableOnDemandInstructionDiscovery,omitempty"`
		EnableFileHooks                    *bool                          `json:"enableFileHooks,omitempty"`
		EnableHostGitOperations            *bool                          `json:"enableHostGitOperations,omitempty"`
		EnableSessionStore                 *bool                          `json:"enableSessionStore,omitempty"`
		EnableSkills                       *bool                          `json:"enableSkills,omitempty"`
		EnableManagedSettings              *bool                          `json:"enableManagedSettings,omitempty"`
		RequestCanvasRenderer              *bool                          `json:"requestCanvasRenderer,omitempty"`
		RequestExtensions                  *bool                          `json:"requestExtensions,omitempty"`
		ExtensionSDKPath                   *string                        `json:"extensionSdkPath,omitempty"`
		RequestMCPApps                     bool                           `json:"requestMcpApps,omitempty"`
		SkillDirectories                   []string                       `json:"skillDirectories,omitempty"`
		PluginDirectories                  []string                       `json:"pluginDirectories,omitempty"`
		InstructionDirectories             []string                       `json:"instructionDirectories,omitempty"`
		DisabledSkills                     []string                       `json:"disabledSkills,omitempty"`
		FeatureFlags                       map[string]bool                `json:"featureFlags,omitempty"`
		MCPServers                         map[string]MCPServerConfig     `json:"mcpServers,omitempty"`
		CustomAgents                       []CustomAgentConfig            `json:"customAgents,omitempty"`
		DefaultAgent                       *DefaultAgentConfig            `json:"defaultAgent,omitempty"`
		Providers                          []NamedProviderConfig          `json:"providers,omitempty"`
		Models                             []ProviderModelConfig          `json:"models,omitempty"`
		Capi                               *CapiSessionOptions            `json:"capi,omitempty"`
		InfiniteSessions                   *InfiniteSessionConfig         `json:"infiniteSessions,omitempty"`
		LargeOutput                        *LargeToolOutputConfig         `json:"largeOutput,omitempty"`
		ToolSearch                         *ToolSearchConfig              `json:"toolSearch,omitempty"`
		Memory                             *MemoryConfiguration           `json:"memory,omitempty"`
		GitHubMCPToolConfig                *GitHubMCPToolConfig           `json:"githubMcpToolConfig,omitempty"`
		ContinuePendingWork                *bool                          `json:"continuePendingWork,omitempty"`
		DisableResume                      bool                           `json:"disableResume,omitempty"`
		Canvases                           []CanvasDeclaration            `json:"canvases,omitempty"`
		CanvasProvider                     *CanvasProviderIdentity        `json:"canvasProvider,omitempty"`
		OpenCanvases                       []rpc.OpenCanvasInstance       `json:"openCanvases,omitempty"`
		ExtensionInfo                      *ExtensionInfo                 `json:"extensionInfo,omitempty"`
		ExpAssignments                     *CopilotExpAssignmentResponse  `json:"expAssignments,omitempty"`
	}{
		cfg.ReasoningSummary, cfg.ContextTier, cfg.ModelCapabilities, cfg.AdditionalDirectories,
		cfg.ExcludedBuiltInAgents, cfg.ClientName, cfg.Agent, cfg.GitHubToken, cfg.ConfigDirectory,
		cfg.MCPOAuthTokenStorage, cfg.AuthClientIDMetadataURL, cfg.RemoteSession, cfg.SessionLimits,
		cfg.EnableSessionTelemetry, cfg.EnableCitations, cfg.EnableFileChangeTracking,
		cfg.EnableExperimentalMode, cfg.SkipCustomInstructions, cfg.CustomAgentsLocalOnly,
		cfg.CoauthorEnabled, cfg.ManageScheduleEnabled, cfg.IncludeSubAgentStreamingEvents,
		cfg.EnableConfigDiscovery, cfg.SkipEmbeddingRetrieval, cfg.EmbeddingCacheStorage,
		cfg.OrganizationCustomInstructions, cfg.EnableOnDemandInstructionDiscovery, cfg.EnableFileHooks,
		cfg.EnableHostGitOperations, cfg.EnableSessionStore, cfg.EnableSkills, cfg.EnableManagedSettings,
		cfg.RequestCanvasRenderer, cfg.RequestExtensions, cfg.ExtensionSDKPath, cfg.EnableMCPApps,
		cfg.SkillDirectories, cfg.PluginDirectories, cfg.InstructionDirectories, cfg.DisabledSkills,
		cfg.FeatureFlags, cfg.MCPServers, cfg.CustomAgents, cfg.DefaultAgent, cfg.Providers, cfg.Models,
		cfg.Capi, cfg.InfiniteSessions, cfg.LargeOutput, cfg.ToolSearch, cfg.Memory, cfg.GitHubMCPToolConfig,
		cfg.ContinuePendingWork, cfg.SuppressResumeEvent, cfg.Canvases, cfg.CanvasProvider, cfg.OpenCanvases,
		cfg.ExtensionInfo, cfg.ExpAssignments,
	}
	b, err := json.Marshal(wire)
	if err != nil {
		return "", &Error{Status: StatusInvalidJSON, Message: err.Error()}
	}
	var fields map[string]any
	_ = json.Unmarshal(b, &fields)
	for k, v := range fields {
		m[k] = v
	}
	if cfg.DisabledMCPServers != nil {
		m["disabledMcpServers"] = cfg.DisabledMCPServers
	}
	if cfg.SystemMessage != nil {
		m["systemMessage"] = cfg.SystemMessage.wire()
	}
	if cfg.Provider != nil {
		m["provider"] = cfg.Provider
	}
	if cfg.AvailableTools != nil {
		m["availableTools"] = cfg.AvailableTools
	}
	if cfg.ExcludedTools != nil {
		m["excludedTools"] = cfg.ExcludedTools
	}
	b, err = json.Marshal(m)
	if err != nil {
		return "", &Error{Status: StatusInvalidJSON, Message: err.Error()}
	}
	return string(b), nil
}

// build makes the native config; the caller frees it. ref is the session's
// id for the handlers whose requests do not carry it.
func (cfg *SessionConfig) build(ref *sessionRef) (*C.copilot_session_config, error) {
	if cfg == nil {
		cfg = &SessionConfig{}
	}
	fields, err := cfg.fieldsJSON()
	if err != nil {
		return nil, err
	}
	fj := cString(fields)
	defer free(fj)
	var out *C.copilot_session_config
	var cerr *C.copilot_error
	if err := errorFrom(C.copilot_session_config_new(fj, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	fail := func(err error) (*C.copilot_session_config, error) {
		C.copilot_session_config_free(out)
		return nil, err
	}
	for i := range cfg.Tools {
		t := cfg.Tools[i]
		decl, err := t.declaration()
		if err != nil {
			return fail(err)
		}
		d := cString(decl)
		h := handleOf(&t)
		err = errorFrom(C.cfg_add_tool(out, d, h, &cerr), cerr)
		free(d)
		if err != nil {
			deleteHandle(h)
			return fail(err)
		}
	}
	if cfg.OnPermissionRequest != nil {
		h := handleOf(permissionBinding{cfg.OnPermissionRequest, ref})
		if err := errorFrom(C.cfg_permission(out, h, &cerr), cerr); err != nil {
			deleteHandle(h)
			return fail(err)
		}
	}
	register := func(kind string, hook bool, rh requestHandler) error {
		k := cString(kind)
		defer free(k)
		h := handleOf(rh)
		var err error
		if hook {
			err = errorFrom(C.cfg_hook(out, k, h, &cerr), cerr)
		} else {
			err = errorFrom(C.cfg_handler(out, k, h, &cerr), cerr)
		}
		if err != nil {
			deleteHandle(h)
		}
		return err
	}
	// registerAny registers a handler of any kind goRequest dispatches.
	registerAny := func(kind string, handler any) error {
		k := cString(kind)
		defer free(k)
		h := handleOf(handler)
		err := errorFrom(C.cfg_handler(out, k, h, &cerr), cerr)
		if err != nil {
			deleteHandle(h)
		}
		return err
	}
	if cfg.OnUserInputRequest != nil {
		if err := register("userInput", false, userInputRequest(cfg.OnUserInputRequest)); err != nil {
			return fail(err)
		}
	}
	if cfg.Hooks != nil {
		for name, fn := range cfg.Hooks.byType(ref) {
			if err := register(name, true, fn); err != nil {
				return fail(err)
			}
		}
	}
	if cfg.OnElicitationRequest != nil {
		if err := register("elicitation", false, elicitationRequest(ref, cfg.OnElicitationRequest)); err != nil {
			return fail(err)
		}
	}
	if cfg.OnExitPlanModeRequest != nil {
		if err := register("exitPlanMode", false, exitPlanModeRequest(cfg.OnExitPlanModeRequest)); err != nil {
			return fail(err)
		}
	}
	if cfg.OnAutoModeSwitchRequest != nil {
		if err := register("autoModeSwitch", false, autoModeSwitchRequest(cfg.OnAutoModeSwitchRequest)); err != nil {
			return fail(err)
		}
	}
	if cfg.OnMCPAuthRequest != nil {
		if err := register("mcpAuth", false, mcpAuthRequest(ref, cfg.OnMCPAuthRequest)); err != nil {
			return fail(err)
		}
	}
	if fns := cfg.SystemMessage.transforms(); len(fns) > 0 {
		if err := register("systemMessageTransform", false, systemMessageTransformRequest(fns)); err != nil {
			return fail(err)
		}
	}
	if cfg.CanvasHandler != nil {
		if err := registerAny("canvas", canvasRequests(cfg.CanvasHandler)); err != nil {
			return fail(err)
		}
	}
	if tokens := cfg.bearerTokenProviders(); len(tokens) > 0 {
		if err := register("providerToken", false, providerTokenRequest(tokens)); err != nil {
			return fail(err)
		}
	}
	if cfg.CreateSessionFSProvider != nil {
		k := cString("sessionFs")
		create := cfg.CreateSessionFSProvider
		h := handleOf(sessionFSRequests(func(string) SessionFSProvider { return create(ref.session) }))
		err := errorFrom(C.cfg_handler(out, k, h, &cerr), cerr)
		free(k)
		if err != nil {
			deleteHandle(h)
			return fail(err)
		}
	}
	for i := range cfg.Commands {
		cmd := cfg.Commands[i]
		decl, err := cmd.declaration()
		if err != nil {
			return fail(err)
		}
		d := cString(decl)
		h := handleOf(commandRequest(ref, cmd))
		err = errorFrom(C.cfg_add_command(out, d, h, &cerr), cerr)
		free(d)
		if err != nil {
			deleteHandle(h)
			return fail(err)
		}
	}
	if cfg.OnEvent != nil {
		h := handleOf(&eventSubscriber{fn: cfg.OnEvent})
		if err := errorFrom(C.cfg_on_event(out, h, &cerr), cerr); err != nil {
			deleteHandle(h)
			return fail(err)
		}
	}
	return out, nil
}

// CreateSession creates a session (`session.create`), starting the client if needed.
func (c *Client) CreateSession(ctx context.Context, cfg *SessionConfig) (*Session, error) {
	return c.openSession(ctx, "", cfg)
}

// ResumeSessionWithOptions is ResumeSession (the official SDK has both names).
func (c *Client) ResumeSessionWithOptions(ctx context.Context, sessionID string, config *ResumeSessionConfig) (*Session, error) {
	return c.ResumeSession(ctx, sessionID, config)
}

// ResumeSession resumes a persisted session (`session.resume`) with handlers registered again.
func (c *Client) ResumeSession(ctx context.Context, id string, cfg *ResumeSessionConfig) (*Session, error) {
	return c.openSession(ctx, id, cfg)
}

func (c *Client) openSession(ctx context.Context, resumeID string, cfg *SessionConfig) (*Session, error) {
	if cfg == nil {
		cfg = &SessionConfig{}
	}
	ref := &sessionRef{id: resumeID}
	if resumeID == "" {
		ref.id = cfg.SessionID
		if ref.id == "" && cfg.needsIDUpFront() {
			// Handlers whose requests do not name the session learn its id
			// here, as the library would have made one anyway.
			id, err := uuid.NewRandom()
			if err != nil {
				return nil, &Error{Status: StatusInternal, Message: "cannot make a session id: " + err.Error()}
			}
			cp := *cfg
			cp.SessionID = id.String()
			cfg, ref.id = &cp, cp.SessionID
		}
	}
	// The Session exists before the CLI is asked, so a session filesystem
	// provider made during the create can be handed it (until the create
	// returns it has no native session, so its calls fail).
	ref.session = &Session{SessionID: ref.id, client: c}
	return blocking(ctx, func() (*Session, error) {
		h, err := c.acquire()
		if err != nil {
			return nil, err
		}
		defer c.release()
		native, err := cfg.build(ref)
		if err != nil {
			return nil, err
		}
		defer C.copilot_session_config_free(native)
		var out *C.copilot_session
		var cerr *C.copilot_error
		if resumeID == "" {
			err = errorFrom(C.copilot_client_create_session(h, native, &out, &cerr), cerr)
		} else {
			id := cString(resumeID)
			defer free(id)
			err = errorFrom(C.copilot_client_resume_session(h, id, native, &out, &cerr), cerr)
		}
		if err != nil {
			return nil, err
		}
		s := ref.session
		// Written only when not known up front: a session filesystem
		// provider may have read it on the callback thread meanwhile.
		if id := C.GoString(C.copilot_session_id(out)); s.SessionID != id {
			s.SessionID = id
		}
		s.RPC = rpc.NewSessionRPC(requester{c.conn}, s.SessionID)
		s.ref.init(out, freeSession)
		ref.set(s.SessionID)
		runtime.SetFinalizer(s, (*Session).free)
		return s, nil
	})
}

// Session is one conversation. Methods are safe for concurrent use,
// Disconnect included (see there for calls in flight).
type Session struct {
	SessionID string
	ref       handleRef[*C.copilot_session]
	client    *Client
	// RPC has one typed method per session-scope protocol method, generated
	// from the CLI's schema (session.model.switchTo is RPC.Model.SwitchTo).
	RPC *rpc.SessionRPC
}

// acquire returns the native session for one call, which must release it
// after the call returns; it fails once the session is disconnected.
func (s *Session) acquire() (*C.copilot_session, error) {
	if h := s.ref.acquire(); h != nil {
		return h, nil
	}
	return nil, &Error{Status: StatusInvalidState, Message: "the session is disconnected"}
}

func (s *Session) release() { s.ref.release() }

func freeSession(h *C.copilot_session) { C.copilot_session_free(h) }

// MessageOptions is what Send sends (`session.send`).
type MessageOptions struct {
	Prompt string `json:"prompt"`
	// Source says who sent it: MessageSourceUser (default), MessageSourceSystem,
	// or MessageSourceAgent(id).
	Source MessageSource `json:"source,omitempty"`
	// Attachments are files, selections, GitHub references, blobs...
	// (*AttachmentFile, *AttachmentSelection, ...).
	Attachments []Attachment `json:"attachments,omitempty"`
	// Mode is "enqueue" or "immediate".
	Mode string `json:"mode,omitempty"`
	// AgentMode runs this turn in another agent mode (AgentModePlan, ...).
	AgentMode AgentMode `json:"agentMode,omitempty"`
	// RequestHeaders are added to this turn's model requests.
	RequestHeaders map[string]string `json:"requestHeaders,omitempty"`
	// DisplayPrompt is shown in the timeline instead of Prompt.
	DisplayPrompt string `json:"displayPrompt,omitempty"`
}

// AgentMode is the mode a turn runs in.
type AgentMode = rpc.SendAgentMode

// Agent modes.
const (
	AgentModeInteractive = rpc.SendAgentModeInteractive
	AgentModePlan        = rpc.SendAgentModePlan
	AgentModeAutopilot   = rpc.SendAgentModeAutopilot
	AgentModeShell       = rpc.SendAgentModeShell
)

// MessageSource says who sent a message.
type MessageSource string

// Message sources.
const (
	MessageSourceUser   MessageSource = "user"
	MessageSourceSystem MessageSource = "system"
)

// MessageSourceAgent is the source of a message sent by the agent with this id.
func MessageSourceAgent(id string) MessageSource { return MessageSource("agent-" + id) }

// SendPrompt sends a prompt and returns the message id without waiting for the turn.
func (s *Session) SendPrompt(ctx context.Context, prompt string) (string, error) {
	return s.Send(ctx, MessageOptions{Prompt: prompt})
}

// SendPromptAndWait sends a prompt and waits for the turn: see SendAndWait.
func (s *Session) SendPromptAndWait(ctx context.Context, prompt string) (*SessionEvent, error) {
	return s.SendAndWait(ctx, MessageOptions{Prompt: prompt})
}

// SetModelOptions are the optional parts of a model switch.
type SetModelOptions struct {
	// ReasoningEffort for models that reason ("low", "medium", "high", ...).
	ReasoningEffort   *string
	ReasoningSummary  *ReasoningSummary
	ContextTier       *ContextTier
	ModelCapabilities *rpc.ModelCapabilitiesOverride
	// AutoTier stages an Auto routing preference together with selecting the
	// "auto" model (the CLI refuses it for any other model); nil leaves the
	// current preference alone. Experimental.
	AutoTier *AutoTier
	// ResetAutoTier returns to the provider's default Auto routing with this
	// switch (wire: autoTier null). Not together with AutoTier. Experimental.
	ResetAutoTier bool
}

// SetModel switches the session's model for the next turns (`session.model.switchTo`).
func (s *Session) SetModel(ctx context.Context, model string, opts *SetModelOptions) error {
	req := &rpc.ModelSwitchToRequest{ModelID: model}
	// autoTier has three states on the wire: absent (keep), a tier, or null
	// (reset), which the generated *AutoTier with omitempty cannot say.
	var autoTier json.RawMessage
	if opts != nil {
		if opts.AutoTier != nil && opts.ResetAutoTier {
			return &Error{Status: StatusInvalidArgument, Message: "SetModel: AutoTier and ResetAutoTier are mutually exclusive"}
		}
		req.ReasoningEffort, req.ReasoningSummary = opts.ReasoningEffort, opts.ReasoningSummary
		req.ContextTier, req.ModelCapabilities = opts.ContextTier, opts.ModelCapabilities
		switch {
		case opts.ResetAutoTier:
			autoTier = json.RawMessage("null")
		case opts.AutoTier != nil:
			autoTier, _ = json.Marshal(*opts.AutoTier)
		}
	}
	if autoTier == nil {
		_, err := s.RPC.Model.SwitchTo(ctx, req)
		return err
	}
	wire := struct {
		*rpc.ModelSwitchToRequest
		AutoTier json.RawMessage `json:"autoTier"`
	}{req, autoTier}
	return s.Call(ctx, "session.model.switchTo", wire, nil)
}

// SetAutoTier asks for an Auto routing preference without changing the model
// (`session.model.switchAutoTier`); nil returns to the provider's default.
func (s *Session) SetAutoTier(ctx context.Context, autoTier *AutoTier) (*rpc.ModelSwitchAutoTierResult, error) {
	return s.RPC.Model.SwitchAutoTier(ctx, &rpc.ModelSwitchAutoTierRequest{AutoTier: autoTier})
}

// LogOptions are the optional parts of Log.
type LogOptions struct {
	// Level defaults to "info".
	Level rpc.SessionLogLevel
	// Ephemeral messages are shown but not kept in the session's history.
	Ephemeral *bool
}

// Log writes a message to the session's timeline (`session.log`).
func (s *Session) Log(ctx context.Context, message string, opts *LogOptions) error {
	req := &rpc.LogRequest{Message: message}
	if opts != nil {
		if opts.Level != "" {
			level := opts.Level
			req.Level = &level
		}
		req.Ephemeral = opts.Ephemeral
	}
	_, err := s.RPC.Log(ctx, req)
	return err
}

// Send sends a message and returns its id without waiting for the turn.
func (s *Session) Send(ctx context.Context, msg MessageOptions) (string, error) {
	return blocking(ctx, func() (string, error) {
		h, err := s.acquire()
		if err != nil {
			return "", err
		}
		defer s.release()
		b, _ := json.Marshal(msg)
		m := cString(string(b))
		defer free(m)
		var id *C.char
		var cerr *C.copilot_error
		err = errorFrom(C.copilot_session_send(h, m, &id, &cerr), cerr)
		return takeString(id), err
	})
}

// WaitOptions guard SendAndWaitWith against turns that stall.
type WaitOptions struct {
	// FirstEventTimeout fails with ErrNoFirstEvent when the turn produces no event this soon.
	FirstEventTimeout time.Duration
	// MaxSilence fails with ErrStalled when the turn is silent this long between events.
	MaxSilence time.Duration
	// AbortOnStall also aborts the turn when a guard fires.
	AbortOnStall bool
}

// SendAndWait sends a message and waits for the turn to end; it returns the
// turn's last assistant.message (nil if none). The wait ends at ctx's deadline
// (default 60 s); a cancelled ctx returns at once and aborts the turn.
func (s *Session) SendAndWait(ctx context.Context, msg MessageOptions) (*SessionEvent, error) {
	return s.SendAndWaitWith(ctx, msg, WaitOptions{})
}

// SendAndWaitWith is SendAndWait with stall guards.
func (s *Session) SendAndWaitWith(ctx context.Context, msg MessageOptions, wait WaitOptions) (*SessionEvent, error) {
	timeout := 60 * time.Second
	if ctx == nil {
		ctx = context.Background()
	}
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
		if timeout <= 0 {
			return nil, context.DeadlineExceeded
		}
	}
	ev, err := blocking(ctx, func() (*SessionEvent, error) {
		h, err := s.acquire()
		if err != nil {
			return nil, err
		}
		defer s.release()
		b, _ := json.Marshal(msg)
		m := cString(string(b))
		defer free(m)
		var out *C.char
		var cerr *C.copilot_error
		ms := C.uint32_t(timeout.Milliseconds())
		if ms == 0 {
			ms = 1
		}
		w := map[string]any{"timeoutMs": int64(ms), "abortOnStall": wait.AbortOnStall}
		if wait.FirstEventTimeout > 0 {
			w["firstEventTimeoutMs"] = wait.FirstEventTimeout.Milliseconds()
		}
		if wait.MaxSilence > 0 {
			w["maxSilenceMs"] = wait.MaxSilence.Milliseconds()
		}
		wb, _ := json.Marshal(w)
		wj := cString(string(wb))
		defer free(wj)
		err = errorFrom(C.copilot_session_send_and_wait_opts(h, m, wj, &out, &cerr), cerr)
		raw := takeString(out)
		if err != nil || raw == "" {
			return nil, err
		}
		e := parseEvent([]byte(raw))
		return &e, nil
	})
	if ctx.Err() == context.Canceled {
		_ = s.Abort(context.Background())
	}
	return ev, err
}

// Abort stops the current turn (`session.abort`).
func (s *Session) Abort(ctx context.Context) error {
	_, err := blocking(ctx, func() (struct{}, error) {
		h, err := s.acquire()
		if err != nil {
			return struct{}{}, err
		}
		defer s.release()
		var cerr *C.copilot_error
		err = errorFrom(C.copilot_session_abort(h, &cerr), cerr)
		return struct{}{}, err
	})
	return err
}

// GetMessages is GetEvents under its pre-1.0 name.
//
// Deprecated: use GetEvents.
func (s *Session) GetMessages(ctx context.Context) ([]SessionEvent, error) { return s.GetEvents(ctx) }

// GetEvents returns the session's persisted events, oldest first (`session.getMessages`).
func (s *Session) GetEvents(ctx context.Context) ([]SessionEvent, error) {
	raw, err := blocking(ctx, func() (string, error) {
		h, err := s.acquire()
		if err != nil {
			return "", err
		}
		defer s.release()
		var out *C.char
		var cerr *C.copilot_error
		err = errorFrom(C.copilot_session_get_messages(h, &out, &cerr), cerr)
		return takeString(out), err
	})
	if err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &items); err != nil {
		return nil, err
	}
	events := make([]SessionEvent, len(items))
	for i, it := range items {
		events[i] = parseEvent(it)
	}
	return events, nil
}

// Call invokes any session-scoped protocol method; sessionId is added. A
// deadline on ctx also limits the native call (copilot_session_call_timeout),
// so a request the CLI leaves unanswered (session.ui.elicitation with no
// elicitation handler) fails with the context instead of waiting forever.
func (s *Session) Call(ctx context.Context, method string, params any, out any) error {
	raw, err := blocking(ctx, func() (string, error) {
		h, err := s.acquire()
		if err != nil {
			return "", err
		}
		defer s.release()
		p, err := marshalParams(params)
		if err != nil {
			return "", err
		}
		m, pj := cString(method), cString(p)
		defer free(m)
		defer free(pj)
		var res *C.char
		var cerr *C.copilot_error
		err = errorFrom(C.copilot_session_call_timeout(h, m, pj, timeoutMs(ctx), &res, &cerr), cerr)
		return takeString(res), err
	})
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal([]byte(raw), out)
}

// SessionEventHandler receives a session's events.
type SessionEventHandler func(event SessionEvent)

// On subscribes to the session's events; handlers run one at a time in wire
// order. The returned function unsubscribes.
func (s *Session) On(handler SessionEventHandler) (unsubscribe func()) {
	h, err := s.acquire()
	if err != nil {
		return func() {}
	}
	defer s.release()
	sub := &eventSubscriber{fn: handler}
	handle := handleOf(sub)
	var id C.uint64_t
	var cerr *C.copilot_error
	if errorFrom(C.session_subscribe(h, handle, &id, &cerr), cerr) != nil {
		deleteHandle(handle)
		return func() {}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			sub.mu.Lock()
			sub.removed = true
			sub.mu.Unlock()
			if h, err := s.acquire(); err == nil {
				C.copilot_session_unsubscribe(h, id, nil)
				s.release()
			}
		})
	}
}

// Disconnect destroys the session in the CLI (its history stays on disk for
// ResumeSession) and frees it. New calls of the session fail with
// ErrInvalidState from its start. It waits for the destroy's round trip but
// not for calls in flight, including one whose cancelled context returned
// while its native call goes on: they keep the session (a SendAndWait ends
// with ErrInvalidState once it is destroyed), and the native session is freed
// when the last of them returns, never under one. Idempotent; legal in
// handlers.
func (s *Session) Disconnect() error {
	h, _ := s.ref.close()
	if h == nil {
		return nil
	}
	runtime.SetFinalizer(s, nil)
	defer s.release()
	var cerr *C.copilot_error
	return errorFrom(C.copilot_session_destroy(h, &cerr), cerr)
}

// free is the finalizer of a session dropped without Disconnect.
func (s *Session) free() {
	if h, _ := s.ref.close(); h != nil {
		s.release()
	}
}

// needsIDUpFront: handlers whose requests do not carry the session id are
// set, and nothing else decides the id (a session id in Extra, or a cloud
// session, whose id the server picks).
func (cfg *SessionConfig) needsIDUpFront() bool {
	if cfg.OnElicitationRequest == nil && cfg.OnMCPAuthRequest == nil && len(cfg.Commands) == 0 &&
		cfg.CreateSessionFSProvider == nil {
		return false
	}
	_, id := cfg.Extra["sessionId"]
	_, cloud := cfg.Extra["cloud"]
	return !id && !cloud
}
