//! Event fidelity, built-in and custom tools, tool results, and client/session lifecycle calls.

use crate::Scenario;

pub fn all() -> Vec<Scenario> {
    vec![]
}
