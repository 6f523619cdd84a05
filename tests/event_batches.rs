//! The batch event callback (`copilot_event_batch_fn`), through the C ABI:
//! a flood from the fake CLI (tests/hostile/fake_cli.py) arrives complete,
//! in order and in batches of several events; unsubscribe and free from
//! inside a batch are safe; and a real CLI's turn (copilot-replay) arrives
//! through it exactly as through the single-event callback.

mod common;

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::TestEnv;
use copilot::ffi::*;
use serde_json::{json, Value};

fn ok(status: copilot_status) {
    assert_eq!(status, copilot_status::COPILOT_OK);
}

/// Events as a subscriber saw them: (type, JSON), and the size of each batch.
#[derive(Default)]
struct Seen {
    events: Mutex<Vec<(String, String)>>,
    batches: Mutex<Vec<usize>>,
    frees: AtomicUsize,
}

impl Seen {
    fn events(&self) -> Vec<(String, String)> {
        self.events.lock().unwrap().clone()
    }
}

/// # Safety
///
/// `event_type` and `json` are the strings of one event, as the library
/// passes them (NUL-terminated, `len` bytes of JSON).
unsafe fn record(seen: &Seen, event_type: *const c_char, json: *const c_char, len: usize) {
    let ty = CStr::from_ptr(event_type).to_str().unwrap().to_owned();
    let bytes = std::slice::from_raw_parts(json.cast::<u8>(), len);
    assert_eq!(*json.add(len), 0, "NUL after the JSON");
    let json = std::str::from_utf8(bytes).unwrap().to_owned();
    seen.events.lock().unwrap().push((ty, json));
}

unsafe extern "C" fn on_event(ud: *mut c_void, ty: *const c_char, js: *const c_char, n: usize) {
    record(&*(ud as *const Seen), ty, js, n);
}

unsafe extern "C" fn on_batch(ud: *mut c_void, events: *const copilot_event_view, count: usize) {
    let seen = &*(ud as *const Seen);
    assert!(count >= 1, "empty batch");
    seen.batches.lock().unwrap().push(count);
    for ev in std::slice::from_raw_parts(events, count) {
        record(seen, ev.event_type, ev.event_json, ev.event_json_len);
    }
}

unsafe extern "C" fn count_free(ud: *mut c_void) {
    (*(ud as *const Seen)).frees.fetch_add(1, Ordering::SeqCst);
}

/// A `Seen` that lives for the rest of the test run (callbacks hold it).
fn seen() -> &'static Seen {
    Box::leak(Box::default())
}

fn ud(seen: &'static Seen) -> *mut c_void {
    seen as *const Seen as *mut c_void
}

const FLOOD: usize = 20_000;

/// A started client on the fake CLI, which answers each send with
/// `FLOOD` deltas between a user.message and assistant.message + session.idle.
unsafe fn fake_client() -> *mut copilot_client {
    let mut env: serde_json::Map<String, Value> = std::env::vars()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    for (k, v) in [
        ("FAKE_CLI_MODE", "flood_events".to_string()),
        ("FAKE_COUNT", FLOOD.to_string()),
        ("FAKE_SIZE", "24".to_string()),
        ("FAKE_WRAP", "1".to_string()),
        ("FAKE_DELAY_MS", "0".to_string()),
    ] {
        env.insert(k.into(), Value::String(v));
    }
    let options = json!({
        "cliPath": common::repo_dir().join("tests/hostile/fake_cli.py"),
        "autoRestart": false,
        "env": env,
    });
    let options = CString::new(options.to_string()).unwrap();
    let mut client = ptr::null_mut();
    ok(copilot_client_new(
        options.as_ptr(),
        &mut client,
        ptr::null_mut(),
    ));
    client
}

unsafe fn create(
    client: *mut copilot_client,
    config: *mut copilot_session_config,
) -> *mut copilot_session {
    let mut session = ptr::null_mut();
    ok(copilot_client_create_session(
        client,
        config,
        &mut session,
        ptr::null_mut(),
    ));
    session
}

unsafe fn new_config(fields: &Value) -> *mut copilot_session_config {
    let fields = CString::new(fields.to_string()).unwrap();
    let mut config = ptr::null_mut();
    ok(copilot_session_config_new(
        fields.as_ptr(),
        &mut config,
        ptr::null_mut(),
    ));
    config
}

