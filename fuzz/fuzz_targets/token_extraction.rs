//! Token extraction from arbitrary header maps: `Authorization: Bearer`, then the cookie.
//!
//! Input: the cookie name on the first line, then headers, one `name:value` a line.

#![no_main]

#[path = "common.rs"]
mod common;

use cognito_session::fuzz::{find_token, is_valid_cookie_name};
use http::header::{AUTHORIZATION, COOKIE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (cookie_name, lines) = common::first_and_rest(data);
    if !is_valid_cookie_name(&cookie_name) {
        // The manager refuses such a name, so the layer never looks for one.
        return;
    }
    let headers = common::headers(lines);
    let found = find_token(&headers, &cookie_name);
    let authorizations = headers.get_all(AUTHORIZATION).iter().count();
    if authorizations > 1 {
        assert_eq!(
            found, None,
            "a repeated Authorization header must not yield a token"
        );
    }
    if let Some(token) = found {
        common::assert_clean_token(&token);
        let mut sources = headers
            .get_all(AUTHORIZATION)
            .iter()
            .chain(headers.get_all(COOKIE).iter());
        assert!(
            sources.any(|value| common::contains(value.as_bytes(), token.as_bytes())),
            "{token:?} is in no Authorization or Cookie header"
        );
    }
});
