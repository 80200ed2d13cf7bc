//! The whole layer, on arbitrary request headers: a `SessionLayer` (session required) over a
//! memory store that holds one opaque and one Cognito session.
//!
//! Input: headers, one `name:value` a line; `$OPAQUE` and `$JWT` anywhere stand for the
//! tokens of the two live sessions, so the fuzzer reaches the paths that accept a request.
//!
//! The properties: the answer is 200, 400 or 401 (never a panic, a 500 — the handler's
//! answer to a request let through without a user — or a 503); and a 200 means the request's
//! token is one of the two live sessions' tokens.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::OnceLock;

use cognito_session::fuzz::{COOKIE_NAME, OPAQUE_TOKEN, VALID_JWT, find_token, layer_status};
use http::Request;
use libfuzzer_sys::fuzz_target;
use tokio::runtime::{Builder, Runtime};

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Builder::new_current_thread().enable_all().build().unwrap())
}

fuzz_target!(|data: &[u8]| {
    let data = common::replace(data, b"$OPAQUE", OPAQUE_TOKEN.as_bytes());
    let data = common::replace(&data, b"$JWT", VALID_JWT.as_bytes());
    let mut request = Request::new(());
    *request.headers_mut() = common::headers(data.split(|&b| b == b'\n'));
    let headers = request.headers().clone();
    let status = runtime().block_on(layer_status(request));
    assert!(
        matches!(status, 200 | 400 | 401),
        "status {status} for headers {headers:?}"
    );
    if status == 200 {
        let token = find_token(&headers, COOKIE_NAME);
        assert!(
            matches!(token.as_deref(), Some(t) if t == OPAQUE_TOKEN || t == VALID_JWT),
            "a request without a live session's token got through: {headers:?}"
        );
    }
});
