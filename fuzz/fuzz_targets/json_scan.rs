//! The JSON scanner that validates every event against serde_json, on
//! arbitrary bytes: they must agree on what is JSON. Run: `scripts/fuzz.sh`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    copilot::fuzz::json_scan_agrees(data);
});
