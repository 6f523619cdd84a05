//! (being written)

use crate::Scenario;

pub fn all() -> Vec<Scenario> {
    vec![]
}
