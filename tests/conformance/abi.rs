//! A small safe layer over the exported `copilot_*` functions, so scenarios
//! run through the real C ABI (the same symbols a C program links) while
//! staying readable. Closures become `user_data`; `user_data_free` drops them.

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;
use std::time::Duration;

use copilot::ffi::*;
use serde_json::Value;

/// A failed ABI call: its status, message and JSON-RPC code.
#[derive(Debug)]
pub struct AbiError {
    pub status: copilot_status,
    pub message: String,
    pub rpc_code: Option<i64>,
}

impl std::fmt::Display for AbiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.status, self.message)
    }
}

pub type AbiResult<T> = Result<T, AbiError>;

fn cstring(s: &str) -> CString {
    CString::new(s).expect("no NUL in test strings")
}

/// Runs an ABI call that takes `err_out` last and turns its status into a Result.
fn check(f: impl FnOnce(*mut *mut copilot_error) -> copilot_status) -> AbiResult<()> {
    let mut err: *mut copilot_error = ptr::null_mut();
    let status = f(&mut err);
    if status == copilot_status::COPILOT_OK {
        return Ok(());
    }
    // SAFETY: err was written by the library on failure (or left NULL).
    unsafe {
        let message = CStr::from_ptr(copilot_error_message(err))
            .to_string_lossy()
            .into_owned();
        let mut code = 0i64;
        let rpc_code = copilot_error_rpc_code(err, &mut code).then_some(code);
        copilot_error_free(err);
        Err(AbiError {
            status,
            message,
            rpc_code,
        })
    }
}

/// Takes ownership of a string the library returned.
unsafe fn take_string(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let s = CStr::from_ptr(p).to_string_lossy().into_owned();
    copilot_string_free(p);
    Some(s)
}

fn parse(s: Option<String>) -> Value {
    s.map(|s| serde_json::from_str(&s).expect("library returns JSON"))
        .unwrap_or(Value::Null)
}

/// A handle that takes generic JSON-RPC calls: a client (`copilot_client_call`)
/// or a session (`copilot_session_call`, which adds `sessionId`).
pub trait Rpc {
    fn call(&self, method: &str, params: &Value) -> AbiResult<Value>;
}

impl Rpc for Client {
    fn call(&self, method: &str, params: &Value) -> AbiResult<Value> {
        Client::call(self, method, params)
    }
}

impl Rpc for Session {
    fn call(&self, method: &str, params: &Value) -> AbiResult<Value> {
        Session::call(self, method, params)
    }
}

pub struct Client(*mut copilot_client);

// SAFETY: every copilot_* function may be called from any thread.
unsafe impl Send for Client {}
unsafe impl Sync for Client {}

impl Client {
    pub fn new(options: &Value) -> AbiResult<Client> {
        let opts = cstring(&options.to_string());
        let mut out = ptr::null_mut();
        check(|e| unsafe { copilot_client_new(opts.as_ptr(), &mut out, e) })?;
        Ok(Client(out))
    }

    pub fn start(&self) -> AbiResult<()> {
        check(|e| unsafe { copilot_client_start(self.0, e) })
    }

    pub fn call(&self, method: &str, params: &Value) -> AbiResult<Value> {
        let (m, p) = (cstring(method), cstring(&params.to_string()));
        let mut out = ptr::null_mut();
        check(|e| unsafe { copilot_client_call(self.0, m.as_ptr(), p.as_ptr(), &mut out, e) })?;
        Ok(parse(unsafe { take_string(out) }))
    }

    pub fn create_session(&self, config: &Config) -> AbiResult<Session> {
        let mut out = ptr::null_mut();
        check(|e| unsafe { copilot_client_create_session(self.0, config.0, &mut out, e) })?;
        Ok(Session(out))
    }

    pub fn resume_session(&self, id: &str, config: &Config) -> AbiResult<Session> {
        let id = cstring(id);
        let mut out = ptr::null_mut();
        check(|e| unsafe {
            copilot_client_resume_session(self.0, id.as_ptr(), config.0, &mut out, e)
        })?;
        Ok(Session(out))
    }

    pub fn stop(&self) -> AbiResult<()> {
        check(|e| unsafe { copilot_client_stop(self.0, 10_000, e) })
    }

    pub fn force_stop(&self) {
        unsafe { copilot_client_force_stop(self.0) }
    }

