//! MCP servers, custom agents and skills passed in session config, and the session/server MCP and skills RPCs.

use crate::Scenario;

pub fn all() -> Vec<Scenario> {
    vec![]
}
