//! Arbitrary bytes from the CLI's side of the connection: LSP framing,
//! JSON-RPC routing, replies to unknown ids, requests answered, session
//! events parsed. Run: `scripts/fuzz.sh [seconds]`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    copilot::fuzz::feed(data);
});