    /// Adds a `session.lifecycle` handler: the notification's type and JSON.
    pub fn on_lifecycle(&self, f: impl Fn(&str, &Value) + Send + Sync + 'static) {
        let ud = Box::into_raw(Box::new(Box::new(f) as EventFn)) as *mut c_void;
        check(|e| unsafe {
            copilot_client_on_lifecycle(
                self.0,
                Some(lifecycle_trampoline),
                ud,
                Some(free_box::<EventFn>),
                e,
            )
        })
        .expect("on_lifecycle");
    }
}

unsafe extern "C" fn lifecycle_trampoline(ud: *mut c_void, ty: *const c_char, json: *const c_char) {
    let f = &*(ud as *const EventFn);
    let v: Value = serde_json::from_str(&CStr::from_ptr(json).to_string_lossy()).unwrap();
    f(&CStr::from_ptr(ty).to_string_lossy(), &v);
}

impl Drop for Client {
    fn drop(&mut self) {
        unsafe { copilot_client_free(self.0) }
    }
}

pub struct Session(*mut copilot_session);

unsafe impl Send for Session {}
unsafe impl Sync for Session {}

impl Session {
    pub fn id(&self) -> String {
        unsafe {
            CStr::from_ptr(copilot_session_id(self.0))
                .to_string_lossy()
                .into_owned()
        }
    }

    /// The create/resume result (`{sessionId, workspacePath?, capabilities?}`).
    pub fn info(&self) -> Value {
        let s = unsafe { CStr::from_ptr(copilot_session_info_json(self.0)) };
        serde_json::from_str(&s.to_string_lossy()).unwrap_or(Value::Null)
    }

    pub fn send(&self, message: &Value) -> AbiResult<String> {
        let m = cstring(&message.to_string());
        let mut out = ptr::null_mut();
        check(|e| unsafe { copilot_session_send(self.0, m.as_ptr(), &mut out, e) })?;
        Ok(unsafe { take_string(out) }.unwrap_or_default())
    }

    /// The final `assistant.message` event, or Null.
    pub fn send_and_wait(&self, message: &Value, timeout: Duration) -> AbiResult<Value> {
        let m = cstring(&message.to_string());
        let mut out = ptr::null_mut();
        let ms = timeout.as_millis() as u32;
        check(|e| unsafe { copilot_session_send_and_wait(self.0, m.as_ptr(), ms, &mut out, e) })?;
        Ok(parse(unsafe { take_string(out) }))
    }

    pub fn prompt(&self, prompt: &str) -> AbiResult<Value> {
        self.send_and_wait(
            &serde_json::json!({ "prompt": prompt }),
            Duration::from_secs(90),
        )
    }

    pub fn abort(&self) -> AbiResult<()> {
        check(|e| unsafe { copilot_session_abort(self.0, e) })
    }

    pub fn get_messages(&self) -> AbiResult<Value> {
        let mut out = ptr::null_mut();
        check(|e| unsafe { copilot_session_get_messages(self.0, &mut out, e) })?;
        Ok(parse(unsafe { take_string(out) }))
    }

    pub fn call(&self, method: &str, params: &Value) -> AbiResult<Value> {
        let (m, p) = (cstring(method), cstring(&params.to_string()));
        let mut out = ptr::null_mut();
        check(|e| unsafe { copilot_session_call(self.0, m.as_ptr(), p.as_ptr(), &mut out, e) })?;
        Ok(parse(unsafe { take_string(out) }))
    }

    /// `call` with a limit (`copilot_session_call_timeout`).
    pub fn call_timeout(&self, method: &str, params: &Value, timeout_ms: u32) -> AbiResult<Value> {
        let (m, p) = (cstring(method), cstring(&params.to_string()));
        let mut out = ptr::null_mut();
        check(|e| unsafe {
            copilot_session_call_timeout(self.0, m.as_ptr(), p.as_ptr(), timeout_ms, &mut out, e)
        })?;
        Ok(parse(unsafe { take_string(out) }))
    }

    pub fn destroy(&self) -> AbiResult<()> {
        check(|e| unsafe { copilot_session_destroy(self.0, e) })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        unsafe { copilot_session_free(self.0) }
    }
}

