package copilot

/*
#include "copilot.h"

extern copilot_status client_on_lifecycle(copilot_client *c, uintptr_t h, copilot_error **e);
*/
import "C"

import (
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// SessionLifecycleEventType is the kind of a session lifecycle notification.
type SessionLifecycleEventType string

// Lifecycle notification types; the CLI may send others.
const (
	SessionLifecycleCreated    SessionLifecycleEventType = "session.created"
	SessionLifecycleDeleted    SessionLifecycleEventType = "session.deleted"
	SessionLifecycleUpdated    SessionLifecycleEventType = "session.updated"
	SessionLifecycleForeground SessionLifecycleEventType = "session.foreground"
	SessionLifecycleBackground SessionLifecycleEventType = "session.background"
)

// SessionLifecycleEvent is one `session.lifecycle` notification:
// `{"type", "sessionId", "metadata"?: {"startTime", "modifiedTime", "summary"?}}`.
type SessionLifecycleEvent struct {
	Type      SessionLifecycleEventType      `json:"type"`
	SessionID string                         `json:"sessionId"`
	Metadata  *SessionLifecycleEventMetadata `json:"metadata,omitempty"`
	// Raw is the whole notification as the CLI sent it.
	Raw json.RawMessage `json:"-"`
}

// SessionLifecycleEventMetadata describes the session a notification is about.
type SessionLifecycleEventMetadata struct {
	StartTime    time.Time `json:"startTime"`
	ModifiedTime time.Time `json:"modifiedTime"`
	Summary      *string   `json:"summary,omitempty"`
}

// SessionLifecycleHandler receives session lifecycle notifications.
type SessionLifecycleHandler func(SessionLifecycleEvent)

// lifecycleHub is the client's one native lifecycle handler; it fans each
// notification out to the Go handlers currently subscribed.
type lifecycleHub struct {
	mu         sync.Mutex
	next       uint64
	subs       map[uint64]lifecycleSub
	registered bool
}

type lifecycleSub struct {
	only SessionLifecycleEventType // "" for every type
	fn   SessionLifecycleHandler
}

func (h *lifecycleHub) deliver(typ string, raw []byte) {
	var ev SessionLifecycleEvent
	if json.Unmarshal(raw, &ev) != nil {
		// Metadata of another shape: keep what identifies the notification.
		var bare struct {
			SessionID string `json:"sessionId"`
		}
		_ = json.Unmarshal(raw, &bare)
		ev = SessionLifecycleEvent{SessionID: bare.SessionID}
	}
	ev.Type, ev.Raw = SessionLifecycleEventType(typ), json.RawMessage(raw)
	h.mu.Lock()
	ids := make([]uint64, 0, len(h.subs))
	for id := range h.subs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	fns := make([]SessionLifecycleHandler, 0, len(ids))
	for _, id := range ids {
		if s := h.subs[id]; s.only == "" || s.only == ev.Type {
			fns = append(fns, s.fn)
		}
	}
	h.mu.Unlock()
	for _, fn := range fns {
		func() {
			defer func() { _ = recover() }() // a panicking handler must not stop the others
			fn(ev)
		}()
	}
}

// On subscribes handler to the server's session lifecycle
// notifications (`session.lifecycle`): the CLI
// tells every connected client when any session is created, deleted or
// updated, or moves to the foreground or background, whichever client caused
// it. Subscribe before creating sessions to miss none.
//
// Handlers run on the client's callback thread, one at a time, in the order
// the notifications arrived, and hold up the client's events and other
// callbacks while they run: keep them quick, and start a goroutine for
// anything that blocks, such as calls to the client or its sessions (there
// Stop and SendAndWait refuse with StatusWrongThread, and a call whose answer
// needs another callback of this client would never complete). A panic is
// recovered.
//
// The returned function unsubscribes handler. The C API cannot remove a
// lifecycle handler (copilot_client_on_lifecycle registers one for the life
// of the client), so the wrapper registers a single native handler on the
// first subscription and unsubscribing only stops the calls of this handler.
// On a closed client nothing is subscribed.
func (c *Client) On(handler SessionLifecycleHandler) (unsubscribe func()) {
	return c.subscribeLifecycle("", handler)
}

// OnEventType is On for notifications of one type only.
func (c *Client) OnEventType(typ SessionLifecycleEventType, handler SessionLifecycleHandler) (unsubscribe func()) {
	return c.subscribeLifecycle(typ, handler)
}

// OnLifecycle is On under its pre-1.0 name.
//
// Deprecated: use On.
func (c *Client) OnLifecycle(handler SessionLifecycleHandler) func() { return c.On(handler) }

// OnLifecycleEventType is OnEventType under its pre-1.0 name.
//
// Deprecated: use OnEventType.
func (c *Client) OnLifecycleEventType(typ SessionLifecycleEventType, handler SessionLifecycleHandler) func() {
	return c.OnEventType(typ, handler)
}

func (c *Client) subscribeLifecycle(only SessionLifecycleEventType, handler SessionLifecycleHandler) func() {
	if handler == nil {
		return func() {}
	}
	hub := c.life
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if !hub.registered {
		h, err := c.acquire()
		if err != nil {
			return func() {}
		}
		handle := handleOf(hub)
		var cerr *C.copilot_error
		err = errorFrom(C.client_on_lifecycle(h, handle, &cerr), cerr)
		c.release()
		if err != nil {
			deleteHandle(handle)
			return func() {}
		}
		hub.registered = true
	}
	if hub.subs == nil {
		hub.subs = map[uint64]lifecycleSub{}
	}
	hub.next++
	id := hub.next
	hub.subs[id] = lifecycleSub{only: only, fn: handler}
	return func() {
		hub.mu.Lock()
		delete(hub.subs, id)
		hub.mu.Unlock()
	}
}
