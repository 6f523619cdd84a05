//! A host-provided session filesystem (`sessionFs.*` requests).

use crate::Scenario;

pub fn all() -> Vec<Scenario> {
    vec![]
}