/// What a tool handler returns.
pub enum ToolOutcome {
    Result(Value),
    Fail(String),
}

type ToolFn = Box<dyn Fn(&Value) -> ToolOutcome + Send + Sync>;
type DeferredToolFn = Box<dyn Fn(&Value, PendingTool) + Send + Sync>;

/// A tool call to complete later, from any thread.
pub struct PendingTool(*mut copilot_tool_invocation);

// SAFETY: invocations may be completed from any thread.
unsafe impl Send for PendingTool {}

impl PendingTool {
    pub fn complete(self, result: &Value) {
        let r = cstring(&result.to_string());
        unsafe { copilot_tool_invocation_complete(self.0, r.as_ptr(), ptr::null_mut()) };
    }
}
type RequestFn = Box<dyn Fn(&Value) -> Option<Value> + Send + Sync>;
type DeferredPermissionFn = Box<dyn Fn(&Value, PendingPermission) + Send + Sync>;

/// A permission request to answer later, from any thread.
pub struct PendingPermission(*mut copilot_permission_request);

// SAFETY: permission requests may be answered from any thread.
unsafe impl Send for PendingPermission {}

impl PendingPermission {
    pub fn respond(self, decision: &Value) {
        let d = cstring(&decision.to_string());
        unsafe { copilot_permission_request_respond(self.0, d.as_ptr(), ptr::null_mut()) };
    }
}

unsafe extern "C" fn deferred_permission_trampoline(
    ud: *mut c_void,
    req: *mut copilot_permission_request,
    json: *const c_char,
) {
    let f = &*(ud as *const DeferredPermissionFn);
    let v: Value = serde_json::from_str(&CStr::from_ptr(json).to_string_lossy()).unwrap();
    f(&v, PendingPermission(req));
}
type EventFn = Box<dyn Fn(&str, &Value) + Send + Sync>;
/// A host request to answer later, from any thread.
pub struct PendingRequest(*mut copilot_request);

// SAFETY: host requests may be answered from any thread.
unsafe impl Send for PendingRequest {}

impl PendingRequest {
    pub fn respond(self, result: &Value) {
        let r = cstring(&result.to_string());
        unsafe { copilot_request_respond(self.0, r.as_ptr(), ptr::null_mut()) };
    }
}

type DeferredRequestFn = Box<dyn Fn(&Value, PendingRequest) + Send + Sync>;

unsafe extern "C" fn deferred_request_trampoline(
    ud: *mut c_void,
    req: *mut copilot_request,
    json: *const c_char,
) {
    let f = &*(ud as *const DeferredRequestFn);
    let v: Value = serde_json::from_str(&CStr::from_ptr(json).to_string_lossy()).unwrap();
    f(&v, PendingRequest(req));
}

/// Answers one host request by its kind (`copilot_request_kind`): Ok responds, Err fails.
type KindRequestFn = Box<dyn Fn(&str, &Value) -> Result<Value, String> + Send + Sync>;

unsafe extern "C" fn free_box<T>(ud: *mut c_void) {
    drop(Box::from_raw(ud as *mut T));
}

unsafe extern "C" fn tool_trampoline(
    ud: *mut c_void,
    inv: *mut copilot_tool_invocation,
    json: *const c_char,
) {
    let f = &*(ud as *const ToolFn);
    let v: Value = serde_json::from_str(&CStr::from_ptr(json).to_string_lossy()).unwrap();
    match f(&v) {
        ToolOutcome::Result(r) => {
            let r = cstring(&r.to_string());
            copilot_tool_invocation_complete(inv, r.as_ptr(), ptr::null_mut());
        }
        ToolOutcome::Fail(m) => {
            let m = cstring(&m);
            copilot_tool_invocation_fail(inv, m.as_ptr(), ptr::null_mut());
        }
    }
}

unsafe extern "C" fn deferred_tool_trampoline(
    ud: *mut c_void,
    inv: *mut copilot_tool_invocation,
    json: *const c_char,
) {
    let f = &*(ud as *const DeferredToolFn);
    let v: Value = serde_json::from_str(&CStr::from_ptr(json).to_string_lossy()).unwrap();
    f(&v, PendingTool(inv));
}

