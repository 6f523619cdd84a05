module github.com/libcopilot/libcopilot/bindings/go

go 1.24

require (
	github.com/coder/websocket v1.8.15
	github.com/goccy/go-json v0.10.5
	github.com/google/jsonschema-go v0.4.3
	github.com/google/uuid v1.6.0
)
