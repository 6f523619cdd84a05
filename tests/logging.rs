//! The host's log handler (`copilot_log_set_handler`), against the real CLI:
//! levels filter, secrets are redacted, and the handler's user_data is freed
//! once. A test binary of its own because the handler is process-wide.

mod common;

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::TestEnv;
use copilot::ffi::*;
use serde_json::json;

type Record = (copilot_log_level, String, String);

struct Collector {
    records: Mutex<Vec<Record>>,
}

static FREED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn on_log(
    user_data: *mut c_void,
    level: copilot_log_level,
    target: *const c_char,
    message: *const c_char,
) {
    let c = &*(user_data as *const Collector);
    let target = CStr::from_ptr(target).to_string_lossy().into_owned();
    let message = CStr::from_ptr(message).to_string_lossy().into_owned();
    c.records.lock().unwrap().push((level, target, message));
}

unsafe extern "C" fn free_collector(user_data: *mut c_void) {
    FREED.fetch_add(1, Ordering::SeqCst);
    drop(Box::from_raw(user_data as *mut Collector));
}

fn ok(status: copilot_status) {
    assert_eq!(status, copilot_status::COPILOT_OK);
}

/// Installs a collecting handler; the returned pointer stays valid until it is replaced.
unsafe fn install(max_level: copilot_log_level) -> *const Collector {
    let c = Box::into_raw(Box::new(Collector {
        records: Mutex::new(Vec::new()),
    }));
    ok(copilot_log_set_handler(
        max_level as i32,
        Some(on_log),
        c.cast(),
        Some(free_collector),
        ptr::null_mut(),
    ));
    c
}

unsafe fn ping(client: *mut copilot_client, message: &str) {
    let message = CString::new(message).unwrap();
    let mut out: *mut c_char = ptr::null_mut();
    ok(copilot_client_ping(
        client,
        message.as_ptr(),
        &mut out,
        ptr::null_mut(),
    ));
    copilot_string_free(out);
}

#[test]
fn log_handler_filters_redacts_and_frees() {
    let env = TestEnv::new(&["chat.yaml"]);
    let connection_token = "conn-secret-4f1d2c3b9a";
    let github_like = "ghp_A1b2C3d4E5f6G7h8I9j0";
    let mut options = env.client_options();
    options["transport"] = json!("tcp");
    options["connectionToken"] = json!(connection_token);
    let options = CString::new(options.to_string()).unwrap();

    unsafe {
        let trace = install(copilot_log_level::COPILOT_LOG_TRACE);
        let mut client: *mut copilot_client = ptr::null_mut();
        ok(copilot_client_new(
            options.as_ptr(),
            &mut client,
            ptr::null_mut(),
        ));
        ok(copilot_client_start(client, ptr::null_mut()));
        // ping echoes its message: the secrets cross the wire both ways, and the
        // trace of each frame must mask them.
        ping(client, &format!("echo {github_like} {connection_token}"));

        let records = (*trace).records.lock().unwrap().clone();
        let rpc: Vec<&Record> = records.iter().filter(|r| r.1 == "rpc").collect();
        assert!(
            rpc.iter()
                .any(|r| r.0 == copilot_log_level::COPILOT_LOG_TRACE
                    && r.2.contains("\"ping\"")
                    && r.2.contains("echo [REDACTED] [REDACTED]")),
            "the ping frame was traced, redacted: {rpc:#?}"
        );
        for (_, target, message) in &records {
            assert!(
                !message.contains(github_like) && !message.contains(connection_token),
                "secret leaked in {target}: {message}"
            );
        }

        // A stricter level: the next ping is not traced at all.
        let warn = install(copilot_log_level::COPILOT_LOG_WARN);
        assert_eq!(
            FREED.load(Ordering::SeqCst),
            1,
            "replaced handler freed once"
        );
        ping(client, "quiet");
        assert!(
            (*warn)
                .records
                .lock()
                .unwrap()
                .iter()
                .all(|r| (r.0 as i32) <= copilot_log_level::COPILOT_LOG_WARN as i32),
            "nothing above warn delivered"
        );

        // Out-of-range levels are refused and keep the current handler.
        let mut err: *mut copilot_error = ptr::null_mut();
        let status = copilot_log_set_handler(9, Some(on_log), ptr::null_mut(), None, &mut err);
        assert_eq!(status, copilot_status::COPILOT_ERR_INVALID_ARGUMENT);
        copilot_error_free(err);

        // The CLI's stderr lines arrive one by one as target "cli": here from a
        // CLI that fails at start-up with two lines of explanation.
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("copilot");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'first line: cannot start' >&2\necho 'second line: ghp_Zz9Yy8Xx7Ww6Vv5Uu4' >&2\nexit 3\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let info = install(copilot_log_level::COPILOT_LOG_INFO);
        let fake_options = CString::new(json!({"cliPath": fake}).to_string()).unwrap();
        let mut failing: *mut copilot_client = ptr::null_mut();
        ok(copilot_client_new(
            fake_options.as_ptr(),
            &mut failing,
            ptr::null_mut(),
        ));
        assert_ne!(
            copilot_client_start(failing, ptr::null_mut()),
            copilot_status::COPILOT_OK
        );
        copilot_client_free(failing);
        let cli_lines: Vec<String> = (*info)
            .records
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.1 == "cli")
            .map(|r| r.2.clone())
            .collect();
        assert_eq!(
            cli_lines,
            ["first line: cannot start", "second line: [REDACTED]"],
            "each stderr line logged once, redacted"
        );

        // NULL restores the default; the last handler is freed exactly once.
        ok(copilot_log_set_handler(
            0,
            None,
            ptr::null_mut(),
            None,
            ptr::null_mut(),
        ));
        assert_eq!(FREED.load(Ordering::SeqCst), 3);

        ok(copilot_client_stop(client, 5000, ptr::null_mut()));
        copilot_client_free(client);
    }
}