unsafe extern "C" fn permission_trampoline(
    ud: *mut c_void,
    req: *mut copilot_permission_request,
    json: *const c_char,
) {
    let f = &*(ud as *const RequestFn);
    let v: Value = serde_json::from_str(&CStr::from_ptr(json).to_string_lossy()).unwrap();
    match f(&v) {
        Some(decision) => {
            let d = cstring(&decision.to_string());
            copilot_permission_request_respond(req, d.as_ptr(), ptr::null_mut());
        }
        None => copilot_permission_request_free(req),
    }
}

unsafe extern "C" fn request_trampoline(
    ud: *mut c_void,
    req: *mut copilot_request,
    json: *const c_char,
) {
    let f = &*(ud as *const RequestFn);
    let v: Value = serde_json::from_str(&CStr::from_ptr(json).to_string_lossy()).unwrap();
    match f(&v) {
        Some(result) => {
            let r = cstring(&result.to_string());
            copilot_request_respond(req, r.as_ptr(), ptr::null_mut());
        }
        None => copilot_request_free(req),
    }
}

unsafe extern "C" fn kind_request_trampoline(
    ud: *mut c_void,
    req: *mut copilot_request,
    json: *const c_char,
) {
    let f = &*(ud as *const KindRequestFn);
    let kind = CStr::from_ptr(copilot_request_kind(req)).to_string_lossy();
    let v: Value = serde_json::from_str(&CStr::from_ptr(json).to_string_lossy()).unwrap();
    match f(&kind, &v) {
        Ok(result) => {
            let r = cstring(&result.to_string());
            copilot_request_respond(req, r.as_ptr(), ptr::null_mut());
        }
        Err(message) => {
            let m = cstring(&message);
            copilot_request_fail(req, m.as_ptr(), ptr::null_mut());
        }
    }
}

unsafe extern "C" fn event_trampoline(
    ud: *mut c_void,
    ty: *const c_char,
    json: *const c_char,
    _len: usize,
) {
    let f = &*(ud as *const EventFn);
    let v: Value = serde_json::from_str(&CStr::from_ptr(json).to_string_lossy()).unwrap();
    f(&CStr::from_ptr(ty).to_string_lossy(), &v);
}

pub struct Config(*mut copilot_session_config);

impl Config {
    pub fn new(fields: &Value) -> AbiResult<Config> {
        let f = cstring(&fields.to_string());
        let mut out = ptr::null_mut();
        check(|e| unsafe { copilot_session_config_new(f.as_ptr(), &mut out, e) })?;
        Ok(Config(out))
    }

    pub fn tool(
        self,
        declaration: Value,
        f: impl Fn(&Value) -> ToolOutcome + Send + Sync + 'static,
    ) -> Self {
        let d = cstring(&declaration.to_string());
        let ud = Box::into_raw(Box::new(Box::new(f) as ToolFn)) as *mut c_void;
        check(|e| unsafe {
            copilot_session_config_add_tool(
                self.0,
                d.as_ptr(),
                Some(tool_trampoline),
                ud,
                Some(free_box::<ToolFn>),
                e,
            )
        })
        .expect("add_tool");
        self
    }

    /// A tool whose handler hands the invocation on, to be completed later.
    pub fn tool_deferred(
        self,
        declaration: Value,
        f: impl Fn(&Value, PendingTool) + Send + Sync + 'static,
    ) -> Self {
        let d = cstring(&declaration.to_string());
        let ud = Box::into_raw(Box::new(Box::new(f) as DeferredToolFn)) as *mut c_void;
        check(|e| unsafe {
            copilot_session_config_add_tool(
                self.0,
                d.as_ptr(),
                Some(deferred_tool_trampoline),
                ud,
                Some(free_box::<DeferredToolFn>),
                e,
            )
        })
        .expect("add_tool");
        self
    }

    pub fn approve_all(self) -> Self {
        check(|e| unsafe { copilot_session_config_approve_all(self.0, e) }).expect("approve_all");
        self
    }

    /// The closure returns the decision, or None to drop the request unanswered.
    pub fn permission(self, f: impl Fn(&Value) -> Option<Value> + Send + Sync + 'static) -> Self {
        let ud = Box::into_raw(Box::new(Box::new(f) as RequestFn)) as *mut c_void;
        check(|e| unsafe {
            copilot_session_config_set_permission_handler(
                self.0,
                Some(permission_trampoline),
                ud,
                Some(free_box::<RequestFn>),
                e,
            )
        })
        .expect("set_permission_handler");
        self
    }