unsafe fn send_and_wait(session: *mut copilot_session, prompt: &str) {
    let message = CString::new(json!({ "prompt": prompt }).to_string()).unwrap();
    let mut reply: *mut c_char = ptr::null_mut();
    let mut err: *mut copilot_error = ptr::null_mut();
    let status =
        copilot_session_send_and_wait(session, message.as_ptr(), 120_000, &mut reply, &mut err);
    if status != copilot_status::COPILOT_OK {
        let msg = CStr::from_ptr(copilot_error_message(err))
            .to_string_lossy()
            .into_owned();
        copilot_error_free(err);
        panic!("send_and_wait: {status:?}: {msg}");
    }
    copilot_string_free(reply);
}

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The event ids of the flood, in the order they arrived.
fn delta_ids(events: &[(String, String)]) -> Vec<u64> {
    events
        .iter()
        .filter(|(ty, _)| ty == "assistant.message_delta")
        .map(|(_, js)| {
            let v: Value = serde_json::from_str(js).unwrap();
            let id = v["id"].as_str().unwrap();
            id.strip_prefix("fake-ev-").unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn a_flood_arrives_complete_in_order_and_in_batches() {
    unsafe {
        let client = fake_client();
        let config = new_config(&json!({}));
        let single = seen();
        let batched = seen();
        ok(copilot_session_config_on_event(
            config,
            Some(on_event),
            ud(single),
            Some(count_free),
            ptr::null_mut(),
        ));
        ok(copilot_session_config_on_event_batch(
            config,
            Some(on_batch),
            ud(batched),
            Some(count_free),
            ptr::null_mut(),
        ));
        let session = create(client, config);
        copilot_session_config_free(config);
        // One subscribed on the live session too.
        let late = seen();
        let mut late_id = 0;
        ok(copilot_session_subscribe_batch(
            session,
            Some(on_batch),
            ud(late),
            Some(count_free),
            &mut late_id,
            ptr::null_mut(),
        ));
        send_and_wait(session, "flood");

        let all = single.events();
        assert_eq!(
            batched.events(),
            all,
            "the batches hold the same events, in order"
        );
        assert_eq!(late.events(), all);
        let types: Vec<&str> = all.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types.len(), FLOOD + 3, "every event arrived");
        assert_eq!(types[0], "user.message");
        assert_eq!(&types[FLOOD + 1..], ["assistant.message", "session.idle"]);
        let ids = delta_ids(&all);
        assert_eq!(ids.len(), FLOOD);
        assert!(
            ids.windows(2).all(|w| w[1] == w[0] + 1),
            "deltas in wire order"
        );

        let batches = batched.batches.lock().unwrap().clone();
        assert_eq!(batches.iter().sum::<usize>(), FLOOD + 3);
        let max = batches.iter().copied().max().unwrap();
        println!(
            "{} events in {} batches (largest {max})",
            FLOOD + 3,
            batches.len()
        );
        assert!(max > 1, "a flood is delivered in batches of several events");
        assert!(
            batches.len() < FLOOD / 2,
            "{} batches for {FLOOD} events",
            batches.len()
        );

        ok(copilot_session_unsubscribe(
            session,
            late_id,
            ptr::null_mut(),
        ));
        assert_eq!(
            late.frees.load(Ordering::SeqCst),
            1,
            "user_data_free after unsubscribe"
        );
        copilot_session_free(session);
        wait_until("user_data_free", || {
            single.frees.load(Ordering::SeqCst) == 1 && batched.frees.load(Ordering::SeqCst) == 1
        });
        copilot_client_free(client);
    }
}

/// What the reentrant subscribers below act on.
static SESSION: AtomicPtr<copilot_session> = AtomicPtr::new(ptr::null_mut());
static OTHER_ID: AtomicU64 = AtomicU64::new(0);
static OWN_ID: AtomicU64 = AtomicU64::new(0);

/// Unsubscribes itself and the subscriber `OTHER_ID` in its first batch.
unsafe extern "C" fn unsubscribe_in_batch(
    ud: *mut c_void,
    events: *const copilot_event_view,
    count: usize,
) {
    on_batch(ud, events, count);
    let session = SESSION.load(Ordering::SeqCst);
    ok(copilot_session_unsubscribe(
        session,
        OTHER_ID.load(Ordering::SeqCst),
        ptr::null_mut(),
    ));
    ok(copilot_session_unsubscribe(
        session,
        OWN_ID.load(Ordering::SeqCst),
        ptr::null_mut(),
    ));
}

#[test]
fn unsubscribe_inside_a_batch_stops_at_once() {
    unsafe {
        let client = fake_client();
        let config = new_config(&json!({}));
        let session = create(client, config);
        copilot_session_config_free(config);
        SESSION.store(session, Ordering::SeqCst);
        let first = seen();
        let other = seen();
        let stays = seen();
        let mut id = 0;
        ok(copilot_session_subscribe_batch(
            session,
            Some(unsubscribe_in_batch),
            ud(first),
            Some(count_free),
            &mut id,
            ptr::null_mut(),
        ));
        OWN_ID.store(id, Ordering::SeqCst);
        ok(copilot_session_subscribe_batch(
            session,
            Some(on_batch),
            ud(other),
            Some(count_free),
            &mut id,
            ptr::null_mut(),
        ));
        OTHER_ID.store(id, Ordering::SeqCst);
        ok(copilot_session_subscribe_batch(
            session,
            Some(on_batch),
            ud(stays),
            Some(count_free),
            ptr::null_mut(),
            ptr::null_mut(),
        ));
        send_and_wait(session, "flood");
        assert_eq!(
            first.batches.lock().unwrap().len(),
            1,
            "no call after its unsubscribe"
        );
        assert_eq!(first.frees.load(Ordering::SeqCst), 1);
        assert!(
            other.batches.lock().unwrap().is_empty(),
            "unsubscribed before its turn in the first batch: never called"
        );
        assert_eq!(other.frees.load(Ordering::SeqCst), 1);
        assert_eq!(stays.events().len(), FLOOD + 3, "the others go on");
        copilot_session_free(session);
        wait_until("user_data_free", || stays.frees.load(Ordering::SeqCst) == 1);
        copilot_client_free(client);
    }
}

static FREEING_SESSION: AtomicPtr<copilot_session> = AtomicPtr::new(ptr::null_mut());

/// Frees the session (`FREEING_SESSION`) in its first batch.
unsafe extern "C" fn free_in_batch(
    ud: *mut c_void,
    events: *const copilot_event_view,
    count: usize,
) {
    on_batch(ud, events, count);
    let session = FREEING_SESSION.swap(ptr::null_mut(), Ordering::SeqCst);
    assert!(
        !session.is_null(),
        "called again after the session was freed"
    );
    copilot_session_free(session);
}

#[test]
fn free_inside_a_batch_is_safe() {
    unsafe {
        let client = fake_client();
        let config = new_config(&json!({}));
        let freeing = seen();
        let after = seen();
        ok(copilot_session_config_on_event_batch(
            config,
            Some(free_in_batch),
            ud(freeing),
            Some(count_free),
            ptr::null_mut(),
        ));
        ok(copilot_session_config_on_event_batch(
            config,
            Some(on_batch),
            ud(after),
            Some(count_free),
            ptr::null_mut(),
        ));
        let session = create(client, config);
        copilot_session_config_free(config);
        FREEING_SESSION.store(session, Ordering::SeqCst);
        let message = CString::new(json!({ "prompt": "flood" }).to_string()).unwrap();
        ok(copilot_session_send(
            session,
            message.as_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        ));
        wait_until("the free inside the batch", || {
            freeing.frees.load(Ordering::SeqCst) == 1 && after.frees.load(Ordering::SeqCst) == 1
        });
        // The rest of the flood arrives for a session that is gone.
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(freeing.batches.lock().unwrap().len(), 1);
        assert!(
            after.batches.lock().unwrap().is_empty(),
            "the session was freed before its turn: never called"
        );
        assert_eq!(freeing.frees.load(Ordering::SeqCst), 1);
        assert_eq!(after.frees.load(Ordering::SeqCst), 1);
        copilot_client_free(client);
    }
}

/// A real CLI's turn (replayed) arrives through the batch callback exactly
/// as through the single-event one: the same types and JSON, in the same order.
#[test]
fn a_real_turn_arrives_identically_through_both_callbacks() {
    let env = TestEnv::new(&["chat.yaml"]);
    unsafe {
        let options = CString::new(env.client_options_json()).unwrap();
        let mut client = ptr::null_mut();
        ok(copilot_client_new(
            options.as_ptr(),
            &mut client,
            ptr::null_mut(),
        ));
        let config = new_config(&env.session_fields(json!({"streaming": true})));
        let single = seen();
        let batched = seen();
        ok(copilot_session_config_on_event(
            config,
            Some(on_event),
            ud(single),
            Some(count_free),
            ptr::null_mut(),
        ));
        ok(copilot_session_config_on_event_batch(
            config,
            Some(on_batch),
            ud(batched),
            Some(count_free),
            ptr::null_mut(),
        ));
        let session = create(client, config);
        copilot_session_config_free(config);
        send_and_wait(session, "What is the capital of France?");
        // Compared once neither is called any more (user_data_free ran).
        copilot_session_free(session);
        wait_until("user_data_free", || {
            single.frees.load(Ordering::SeqCst) == 1 && batched.frees.load(Ordering::SeqCst) == 1
        });
        let all = single.events();
        let types: Vec<&str> = all.iter().map(|(t, _)| t.as_str()).collect();
        assert!(types.contains(&"assistant.message_delta"), "{types:?}");
        assert!(types.contains(&"assistant.message"), "{types:?}");
        assert!(types.contains(&"session.idle"), "{types:?}");
        assert_eq!(batched.events(), all);
        println!(
            "{} events in {} batches",
            all.len(),
            batched.batches.lock().unwrap().len()
        );
        copilot_client_free(client);
    }
}
