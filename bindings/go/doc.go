// Package copilot is the Go wrapper of libcopilot: GitHub Copilot's agent
// runtime (the Copilot CLI driven over its JSON-RPC protocol) behind a C ABI,
// with an API that follows the official Go SDK.
//
// The package links libcopilot through cgo and pkg-config (`#cgo pkg-config:
// copilot`), so building it needs an installed libcopilot whose copilot.pc
// pkg-config finds. From a libcopilot checkout:
//
//	scripts/install.sh --prefix /usr/local && ldconfig   # /usr/local/lib/pkgconfig is searched by default
//
// For another prefix, set PKG_CONFIG_PATH=PREFIX/lib/pkgconfig when building,
// and let the loader find PREFIX/lib/libcopilot.so.1 when running: ldconfig,
// LD_LIBRARY_PATH, or CGO_LDFLAGS=-Wl,-rpath,PREFIX/lib when building.
//
// Inside the libcopilot repository, the copilotdev build tag links the
// development build in target/debug instead (cgo_dev.go):
//
//	cargo build -p copilot -p copilot-replay
//	cd bindings/go && go test -tags copilotdev ./...
//
// Programs also need the Copilot CLI at run time (StdioConnection.Path,
// COPILOT_CLI_PATH or `copilot` on PATH).
package copilot
