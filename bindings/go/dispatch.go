package copilot

/*
#include "copilot.h"
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// Every client runs in the library's poll mode ("dispatch": "poll"): its
// callbacks (events, tools, permission and host requests, hooks) run on a
// goroutine of this package, parked in Go's netpoller on the client's
// dispatch fd, which calls copilot_client_dispatch when it is readable.
//
// Why not the library's own callback thread: a callback from a thread Go did
// not start leaves the runtime's P in the syscall state when it returns, so a
// goroutine it started (every tool and permission handler runs on one) waited
// for sysmon to take that P back. Here a handler's goroutine runs as soon as
// the dispatching goroutine parks, and callbacks enter Go from a Go thread,
// the cheap way. (Measured in benches/: about half of what the wrapper added
// to C's tool round trip.)
//
// The guarantees are the callback thread's (this package's comments call the
// loop that): one callback at a time, in wire order, and a handler that
// blocks holds the client's later callbacks back (the library then stops
// reading the CLI, nothing is dropped).

// dispatchBatch is how many callbacks one copilot_client_dispatch runs before
// the loop checks for Close; a batch callback carries many events.
const dispatchBatch = 256

// dispatchLoop is the goroutine running one client's callbacks.
type dispatchLoop struct {
	// file is a duplicate of the client's dispatch fd (the library owns and
	// closes the original), registered with Go's netpoller. Closing it wakes
	// and ends the loop.
	file     *os.File
	stopOnce sync.Once
	done     chan struct{} // closed when the loop has ended
}

// startDispatch starts the loop of a poll-mode client. The loop holds a
// reference to the native client only while it dispatches, so Close never
// waits for it, and a Close from a handler frees the client once the
// callbacks of that dispatch have run.
func startDispatch(conn *clientConn, h *C.copilot_client) (*dispatchLoop, error) {
	fd := int(C.copilot_client_dispatch_fd(h))
	if fd < 0 {
		return nil, &Error{Status: StatusInvalidState, Message: "libcopilot did not create the client in poll mode"}
	}
	// Close-on-exec set under ForkLock, as package os does, so a CLI spawned
	// meanwhile never inherits it.
	syscall.ForkLock.RLock()
	dup, err := syscall.Dup(fd)
	if err == nil {
		syscall.CloseOnExec(dup)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("copilot: duplicating the dispatch fd: %w", err)
	}
	// The fd is non-blocking, so os.NewFile registers it with the netpoller.
	file := os.NewFile(uintptr(dup), "copilot-dispatch")
	raw, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("copilot: polling the dispatch fd: %w", err)
	}
	d := &dispatchLoop{file: file, done: make(chan struct{})}
	go d.run(conn, raw)
	return d, nil
}

func (d *dispatchLoop) run(conn *clientConn, raw syscall.RawConn) {
	defer close(d.done)
	defer d.stop()
	for {
		h := conn.ref.acquire()
		if h == nil {
			return // closed: the free drops whatever still waits
		}
		// Its errors (another dispatcher, not poll mode) cannot happen:
		// this loop is the client's only dispatcher.
		var remaining C.size_t
		C.copilot_client_dispatch(h, dispatchBatch, &remaining, nil)
		conn.ref.release()
		if remaining > 0 {
			continue
		}
		// Park until the fd turns readable. Go's netpoller is
		// edge-triggered and the library signals each callback it queues,
		// so one queued after the dispatch above has already woken this.
		parked := false
		if err := raw.Read(func(uintptr) bool {
			done := parked
			parked = true
			return done
		}); err != nil {
			return // the file was closed by Close
		}
	}
}

// stop ends the loop (Close): it never waits for it. Nil-safe.
func (d *dispatchLoop) stop() {
	if d != nil {
		d.stopOnce.Do(func() { _ = d.file.Close() })
	}
}

// handlerPool runs tool, permission and host-request handlers off the dispatch
// goroutine, so a slow one never holds events up.
var handlerPool workerPool

// handlerIdleTimeout is how long a worker without work waits before it exits.
const handlerIdleTimeout = 10 * time.Second

// workerPool runs each function on a goroutine of its own, reusing idle ones:
// a fresh goroutine per call started on a small stack and grew it (copying
// it) several times through JSON and cgo, a measurable part of a tool round
// trip. Workers are started as calls need them, with no limit (handlers may
// block for minutes, waiting on a user), and exit after handlerIdleTimeout.
type workerPool struct {
	jobs chan func() // unbuffered: a send succeeds only into an idle worker
	once sync.Once
}

func (p *workerPool) run(f func()) {
	p.once.Do(func() { p.jobs = make(chan func()) })
	select {
	case p.jobs <- f:
	default:
		go p.work(f)
	}
}

func (p *workerPool) work(f func()) {
	idle := time.NewTimer(handlerIdleTimeout)
	defer idle.Stop()
	for {
		f()
		idle.Reset(handlerIdleTimeout)
		select {
		case f = <-p.jobs:
		case <-idle.C:
			return
		}
	}
}
