package copilot

import (
	"sync"
	"sync/atomic"
)

// handleRef owns one native handle that calls use concurrently with its
// close. Every call holds a reference while the library may touch the handle
// (a call a cancelled context gave up on included); close only marks the
// handle closed, and whoever drops the last reference frees it. So the free
// never runs under a native call, and close never waits for one.
//
// The mutex is held only to count, never across a native call, so handlers
// on the callback thread may use and close handles without deadlock.
//
// P is the handle's pointer type (cgo's incomplete struct types cannot be
// type arguments themselves).
type handleRef[P comparable] struct {
	mu     sync.Mutex
	p      P
	refs   int // calls in flight, the closer's own included
	closed bool
	free   func(P)
}

func (r *handleRef[P]) init(p P, free func(P)) {
	r.p, r.free = p, free
}

// acquire returns the handle, in use until release, or nil once closed.
func (r *handleRef[P]) acquire() P {
	var none P
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.p == none {
		return none
	}
	r.refs++
	return r.p
}

// release drops a reference; the last one after close frees the handle.
func (r *handleRef[P]) release() {
	var p, none P
	r.mu.Lock()
	r.refs--
	if r.refs < 0 {
		r.mu.Unlock()
		panic("copilot: native handle released more often than acquired")
	}
	if r.closed && r.refs == 0 {
		p, r.p = r.p, none
	}
	r.mu.Unlock()
	if p != none {
		if f := freeHook.Load(); f != nil {
			(*f)(r)
		}
		r.free(p)
	}
}

// close marks the handle closed, so acquire fails from now on. The first
// time, it returns the handle with a reference the caller must release (for
// a last native call, such as interrupting the calls in flight) and how many
// other calls are in flight; afterwards nil.
func (r *handleRef[P]) close() (p P, busy int) {
	var none P
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.p == none {
		r.closed = true
		return none, 0
	}
	r.closed = true
	busy = r.refs
	r.refs++
	return r.p, busy
}

// inFlight is the number of references held, for the tests.
func (r *handleRef[P]) inFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refs
}

// freeHook, when set (by the tests), is told of every native free just
// before it happens, with the handleRef freeing.
var freeHook atomic.Pointer[func(ref any)]
