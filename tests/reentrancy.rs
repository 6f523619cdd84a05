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

/// A subscriber with no data of its own; the status of the subscribe.
unsafe fn subscribe_plainly(session: *mut copilot_session) -> copilot_status {
    copilot_session_subscribe(
        session,
        Some(on_event),
        ptr::null_mut(),
        None,
        ptr::null_mut(),
        ptr::null_mut(),
    )
}

/// A subscriber whose `user_data_free` is `free(user_data)`; its id.
unsafe fn subscribe_with_free(
    session: *mut copilot_session,
    user_data: *mut c_void,
    free: unsafe extern "C" fn(*mut c_void),
) -> u64 {
    let mut id = 0u64;
    ok(copilot_session_subscribe(
        session,
        Some(on_event),
        user_data,
        Some(free),
        &mut id,
        ptr::null_mut(),
    ));
    id
}

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
        subscribe_with_free(a, b.cast(), free_the_other_session);
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
    let status = subscribe_plainly(user_data.cast());
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
        let id = subscribe_with_free(a, a.cast(), subscribe_again);
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
    let _ = subscribe_plainly(user_data.cast());
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
        subscribe_with_free(a, a.cast(), try_subscribe);
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

unsafe extern "C" fn on_tool(_: *mut c_void, _: *mut copilot_tool_invocation, _: *const c_char) {}
unsafe extern "C" fn on_permission(
    _: *mut c_void,
    _: *mut copilot_permission_request,
    _: *const c_char,
) {
}
unsafe extern "C" fn on_request(_: *mut c_void, _: *mut copilot_request, _: *const c_char) {}
unsafe extern "C" fn on_state(_: *mut c_void, _: copilot_client_state, _: *const c_char) {}
unsafe extern "C" fn on_lifecycle(_: *mut c_void, _: *const c_char, _: *const c_char) {}

/// Sessions the `user_data_free`s below call into, by `user_data`.
static KIND_FREES: AtomicUsize = AtomicUsize::new(0);

/// `user_data_free` that subscribes to the session it is given and frees
/// another one, whichever kind of handler it belonged to.
unsafe extern "C" fn call_back_in(user_data: *mut c_void) {
    let targets = Box::from_raw(user_data.cast::<(*mut copilot_session, *mut copilot_session)>());
    let (subscribe_to, free) = *targets;
    let _ = subscribe_plainly(subscribe_to);
    if !free.is_null() {
        copilot_session_free(free);
    }
    KIND_FREES.fetch_add(1, Ordering::SeqCst);
}

/// Every kind of handler's `user_data_free` may call into the library while
/// the client ends its sessions (force_stop) and is freed: tool, permission,
/// host request, hook and event handlers on a session's config, and the
/// client's state and lifecycle handlers.
#[test]
fn every_kind_of_user_data_free_may_call_back_in() {
    let env = TestEnv::new(&["chat.yaml"]);
    unsafe {
        let (client, sessions) = client_with_sessions(&env, 1);
        let keeper = sessions[0];
        let fields = CString::new(env.session_fields(serde_json::json!({})).to_string()).unwrap();
        let mut config: *mut copilot_session_config = ptr::null_mut();
        ok(copilot_session_config_new(
            fields.as_ptr(),
            &mut config,
            ptr::null_mut(),
        ));
        // Freed by the handlers' user_data_frees, one each.
        let mut extra = Vec::new();
        for _ in 0..7 {
            let mut s: *mut copilot_session = ptr::null_mut();
            ok(copilot_client_create_session(
                client,
                config,
                &mut s,
                ptr::null_mut(),
            ));
            extra.push(s);
        }
        let data = |i: usize| Box::into_raw(Box::new((keeper, extra[i]))).cast::<c_void>();
        let tool = CString::new(r#"{"name":"noop","parameters":{"type":"object"}}"#).unwrap();
        let kind = CString::new("userInput").unwrap();
        let hook = CString::new("preToolUse").unwrap();
        let free = Some(call_back_in as unsafe extern "C" fn(*mut c_void));
        ok(copilot_session_config_add_tool(
            config,
            tool.as_ptr(),
            Some(on_tool),
            data(0),
            free,
            ptr::null_mut(),
        ));
        ok(copilot_session_config_set_permission_handler(
            config,
            Some(on_permission),
            data(1),
            free,
            ptr::null_mut(),
        ));
        ok(copilot_session_config_set_handler(
            config,
            kind.as_ptr(),
            Some(on_request),
            data(2),
            free,
            ptr::null_mut(),
        ));
        ok(copilot_session_config_set_hook(
            config,
            hook.as_ptr(),
            Some(on_request),
            data(3),
            free,
            ptr::null_mut(),
        ));
        ok(copilot_session_config_on_event(
            config,
            Some(on_event),
            data(4),
            free,
            ptr::null_mut(),
        ));
        ok(copilot_client_on_state_change(
            client,
            Some(on_state),
            data(5),
            free,
            ptr::null_mut(),
        ));
        ok(copilot_client_on_lifecycle(
            client,
            Some(on_lifecycle),
            data(6),
            free,
            ptr::null_mut(),
        ));
        let mut session: *mut copilot_session = ptr::null_mut();
        ok(copilot_client_create_session(
            client,
            config,
            &mut session,
            ptr::null_mut(),
        ));
        // The session now holds the config's handlers alone.
        copilot_session_config_free(config);
        // Closing the session releases nothing of the host's yet (the session
        // keeps its config for a resume)...
        returns_in_time("copilot_client_force_stop", Handles(client, session), |h| {
            copilot_client_force_stop(h.0)
        });
        assert_eq!(KIND_FREES.load(Ordering::SeqCst), 0);
        // ...freeing the client releases its state and lifecycle handlers...
        returns_in_time("copilot_client_free", Handles(client, session), |h| {
            copilot_client_free(h.0)
        });
        assert_eq!(KIND_FREES.load(Ordering::SeqCst), 2, "the client's two");
        // ...and freeing the session handle its tool, permission, request,
        // hook and event handlers.
        returns_in_time("copilot_session_free", Handles(client, session), |h| {
            copilot_session_free(h.1)
        });
        assert_eq!(
            KIND_FREES.load(Ordering::SeqCst),
            7,
            "and the session's five"
        );
        copilot_session_free(keeper);
    }
}
