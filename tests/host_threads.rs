//! Which thread host data is released on. A session freed without being
//! destroyed first is destroyed in the background; its handlers' `user_data_free`
//! must run on the thread that freed the handle (after a callback still in
//! flight, on the callback thread), never on a runtime worker: Mono hangs at
//! exit on a managed call from a thread it has not seen.

mod common;

use std::ffi::{c_char, c_void, CString};
use std::ptr;
use std::sync::Mutex;

use common::TestEnv;
use copilot::ffi::*;

/// The names of the threads each `user_data_free` ran on.
static FREED_ON: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn on_event(_: *mut c_void, _: *const c_char, _: *const c_char, _: usize) {}

unsafe extern "C" fn record_free_thread(_: *mut c_void) {
    FREED_ON.lock().unwrap().push(this_thread());
}

fn ok(status: copilot_status) {
    assert_eq!(status, copilot_status::COPILOT_OK);
}

fn this_thread() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_string()
}

/// A started client and one approve-all session on it; `setup` registers
/// handlers on the client and on the session's config (freed after create,
/// so the session then holds the only references to its handlers).
unsafe fn client_with_session(
    env: &TestEnv,
    setup: impl FnOnce(*mut copilot_client, *mut copilot_session_config),
) -> (*mut copilot_client, *mut copilot_session) {
    let options = CString::new(env.client_options().to_string()).unwrap();
    let fields = CString::new(env.session_fields(serde_json::json!({})).to_string()).unwrap();
    let mut client: *mut copilot_client = ptr::null_mut();
    ok(copilot_client_new(
        options.as_ptr(),
        &mut client,
        ptr::null_mut(),
    ));
    let mut config: *mut copilot_session_config = ptr::null_mut();
    ok(copilot_session_config_new(
        fields.as_ptr(),
        &mut config,
        ptr::null_mut(),
    ));
    setup(client, config);
    ok(copilot_session_config_approve_all(config, ptr::null_mut()));
    let mut session: *mut copilot_session = ptr::null_mut();
    ok(copilot_client_create_session(
        client,
        config,
        &mut session,
        ptr::null_mut(),
    ));
    copilot_session_config_free(config);
    (client, session)
}

#[test]
fn user_data_of_a_freed_live_session_is_released_on_the_freeing_thread() {
    let env = TestEnv::new(&["chat.yaml"]);
    unsafe {
        let (client, session) = client_with_session(&env, |_, config| {
            ok(copilot_session_config_on_event(
                config,
                Some(on_event),
                ptr::null_mut(),
                Some(record_free_thread),
                ptr::null_mut(),
            ));
        });
        assert!(FREED_ON.lock().unwrap().is_empty(), "freed while in use");

        // Live: the destroy goes to the CLI in the background; wait for the
        // release wherever it happens.
        copilot_session_free(session);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while FREED_ON.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        ok(copilot_client_stop(client, 10_000, ptr::null_mut()));
        copilot_client_free(client);
    }
    let freed_on = FREED_ON.lock().unwrap().clone();
    let this = this_thread();
    // On this thread, or on the callback thread when an event callback was
    // still running at the free (it then releases after returning); never on
    // a runtime worker.
    assert!(
        freed_on.len() == 1 && (freed_on[0] == this || freed_on[0] == "copilot-callbacks"),
        "user_data_free ran once, on {freed_on:?}; expected {this:?}"
    );
}

/// The threads the client-level handlers' `user_data_free`s ran on.
static CLIENT_DATA_FREED_ON: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn on_lifecycle(_: *mut c_void, _: *const c_char, _: *const c_char) {}
unsafe extern "C" fn on_state(_: *mut c_void, _: copilot_client_state, _: *const c_char) {}

unsafe extern "C" fn record_client_data_free(_: *mut c_void) {
    CLIENT_DATA_FREED_ON.lock().unwrap().push(this_thread());
}

/// A host that exits without cleaning up frees a live session and then its
/// client (the .NET wrapper does this at ProcessExit). The session's destroy
/// is still in flight in the background; the client must still end at once,
/// releasing its handlers' data on the freeing thread before the free returns.
#[test]
fn client_freed_during_a_background_destroy_releases_its_handlers_at_once() {
    let env = TestEnv::new(&["chat.yaml"]);
    unsafe {
        let (client, session) = client_with_session(&env, |client, _| {
            ok(copilot_client_on_lifecycle(
                client,
                Some(on_lifecycle),
                ptr::null_mut(),
                Some(record_client_data_free),
                ptr::null_mut(),
            ));
            ok(copilot_client_on_state_change(
                client,
                Some(on_state),
                ptr::null_mut(),
                Some(record_client_data_free),
                ptr::null_mut(),
            ));
        });
        // The destroy goes out in the background and has not completed when
        // the client is freed right after (the CLI's reply takes a round
        // trip): queued or in flight, its task holds the connection.
        copilot_session_free(session);
        copilot_client_free(client);
    }
    let this = this_thread();
    let freed_on = CLIENT_DATA_FREED_ON.lock().unwrap().clone();
    assert_eq!(
        freed_on,
        vec![this.clone(), this],
        "both user_data_frees ran before copilot_client_free returned, on its thread"
    );
}
