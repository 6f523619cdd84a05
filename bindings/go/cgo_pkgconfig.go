//go:build !copilotdev

package copilot

// An installed libcopilot, found by pkg-config (`pkg-config --cflags --libs
// copilot`): the copilot.pc that scripts/install.sh puts in PREFIX/lib/pkgconfig.
// No path is named here, so none ends up in a binary; the program finds
// libcopilot.so.1 at run time the way the system loader does (ldconfig,
// LD_LIBRARY_PATH, or an rpath the application adds itself).

// #cgo pkg-config: copilot
import "C"
