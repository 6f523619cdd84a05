package copilot

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The lifetime rules of handles under concurrent Close (Disconnect for
// sessions), calls and cancelled contexts: no call sees anything but success,
// the closed error or its context's; Close never waits for a call; each native
// handle is freed exactly once, after the last call using it returned.

// freeLog counts the native frees, by handleRef (see freeHook).
type freeLog struct {
	mu    sync.Mutex
	count map[any]int
}

func watchFrees(t *testing.T) *freeLog {
	l := &freeLog{count: map[any]int{}}
	hook := func(ref any) {
		l.mu.Lock()
		l.count[ref]++
		l.mu.Unlock()
	}
	freeHook.Store(&hook)
	t.Cleanup(func() { freeHook.Store(nil) })
	return l
}

func (l *freeLog) of(ref any) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count[ref]
}

// expectFreedOnce waits up to d for every ref to be freed, failing on one
// freed twice or not at all.
func (l *freeLog) expectFreedOnce(t *testing.T, d time.Duration, refs ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		pending := 0
		for _, r := range refs {
			switch n := l.of(r); {
			case n > 1:
				t.Fatalf("a native handle was freed %d times", n)
			case n == 0:
				pending++
			}
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d native handles not freed %v after the test's calls returned", pending, len(refs), d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitDone waits for wg, failing with every goroutine's stack after d: a
// deadlock, or a call Close did not end.
func waitDone(t *testing.T, wg *sync.WaitGroup, d time.Duration, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		buf := make([]byte, 1<<20)
		t.Fatalf("%s still running after %v:\n%s", what, d, buf[:runtime.Stack(buf, true)])
	}
}

// raceCtx is a call's context: none, already cancelled, cancelled a moment
// later, or a short deadline (which the library may report as its timeout).
func raceCtx(rng *rand.Rand) (ctx context.Context, deadline bool, cancel context.CancelFunc) {
	switch rng.IntN(4) {
	case 0:
		return context.Background(), false, func() {}
	case 1:
		ctx, cancel = context.WithCancel(context.Background())
		cancel()
		return ctx, false, cancel
	case 2:
		ctx, cancel = context.WithCancel(context.Background())
		time.AfterFunc(time.Duration(rng.IntN(3000))*time.Microsecond, cancel)
		return ctx, false, cancel
	default:
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(1+rng.IntN(20))*time.Millisecond)
		return ctx, true, cancel
	}
}

// settled: what a call racing Close may return.
func settled(err error, deadline bool) bool {
	switch {
	case err == nil, errors.Is(err, ErrInvalidState),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return deadline && errors.Is(err, ErrTimeout)
}

// isClosedError: the wrapper's own error for a closed handle.
func isClosedError(err error, msg string) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == StatusInvalidState && e.Message == msg
}

// sessionOp runs one random call of s.
func sessionOp(t *testing.T, s *Session, rng *rand.Rand) {
	ctx, deadline, cancel := raceCtx(rng)
	defer cancel()
	var err error
	op := rng.IntN(6)
	switch op {
	case 0:
		var mode string
		err = s.Call(ctx, "session.mode.get", nil, &mode)
	case 1:
		_, err = s.GetMessages(ctx)
	case 2:
		_, err = s.Send(ctx, MessageOptions{Prompt: "What is the capital of France?"})
	case 3:
		_, err = s.SendAndWait(ctx, MessageOptions{Prompt: "What is the capital of France?"})
	case 4:
		err = s.Abort(ctx)
	case 5:
		s.On(func(SessionEvent) {})()
	}
	if !settled(err, deadline) {
		t.Errorf("session op %d: %v", op, err)
	}
}

