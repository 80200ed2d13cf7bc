//! The session cookie, found in arbitrary `Cookie` headers.
//!
//! Input: the cookie name on the first line, then one `Cookie` header value a line (any
//! bytes; HTTP/2 clients send several).

#![no_main]

#[path = "common.rs"]
mod common;

use cognito_session::fuzz::{find_token, is_valid_cookie_name};
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (name, lines) = common::first_and_rest(data);
    if !is_valid_cookie_name(&name) {
        // The manager refuses such a name, so the layer never looks for one.
        return;
    }
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(COOKIE, value);
        }
    }
    let Some(token) = find_token(&headers, &name) else {
        return;
    };
    common::assert_clean_token(&token);
    assert!(!token.contains(';'), "a value runs over a pair: {token:?}");
    // The name matched exactly: some pair of some header is `name=...token...`, its name
    // equal to ours once the whitespace around it is gone. `mytoken=` is not `token=`.
    let pair_of_ours = headers.get_all(COOKIE).iter().any(|value| {
        value.as_bytes().split(|&b| b == b';').any(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| pair.split_once('='))
                .is_some_and(|(n, v)| n.trim() == name && v.contains(token.as_str()))
        })
    });
    assert!(
        pair_of_ours,
        "{token:?} is not the value of a cookie named {name:?}"
    );
});
