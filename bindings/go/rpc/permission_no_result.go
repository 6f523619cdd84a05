package rpc

import "encoding/json"

// PermissionDecisionNoResult is the decision a permission handler returns to
// leave the request unanswered: nothing goes on the wire, the request stays
// pending in the CLI for another client connected to the same server, or for
// a later session.permissions.handlePendingPermissionRequest. Hand-written:
// the schema has no such decision, it exists only in the SDKs.
type PermissionDecisionNoResult struct{}

func (PermissionDecisionNoResult) permissionDecision() {}

// Kind returns "no-result".
func (PermissionDecisionNoResult) Kind() PermissionDecisionKind { return "no-result" }

// MarshalJSON writes {"kind":"no-result"}, which libcopilot reads as "answer nothing".
func (PermissionDecisionNoResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"kind": "no-result"})
}
