//go:build copilotdev

package copilot

// Development inside the libcopilot repository (`go test -tags copilotdev`):
// the header from include/ and the library cargo just built in target/debug,
// with an rpath to it, so tests and examples load that build. Binaries built
// this way record the checkout's path: never ship them.
//
// A build tag rather than another pkg-config file, because Go's build cache
// does not notice when pkg-config's answer changes (golang/go#24544): the
// tag gives development builds cache entries of their own, so a later build
// without it never reuses objects that carry this rpath, nor the reverse.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../target/debug -Wl,-rpath,${SRCDIR}/../../target/debug -lcopilot
import "C"
