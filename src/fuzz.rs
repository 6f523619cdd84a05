//! Entry point for the libFuzzer target in `fuzz/`: arbitrary bytes from the
//! "CLI" go through the same framing, JSON-RPC routing and event parsing as a
//! live connection, and requests are answered. Nothing here may panic, abort
//! or allocate past the frame limits.

use std::cell::RefCell;
use std::sync::Arc;

use crate::events::SessionEvent;
use crate::rpc::{codes, read_loop, Inbound, RpcPeer};

/// Body cap for fuzzing; the header cap is the production one. Smaller than
/// the production body cap only so each input runs fast.
const FUZZ_MAX_BODY: usize = 1024 * 1024;

thread_local! {
    static RUNTIME: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
}

/// Feeds `data` to a peer as if the CLI had written it.
pub fn feed(data: &[u8]) {
    RUNTIME.with(|rt| {
        let mut rt = rt.borrow_mut();
        let rt = rt.get_or_insert_with(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("fuzz runtime")
        });
        rt.block_on(async {
            let peer = RpcPeer::new(Box::new(tokio::io::sink()));
            let answer = peer.clone();
            let _why = read_loop(data, peer.clone(), FUZZ_MAX_BODY, move |inbound| {
                let peer: Arc<RpcPeer> = answer.clone();
                async move {
                    match inbound {
                        Inbound::Request { id, .. } => {
                            peer.respond::<()>(&id, Err((codes::METHOD_NOT_FOUND, "fuzz")));
                        }
                        Inbound::Events(mut events) => {
                            let (frames, buf) = events.parts_mut();
                            for frame in frames {
                                let bytes = &mut buf[frame.body.clone()];
                                if let Some(ev) =
                                    SessionEvent::parse("s", bytes, frame.session_id.clone())
                                {
                                    let _ = (ev.event_type(), ev.data::<serde_json::Value>());
                                }
                            }
                        }
                        Inbound::Notification { .. } => {}
                    }
                }
            })
            .await;
            peer.fail_all(crate::Error::disconnected("fuzz input ended"));
            // Its writer task ends once the peer is gone; a current-thread
            // runtime runs it only while this future waits, so wait once
            // (otherwise every input would leave a task behind).
            drop(peer);
            tokio::task::yield_now().await;
        });
    });
}

/// Checks the JSON scanner against serde_json on `data`: both must accept
/// or both reject it. (serde_json stops at 128 levels of nesting, the
/// scanner at `json_scan::MAX_DEPTH`: inputs serde_json refuses for depth
/// alone say nothing.) Panics on a disagreement.
pub fn json_scan_agrees(data: &[u8]) {
    let ours = crate::json_scan::validate(data, b"type").is_some();
    let theirs = match std::str::from_utf8(data) {
        Err(_) => false,
        Ok(text) => match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => true,
            Err(e) if e.to_string().contains("recursion limit") => return,
            Err(_) => false,
        },
    };
    assert_eq!(
        ours,
        theirs,
        "json_scan and serde_json disagree on {:?}",
        String::from_utf8_lossy(data)
    );
}
