//! Host code called back into the library from a `user_data_free` must not
//! deadlock: the library never runs host code while it holds a lock of its
//! own. Each case runs the triggering call on a thread of its own and fails
//! if it has not returned within a generous bound (a deadlock never returns).

mod common;

use std::ffi::{c_char, c_void, CString};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use common::TestEnv;
use copilot::ffi::*;

fn ok(status: copilot_status) {
    assert_eq!(status, copilot_status::COPILOT_OK);
}

unsafe extern "C" fn on_event(_: *mut c_void, _: *const c_char, _: *const c_char, _: usize) {}

/// Raw handles sent to the thread that makes the call under test.
struct Handles(*mut copilot_client, *mut copilot_session);
// SAFETY: the handles are documented as usable from any thread.
unsafe impl Send for Handles {}

/// Runs `call` on another thread; panics if it does not return in time.
fn returns_in_time(what: &str, handles: Handles, call: fn(Handles)) {
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        call(handles);
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what} did not return: deadlock"));
}

/// A started client with `n` sessions.
unsafe fn client_with_sessions(
    env: &TestEnv,
    n: usize,
) -> (*mut copilot_client, Vec<*mut copilot_session>) {
    let options = CString::new(env.client_options().to_string()).unwrap();
    let fields = CString::new(env.session_fields(serde_json::json!({})).to_string()).unwrap();
    let mut client: *mut copilot_client = ptr::null_mut();
    ok(copilot_client_new(
        options.as_ptr(),
        &mut client,
        ptr::null_mut(),
    ));
    let mut sessions = Vec::new();
    for _ in 0..n {
        let mut config: *mut copilot_session_config = ptr::null_mut();
        ok(copilot_session_config_new(
            fields.as_ptr(),
            &mut config,
            ptr::null_mut(),
        ));
        let mut session: *mut copilot_session = ptr::null_mut();
        ok(copilot_client_create_session(
            client,
            config,
            &mut session,
            ptr::null_mut(),
        ));
        copilot_session_config_free(config);
        sessions.push(session);
    }
    (client, sessions)
}

static OTHER_FREES: AtomicUsize = AtomicUsize::new(0);

/// `user_data_free` that frees another session (its `user_data`).
unsafe extern "C" fn free_the_other_session(user_data: *mut c_void) {
    copilot_session_free(user_data.cast());
    OTHER_FREES.fetch_add(1, Ordering::SeqCst);
}

/// Session A's subscriber frees session B when it goes; force_stop closes
/// both sessions.
#[test]
fn a_free_inside_a_user_data_free_during_force_stop() {
    let env = TestEnv::new(&["chat.yaml"]);
    unsafe {
        let (client, sessions) = client_with_sessions(&env, 2);
        let (a, b) = (sessions[0], sessions[1]);
        ok(copilot_session_subscribe(
            a,
            Some(on_event),
            b.cast(),
            Some(free_the_other_session),
            ptr::null_mut(),
            ptr::null_mut(),
        ));
        returns_in_time("copilot_client_force_stop", Handles(client, a), |h| {
            copilot_client_force_stop(h.0)
        });
        assert_eq!(
            OTHER_FREES.load(Ordering::SeqCst),
            1,
            "user_data_free ran once"
        );
        copilot_session_free(a);
        copilot_client_free(client);
    }
}

static RESUBSCRIBED: AtomicUsize = AtomicUsize::new(0);

/// `user_data_free` that subscribes again to its session (its `user_data`).
unsafe extern "C" fn subscribe_again(user_data: *mut c_void) {
    let status = copilot_session_subscribe(
        user_data.cast(),
        Some(on_event),
        ptr::null_mut(),
        None,
        ptr::null_mut(),
        ptr::null_mut(),
    );
    if status == copilot_status::COPILOT_OK {
        RESUBSCRIBED.fetch_add(1, Ordering::SeqCst);
    }
}

/// A subscriber's `user_data_free` subscribes to the same session while
/// unsubscribe removes it.
#[test]
fn a_subscribe_inside_a_user_data_free_during_unsubscribe() {
    let env = TestEnv::new(&["chat.yaml"]);
    unsafe {
        let (client, sessions) = client_with_sessions(&env, 1);
        let a = sessions[0];
        let mut id = 0u64;
        ok(copilot_session_subscribe(
            a,
            Some(on_event),
            a.cast(),
            Some(subscribe_again),
            &mut id,
            ptr::null_mut(),
        ));
        static ID: AtomicUsize = AtomicUsize::new(0);
        ID.store(id as usize, Ordering::SeqCst);
        returns_in_time("copilot_session_unsubscribe", Handles(client, a), |h| {
            ok(copilot_session_unsubscribe(
                h.1,
                ID.load(Ordering::SeqCst) as u64,
                ptr::null_mut(),
            ))
        });
        assert_eq!(
            RESUBSCRIBED.load(Ordering::SeqCst),
            1,
            "the new subscription was made"
        );
        ok(copilot_client_stop(client, 10_000, ptr::null_mut()));
        copilot_session_free(a);
        copilot_client_free(client);
    }
}

static SUBSCRIBE_TRIED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn try_subscribe(user_data: *mut c_void) {
    let _ = copilot_session_subscribe(
        user_data.cast(),
        Some(on_event),
        ptr::null_mut(),
        None,
        ptr::null_mut(),
        ptr::null_mut(),
    );
    SUBSCRIBE_TRIED.fetch_add(1, Ordering::SeqCst);
}

/// A subscriber's `user_data_free` calls into its session while the client
/// is freed (every session closed at once).
#[test]
fn a_subscribe_inside_a_user_data_free_during_client_free() {
    let env = TestEnv::new(&["chat.yaml"]);
    unsafe {
        let (client, sessions) = client_with_sessions(&env, 1);
        let a = sessions[0];
        ok(copilot_session_subscribe(
            a,
            Some(on_event),
            a.cast(),
            Some(try_subscribe),
            ptr::null_mut(),
            ptr::null_mut(),
        ));
        returns_in_time("copilot_client_free", Handles(client, a), |h| {
            copilot_client_free(h.0)
        });
        assert_eq!(
            SUBSCRIBE_TRIED.load(Ordering::SeqCst),
            1,
            "user_data_free ran once"
        );
        copilot_session_free(a);
    }
}
