//! What the header-driven targets share: a small text format for header maps, so that seeds
//! and crash inputs can be read and written by hand.
//!
//! An input is lines separated by `\n`; a line `name:value` is one header (one space after
//! the colon is dropped, any other is kept). Lines that don't make a valid header name and
//! value are skipped, as `http` would refuse them before any service saw them.

#![allow(dead_code)] // not every target uses every helper

use http::{HeaderMap, HeaderName, HeaderValue};

/// The headers in `lines`, in order, repeated names appended.
pub fn headers<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            map.append(name, value);
        }
    }
    map
}

/// The input split into lines; the first one apart (a cookie name, in some targets).
pub fn first_and_rest(data: &[u8]) -> (String, impl Iterator<Item = &[u8]>) {
    let mut lines = data.split(|&b| b == b'\n');
    let first = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    (first, lines)
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every occurrence of `from` in `data` replaced by `to`.
pub fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while !rest.is_empty() {
        if rest.starts_with(from) {
            out.extend_from_slice(to);
            rest = &rest[from.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

/// The contract of a token found in a request: not empty, no whitespace around it (the
/// whitespace `str::trim` removes).
pub fn assert_clean_token(token: &str) {
    assert!(!token.is_empty(), "an empty token was returned");
    assert!(
        !token.starts_with(char::is_whitespace) && !token.ends_with(char::is_whitespace),
        "token with whitespace around it: {token:?}"
    );
}
