package copilot

import (
	"strings"
	"testing"
	"time"
)

// Lifecycle handlers see session.created for a session this client creates,
// typed ones only their type, and an unsubscribed one nothing more.
func TestLifecycleHandlerSeesSessionCreated(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	c := env.client(t)
	all := make(chan SessionLifecycleEvent, 64)
	created := make(chan SessionLifecycleEvent, 64)
	unsubscribe := c.OnLifecycle(func(e SessionLifecycleEvent) { all <- e })
	c.OnLifecycleEventType(SessionLifecycleCreated, func(e SessionLifecycleEvent) { created <- e })
	ctx := within(t, 20*time.Second)
	first, err := c.CreateSession(ctx, env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	waitCreated := func(ch chan SessionLifecycleEvent, id string) SessionLifecycleEvent {
		for {
			e := receive(t, ctx, ch, "session.created for "+id)
			if e.Type == SessionLifecycleCreated && e.SessionID == id {
				return e
			}
		}
	}
	e := waitCreated(all, first.SessionID)
	if len(e.Raw) == 0 || !strings.Contains(string(e.Raw), first.SessionID) {
		t.Fatalf("event %+v", e)
	}
	t.Logf("%s", e.Raw)
	waitCreated(created, first.SessionID)

	// Unsubscribed, the first handler misses the next session: handlers run
	// in subscription order, so it would have run before the second saw it.
	unsubscribe()
	second, err := c.CreateSession(ctx, env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	waitCreated(created, second.SessionID)
	for len(all) > 0 {
		if e := <-all; e.SessionID == second.SessionID {
			t.Fatalf("an unsubscribed handler saw %+v", e)
		}
	}
}