    /// The closure returns the result, or None to drop the request (SDK default).
    /// A permission handler that hands the request on, to be answered later.
    pub fn permission_deferred(
        self,
        f: impl Fn(&Value, PendingPermission) + Send + Sync + 'static,
    ) -> Self {
        let ud = Box::into_raw(Box::new(Box::new(f) as DeferredPermissionFn)) as *mut c_void;
        check(|e| unsafe {
            copilot_session_config_set_permission_handler(
                self.0,
                Some(deferred_permission_trampoline),
                ud,
                Some(free_box::<DeferredPermissionFn>),
                e,
            )
        })
        .expect("set_permission_handler");
        self
    }

    pub fn handler(
        self,
        kind: &str,
        f: impl Fn(&Value) -> Option<Value> + Send + Sync + 'static,
    ) -> Self {
        let k = cstring(kind);
        let ud = Box::into_raw(Box::new(Box::new(f) as RequestFn)) as *mut c_void;
        check(|e| unsafe {
            copilot_session_config_set_handler(
                self.0,
                k.as_ptr(),
                Some(request_trampoline),
                ud,
                Some(free_box::<RequestFn>),
                e,
            )
        })
        .expect("set_handler");
        self
    }

    /// A handler of `kind` that keeps the request to answer later (from any thread).
    pub fn handler_deferred(
        self,
        kind: &str,
        f: impl Fn(&Value, PendingRequest) + Send + Sync + 'static,
    ) -> Self {
        let k = cstring(kind);
        let ud = Box::into_raw(Box::new(Box::new(f) as DeferredRequestFn)) as *mut c_void;
        check(|e| unsafe {
            copilot_session_config_set_handler(
                self.0,
                k.as_ptr(),
                Some(deferred_request_trampoline),
                ud,
                Some(free_box::<DeferredRequestFn>),
                e,
            )
        })
        .expect("set_handler");
        self
    }

    /// A handler of every request of `kind` that also needs the request's own
    /// kind (for "sessionFs": the operation, e.g. "sessionFs.readFile").
    pub fn handler_by_kind(
        self,
        kind: &str,
        f: impl Fn(&str, &Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        let k = cstring(kind);
        let ud = Box::into_raw(Box::new(Box::new(f) as KindRequestFn)) as *mut c_void;
        check(|e| unsafe {
            copilot_session_config_set_handler(
                self.0,
                k.as_ptr(),
                Some(kind_request_trampoline),
                ud,
                Some(free_box::<KindRequestFn>),
                e,
            )
        })
        .expect("set_handler");
        self
    }

    pub fn hook(
        self,
        hook_type: &str,
        f: impl Fn(&Value) -> Option<Value> + Send + Sync + 'static,
    ) -> Self {
        let k = cstring(hook_type);
        let ud = Box::into_raw(Box::new(Box::new(f) as RequestFn)) as *mut c_void;
        check(|e| unsafe {
            copilot_session_config_set_hook(
                self.0,
                k.as_ptr(),
                Some(request_trampoline),
                ud,
                Some(free_box::<RequestFn>),
                e,
            )
        })
        .expect("set_hook");
        self
    }

    pub fn command(
        self,
        declaration: Value,
        f: impl Fn(&Value) -> Option<Value> + Send + Sync + 'static,
    ) -> Self {
        let d = cstring(&declaration.to_string());
        let ud = Box::into_raw(Box::new(Box::new(f) as RequestFn)) as *mut c_void;
        check(|e| unsafe {
            copilot_session_config_add_command(
                self.0,
                d.as_ptr(),
                Some(request_trampoline),
                ud,
                Some(free_box::<RequestFn>),
                e,
            )
        })
        .expect("add_command");
        self
    }

    pub fn on_event(self, f: impl Fn(&str, &Value) + Send + Sync + 'static) -> Self {
        let ud = Box::into_raw(Box::new(Box::new(f) as EventFn)) as *mut c_void;
        check(|e| unsafe {
            copilot_session_config_on_event(
                self.0,
                Some(event_trampoline),
                ud,
                Some(free_box::<EventFn>),
                e,
            )
        })
        .expect("on_event");
        self
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        unsafe { copilot_session_config_free(self.0) }
    }
}
