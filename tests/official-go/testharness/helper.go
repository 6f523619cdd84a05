package testharness

import (
	"context"
	"errors"
	"sync"

	copilot "github.com/github/copilot-sdk/go"
)

// EventWaiter is a subscription made before the action that should produce
// an event, so the event cannot be missed. Wait for the outcome; Close it
// when the action fails before Wait is reached.
type EventWaiter struct {
	done        chan waitOutcome // buffered: holds the first outcome
	settle      sync.Once
	stop        sync.Once
	unsubscribe func()
}

type waitOutcome struct {
	event *copilot.SessionEvent
	err   error
}

func newEventWaiter() *EventWaiter {
	return &EventWaiter{done: make(chan waitOutcome, 1)}
}

// finish records the first outcome; later ones are dropped.
func (w *EventWaiter) finish(event *copilot.SessionEvent, err error) {
	w.settle.Do(func() { w.done <- waitOutcome{event, err} })
}

// Wait returns the outcome, or ctx's error if ctx ends first (there is no
// timeout of its own), and closes the subscription. An outcome that arrived
// before Wait was called is kept for it.
func (w *EventWaiter) Wait(ctx context.Context) (*copilot.SessionEvent, error) {
	defer w.Close()
	select {
	case o := <-w.done:
		return o.event, o.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close ends the subscription; calling it again does nothing.
func (w *EventWaiter) Close() {
	w.stop.Do(func() {
		if w.unsubscribe != nil {
			w.unsubscribe()
		}
	})
}

// SubscribeToFinalAssistantMessage waits for the end of the next turn: the
// last assistant.message before session.idle. An idle session without one,
// or session.error, is an error. Subscribe before the action that starts the
// turn: session.idle is not kept in the session's history.
func SubscribeToFinalAssistantMessage(session *copilot.Session) *EventWaiter {
	w := newEventWaiter()
	var (
		mu   sync.Mutex
		last *copilot.SessionEvent
	)
	w.unsubscribe = session.On(func(event copilot.SessionEvent) {
		switch data := event.Data.(type) {
		case *copilot.AssistantMessageData:
			mu.Lock()
			e := event
			last = &e
			mu.Unlock()
		case *copilot.SessionIdleData:
			mu.Lock()
			final := last
			mu.Unlock()
			if final == nil {
				w.finish(nil, errors.New("the session went idle without an assistant message"))
			} else {
				w.finish(final, nil)
			}
		case *copilot.SessionErrorData:
			w.finish(nil, errors.New(data.Message))
		}
	})
	return w
}

// SubscribeToEvent waits for the next event of eventType; a session.error
// first is an error. Subscribe before the action that causes the event.
func SubscribeToEvent(session *copilot.Session, eventType copilot.SessionEventType) *EventWaiter {
	w := newEventWaiter()
	w.unsubscribe = session.On(func(event copilot.SessionEvent) {
		switch event.Type() {
		case eventType:
			e := event
			w.finish(&e, nil)
		case copilot.SessionEventTypeSessionError:
			w.finish(nil, sessionError(event))
		}
	})
	return w
}

// GetFinalAssistantMessageFromHistory reads the session's history and
// returns the last assistant.message of the latest turn (from the last
// user.message on); a session.error in that turn is returned as an error. It
// does not wait: use it only for a turn already known to be over.
func GetFinalAssistantMessageFromHistory(ctx context.Context, session *copilot.Session) (*copilot.SessionEvent, error) {
	history, err := session.GetEvents(ctx)
	if err != nil {
		return nil, err
	}
	turn := history
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].Type() == copilot.SessionEventTypeUserMessage {
			turn = history[i:]
			break
		}
	}
	for _, e := range turn {
		if e.Type() == copilot.SessionEventTypeSessionError {
			return nil, sessionError(e)
		}
	}
	for i := len(turn) - 1; i >= 0; i-- {
		if turn[i].Type() == copilot.SessionEventTypeAssistantMessage {
			e := turn[i]
			return &e, nil
		}
	}
	return nil, errors.New("the latest turn has no assistant message")
}

// sessionError is the error a session.error event reports.
func sessionError(event copilot.SessionEvent) error {
	if data, ok := event.Data.(*copilot.SessionErrorData); ok && data.Message != "" {
		return errors.New(data.Message)
	}
	return errors.New("session error")
}