// 200 sessions of one client (the real CLI), each used by several goroutines
// with cancelled and expiring contexts while it is disconnected, twice; in
// some, an event handler calls the session, or disconnects it, from the
// callback thread.
func TestSessionDisconnectRacesCallsAndCancellations(t *testing.T) {
	const iterations, workers = 200, 4
	env := newEnv(t, "chat.yaml")
	frees := watchFrees(t)
	c := env.client(t)
	if err := c.Start(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	var mu sync.Mutex
	var refs []any
	var deferred atomic.Int32 // Disconnects that left the free to a call still running
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := w; i < iterations; i += workers {
				var self atomic.Pointer[Session]
				fromHandler := i % 4
				s, err := c.CreateSession(context.Background(), env.config(SessionConfig{
					OnEvent: func(SessionEvent) {
						s := self.Load()
						switch {
						case s == nil:
						case fromHandler == 1:
							if err := s.Call(context.Background(), "session.mode.get", nil, nil); !settled(err, false) {
								t.Errorf("call from a handler: %v", err)
							}
						case fromHandler == 2:
							_ = s.Disconnect()
						}
					},
				}))
				if err != nil {
					t.Errorf("iteration %d: %v", i, err)
					return
				}
				self.Store(s)
				mu.Lock()
				refs = append(refs, &s.ref)
				mu.Unlock()
				var calls sync.WaitGroup
				for k := 0; k < 4; k++ {
					r := rand.New(rand.NewPCG(rng.Uint64(), uint64(k)))
					calls.Add(1)
					go func() {
						defer calls.Done()
						sessionOp(t, s, r)
						sessionOp(t, s, r)
					}()
				}
				pause := time.Duration(rng.IntN(4000)) * time.Microsecond
				for k := 0; k < 2; k++ {
					calls.Add(1)
					go func() {
						defer calls.Done()
						time.Sleep(pause)
						_ = s.Disconnect() // its error is session.destroy's, not this test's business
						if s.ref.inFlight() > 0 && frees.of(&s.ref) == 0 {
							deferred.Add(1)
						}
						if _, err := s.GetMessages(context.Background()); !isClosedError(err, "the session is disconnected") {
							t.Errorf("a call after Disconnect: %v", err)
						}
					}()
				}
				calls.Wait()
			}
		}(w)
	}
	waitDone(t, &wg, 60*time.Second, "the sessions' calls")
	frees.expectFreedOnce(t, 15*time.Second, refs...)
	t.Logf("%d sessions; %d Disconnects returned with calls still using the session", len(refs), deferred.Load())
}

// Clients with the real CLI closed while calls are in flight: one that would
// wait until the client dies, a turn, and client and session calls with
// cancelled contexts. Close returns at once, the waiting calls end, and both
// handles are freed once. One client is closed by its own state handler, on
// the callback thread, while Start is running.
func TestClientCloseRacesCallsAndCancellations(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	frees := watchFrees(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for i := 0; i < 3; i++ {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		c := env.client(t)
		refs := []any{&c.conn.ref}
		if i == 1 {
			closed := make(chan struct{})
			var once sync.Once
			if err := c.OnStateChange(func(st ClientState, _ string) {
				_ = c.PID()
				if st == StateConnected {
					c.Close()
					once.Do(func() { close(closed) })
				}
			}); err != nil {
				t.Fatal(err)
			}
			if err := c.Start(within(t, 30*time.Second)); !settled(err, false) {
				t.Fatalf("start: %v", err)
			}
			receive(t, within(t, 10*time.Second), closed, "Close from the state handler")
			if _, err := c.CreateSession(context.Background(), env.config(SessionConfig{})); !isClosedError(err, "the client is closed") {
				t.Fatalf("a session of a client closed by its handler: %v", err)
			}
			frees.expectFreedOnce(t, 10*time.Second, refs...)
			continue
		}
		if err := c.Start(within(t, 30*time.Second)); err != nil {
			t.Fatalf("start: %v", err)
		}
		s, err := c.CreateSession(within(t, 20*time.Second), env.config(SessionConfig{}))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, &s.ref)
		var wg sync.WaitGroup
		// No client answers this elicitation: only the client's end ends the call.
		unanswered := make(chan error, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			unanswered <- c.Call(context.Background(), "session.ui.elicitation", map[string]any{
				"sessionId": s.SessionID, "message": "Pick one", "requestedSchema": map[string]any{
					"type": "object", "properties": map[string]any{"x": map[string]any{"type": "string"}}}}, nil)
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.SendAndWait(context.Background(), MessageOptions{Prompt: "Count from one to ten in words."}); !settled(err, false) {
				t.Errorf("turn: %v", err)
			}
		}()
		for k := 0; k < 4; k++ {
			r := rand.New(rand.NewPCG(rng.Uint64(), uint64(k)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; n < 20; n++ {
					ctx, deadline, cancel := raceCtx(r)
					var err error
					switch r.IntN(4) {
					case 0:
						_, err = c.Ping(ctx, "x")
					case 1:
						_, err = c.ListSessions(ctx, nil)
					case 2:
						_, _ = c.State(), c.PID()
					case 3:
						sessionOp(t, s, r)
					}
					cancel()
					if !settled(err, deadline) {
						t.Errorf("client call: %v", err)
					}
					time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond)
				}
			}()
		}
		time.Sleep(time.Duration(20+rng.IntN(30)) * time.Millisecond)
		if c.conn.ref.inFlight() == 0 {
			t.Fatal("no call in flight to race with")
		}
		start := time.Now()
		c.Close()
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Close took %v with calls in flight", d)
		}
		c.Close() // idempotent
		if err := c.Call(context.Background(), "ping", nil, nil); !isClosedError(err, "the client is closed") {
			t.Fatalf("a call after Close: %v", err)
		}
		waitDone(t, &wg, 10*time.Second, "calls of a closed client")
		if err := <-unanswered; !errors.Is(err, ErrInvalidState) {
			t.Fatalf("the call only the client's end could end: %v", err)
		}
		if err := s.Disconnect(); err != nil {
			t.Fatalf("disconnecting a session of a closed client: %v", err)
		}
		frees.expectFreedOnce(t, 10*time.Second, refs...)
	}
}

