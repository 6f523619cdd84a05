//! Suspending sessions, per-session authentication, several BYOK providers in one
//! session, and the session shell and fleet RPCs.

use crate::Scenario;

pub fn all() -> Vec<Scenario> {
    vec![]
}
