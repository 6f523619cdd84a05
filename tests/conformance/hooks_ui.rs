//! Hooks beyond the basic tool hooks, elicitation and the other UI handlers, system message transforms, modes, resume with pending work, suspend, and several clients on one server.

use crate::Scenario;

pub fn all() -> Vec<Scenario> {
    vec![]
}