// A native call abandoned by its cancelled context keeps its handle: Close
// returns at once, and the free waits for that call (here a handshake no one
// answers, bounded by HandshakeTimeout).
func TestCloseLeavesTheFreeToTheLastCall(t *testing.T) {
	frees := watchFrees(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // accepted, never answered
		}
	}()
	c := NewClient(&ClientOptions{CLIUrl: ln.Addr().String(), HandshakeTimeout: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan error, 1)
	go func() { started <- c.Start(ctx) }()
	for deadline := time.Now().Add(time.Second); c.conn.ref.inFlight() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Start did not begin")
		}
	}
	cancel()
	if err := <-started; !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with a cancelled context: %v", err)
	}
	begin := time.Now()
	c.Close()
	if d := time.Since(begin); d > 200*time.Millisecond {
		t.Fatalf("Close waited %v for the abandoned Start", d)
	}
	if n, calls := frees.of(&c.conn.ref), c.conn.ref.inFlight(); n != 0 || calls != 1 {
		t.Fatalf("right after Close: %d frees, %d calls in flight; want the free left to the running Start", n, calls)
	}
	if _, err := c.Ping(context.Background(), ""); !isClosedError(err, "the client is closed") {
		t.Fatalf("a call after Close: %v", err)
	}
	frees.expectFreedOnce(t, 5*time.Second, &c.conn.ref)
	if n := c.conn.ref.inFlight(); n != 0 {
		t.Fatalf("%d references left", n)
	}
}

// Unstarted clients (no CLI can be found), 200 of them: their quick native
// calls race Close, from goroutines and from a state handler.
func TestCloseRacesQuickCalls(t *testing.T) {
	frees := watchFrees(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var refs []any
	for i := 0; i < 200; i++ {
		c := NewClient(&ClientOptions{CLIPath: "/nonexistent/copilot"})
		refs = append(refs, &c.conn.ref)
		if i%2 == 0 {
			_ = c.OnStateChange(func(ClientState, string) { c.Close() })
		}
		var wg sync.WaitGroup
		for k := 0; k < 4; k++ {
			r := rand.New(rand.NewPCG(rng.Uint64(), uint64(k)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; n < 5; n++ {
					ctx, deadline, cancel := raceCtx(r)
					var err error
					switch r.IntN(6) {
					case 0:
						err = c.Start(ctx)
					case 1:
						_, err = c.Ping(ctx, "x")
					case 2:
						_, err = c.CreateSession(ctx, &SessionConfig{})
					case 3:
						_, _ = c.State(), c.PID()
					case 4:
						c.OnLifecycle(func(SessionLifecycleEvent) {})()
					case 5:
						c.ForceStop()
					}
					cancel()
					if !settled(err, deadline) && !errors.Is(err, ErrCLINotFound) {
						t.Errorf("client call: %v", err)
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Close()
		}()
		waitDone(t, &wg, 10*time.Second, "calls of a closing client")
	}
	frees.expectFreedOnce(t, 10*time.Second, refs...)
}

// Handles dropped without Close are still freed, by the GC.
func TestGCFreesDroppedHandles(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	var mu sync.Mutex
	freed := map[string]int{}
	hook := func(ref any) {
		mu.Lock()
		freed[fmt.Sprintf("%p", ref)]++
		mu.Unlock()
	}
	freeHook.Store(&hook)
	t.Cleanup(func() { freeHook.Store(nil) })
	c := env.client(t)
	// Only the addresses: a reference would keep the handles alive.
	addrs := func() (client, session string) {
		dropped := NewClient(&ClientOptions{CLIPath: "/nonexistent/copilot"})
		s, err := c.CreateSession(within(t, 20*time.Second), env.config(SessionConfig{}))
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%p", &dropped.conn.ref), fmt.Sprintf("%p", &s.ref)
	}
	client, session := addrs()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		runtime.GC()
		mu.Lock()
		nc, ns := freed[client], freed[session]
		mu.Unlock()
		if nc == 1 && ns == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after GC: the client freed %d times, the session %d", nc, ns)
		}
	}
}
