//! Finding the token in a request: `Authorization: Bearer` and the session cookie.

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};

/// Where a token may come from. [`SessionConfig::with_token_sources`](crate::SessionConfig::with_token_sources)
/// sets which are read, in which order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (RFC 6750); the scheme is case-insensitive.
    Bearer,
    /// The session cookie, by exact name.
    Cookie,
}

/// What the request carried.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    /// No token from any configured source.
    Nothing,
    /// A token, borrowed from the headers, and where it came from.
    Token(&'a str, TokenSource),
    /// The request is malformed in a way we refuse to guess about (several `Authorization`
    /// headers, or several session cookies).
    Ambiguous,
}

/// Looks for a token in `sources` order. Another `Authorization` scheme, or `Bearer` with no
/// token, counts as no token from that source.
pub(crate) fn find<'a>(
    headers: &'a HeaderMap,
    sources: &[TokenSource],
    cookie_name: &str,
) -> Found<'a> {
    for source in sources {
        let token = match source {
            TokenSource::Bearer => {
                let mut values = headers.get_all(AUTHORIZATION).iter();
                let first = values.next();
                if values.next().is_some() {
                    return Found::Ambiguous;
                }
                first.and_then(|v| bearer(v.as_bytes()))
            }
            TokenSource::Cookie => {
                // A second cookie of our name is a sibling subdomain's doing (cookie
                // tossing): which one the browser sent first is the attacker's choice.
                let mut values = headers
                    .get_all(COOKIE)
                    .iter()
                    .flat_map(|v| cookie_values(v.as_bytes(), cookie_name));
                let first = values.next();
                if values.next().is_some() {
                    return Found::Ambiguous;
                }
                first.flatten()
            }
        };
        if let Some(token) = token {
            return Found::Token(token, *source);
        }
    }
    Found::Nothing
}

fn bearer(value: &[u8]) -> Option<&str> {
    let value = value.trim_ascii();
    let space = value.iter().position(|&b| b == b' ' || b == b'\t')?;
    let (scheme, token) = value.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    // `str::trim` after the ASCII one only looks at the ends: a token is never padded with
    // other whitespace (a no-break space) either. A token that begins and ends with a visible
    // ASCII character (every token of ours) has none there: that is checked first, in O(1).
    let token = token.trim_ascii();
    let visible = |b: Option<&u8>| b.is_some_and(u8::is_ascii_graphic);
    let trimmed = visible(token.first()) && visible(token.last());
    let token = std::str::from_utf8(token).ok()?;
    let token = if trimmed { token } else { token.trim() };
    (!token.is_empty()).then_some(token)
}

/// The values of the cookies named `name` in one `Cookie` header, in order: `Some` for a
/// value that can be a token, `None` for one that can't. Names match exactly; optional
/// whitespace around pairs and a pair of double quotes around the value are removed
/// (RFC 6265, section 4.2.1). A value with anything but cookie-octets inside (whitespace,
/// quotes, commas, backslashes, controls, non-ASCII) is no token of ours.
///
/// Runs on every request, so it reads each byte once: pairs with another name are skipped
/// to the next `;`, and our value is checked as it is scanned (`;` is no cookie-octet).
fn cookie_values<'a>(header: &'a [u8], name: &str) -> impl Iterator<Item = Option<&'a str>> {
    let mut rest = Some(header);
    std::iter::from_fn(move || {
        loop {
            let pair = rest?.trim_ascii_start();
            let (value, tail) = match pair
                .strip_prefix(name.as_bytes())
                .and_then(|after| after.trim_ascii_start().strip_prefix(b"="))
            {
                Some(value) => named_value(value),
                None => (None, pair),
            };
            rest = tail
                .iter()
                .position(|&b| b == b';')
                .map(|semicolon| &tail[semicolon + 1..]);
            if value.is_some() {
                return value;
            }
        }
    })
}

/// What follows `name=` in a `Cookie` header: the value (`Some(None)` when it can't be a
/// token), and where to look for the next pair.
fn named_value(value: &[u8]) -> (Option<Option<&str>>, &[u8]) {
    let value = value.trim_ascii_start();
    let (quoted, value) = match value.strip_prefix(b"\"") {
        Some(inner) => (true, inner),
        None => (false, value),
    };
    let end = value
        .iter()
        .position(|&b| !COOKIE_OCTET[usize::from(b)])
        .unwrap_or(value.len());
    let (token, tail) = value.split_at(end);
    let tail = if quoted {
        tail.strip_prefix(b"\"")
    } else {
        Some(tail)
    };
    let ends_here = tail.map(<[u8]>::trim_ascii_start);
    if !token.is_empty() && matches!(ends_here, Some([] | [b';', ..])) {
        return (Some(std::str::from_utf8(token).ok()), tail.unwrap_or(value));
    }
    (Some(None), tail.unwrap_or(value))
}

/// RFC 6265's `cookie-octet`, by byte: visible ASCII but `"`, `,`, `;` and `\`.
const COOKIE_OCTET: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E);
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    const BOTH: &[TokenSource] = &[TokenSource::Bearer, TokenSource::Cookie];

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    fn token(t: &str, s: TokenSource) -> Found<'_> {
        Found::Token(t, s)
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for v in [
            "Bearer abc",
            "bearer abc",
            "BEARER   abc  ",
            "  Bearer\tabc",
        ] {
            let h = headers(&[("authorization", v.as_bytes())]);
            assert_eq!(
                find(&h, BOTH, "token"),
                token("abc", TokenSource::Bearer),
                "{v}"
            );
        }
    }

    #[test]
    fn a_bearer_token_is_trimmed_of_any_whitespace() {
        let h = headers(&[("authorization", "Bearer \u{a0} abc\u{a0}".as_bytes())]);
        assert_eq!(find(&h, BOTH, "token"), token("abc", TokenSource::Bearer));
        let h = headers(&[("authorization", "Bearer \u{a0}".as_bytes())]);
        assert_eq!(find(&h, BOTH, "token"), Found::Nothing);
    }

    #[test]
    fn other_schemes_and_empty_bearer_are_absent() {
        for v in [
            "Basic YWJj",
            "Bearer",
            "Bearer   ",
            "Bearerabc",
            "",
            "Token abc",
        ] {
            let h = headers(&[("authorization", v.as_bytes())]);
            assert_eq!(find(&h, BOTH, "token"), Found::Nothing, "{v:?}");
        }
    }

    #[test]
    fn bearer_wins_over_cookie_by_default_and_order_is_configurable() {
        let h = headers(&[("authorization", b"Bearer a"), ("cookie", b"token=c")]);
        assert_eq!(find(&h, BOTH, "token"), token("a", TokenSource::Bearer));
        let cookie_first = [TokenSource::Cookie, TokenSource::Bearer];
        assert_eq!(
            find(&h, &cookie_first, "token"),
            token("c", TokenSource::Cookie)
        );
        assert_eq!(
            find(&h, &[TokenSource::Cookie], "token"),
            token("c", TokenSource::Cookie)
        );
        let only_cookie = headers(&[("cookie", b"token=c")]);
        assert_eq!(
            find(&only_cookie, &[TokenSource::Bearer], "token"),
            Found::Nothing
        );
    }

    #[test]
    fn duplicated_authorization_is_ambiguous() {
        let h = headers(&[
            ("authorization", b"Bearer a"),
            ("authorization", b"Bearer b"),
        ]);
        assert_eq!(find(&h, BOTH, "token"), Found::Ambiguous);
    }

    #[test]
    fn cookie_name_matches_exactly() {
        for v in [
            &b"mytoken=x"[..],
            b"token_x=y",
            b"tokens=z; Token=q",
            b"xtoken=1;token2=2",
        ] {
            let h = headers(&[("cookie", v)]);
            assert_eq!(find(&h, BOTH, "token"), Found::Nothing, "{v:?}");
        }
        let h = headers(&[("cookie", b"mytoken=x; token=right; token2=y")]);
        assert_eq!(find(&h, BOTH, "token"), token("right", TokenSource::Cookie));
    }

    #[test]
    fn every_cookie_header_is_read() {
        let h = headers(&[
            ("cookie", b"a=1; b=2"),
            ("cookie", b"c=3"),
            ("cookie", b"token=t"),
        ]);
        assert_eq!(find(&h, BOTH, "token"), token("t", TokenSource::Cookie));
    }

    #[test]
    fn whitespace_and_quotes_are_removed() {
        let h = headers(&[("cookie", b"  a=1 ;   token = \"quoted\"  ; b=2")]);
        assert_eq!(
            find(&h, BOTH, "token"),
            token("quoted", TokenSource::Cookie)
        );
        let h = headers(&[("cookie", b"token=\"")]);
        assert_eq!(find(&h, BOTH, "token"), Found::Nothing);
        let h = headers(&[("cookie", b"token=")]);
        assert_eq!(find(&h, BOTH, "token"), Found::Nothing);
    }

    /// Found by the `token_extraction` and `cookie_parsing` fuzz targets: quotes kept what
    /// they enclosed, whitespace included (fuzz/regressions/).
    #[test]
    fn quoted_values_hold_only_cookie_octets() {
        for value in [
            &b"token=\" x\""[..],
            b"token=\"x \"",
            b"token=\"\xc2\xa0q\"",
            b"token=a\\b",
            b"token=a,b",
            b"token=\"a\"b\"",
        ] {
            let h = headers(&[("cookie", value)]);
            assert_eq!(find(&h, BOTH, "token"), Found::Nothing, "{value:?}");
        }
        let h = headers(&[("cookie", b"token=\"ok-_.~!#$%&'()*+/:<=>?@[]^`{|}\"")]);
        assert_eq!(
            find(&h, BOTH, "token"),
            token("ok-_.~!#$%&'()*+/:<=>?@[]^`{|}", TokenSource::Cookie)
        );
    }

    #[test]
    fn non_utf8_bytes_do_not_hide_a_good_cookie() {
        let h = headers(&[("cookie", b"x=\xff\xfe; token=ok")]);
        assert_eq!(find(&h, BOTH, "token"), token("ok", TokenSource::Cookie));
        let h = headers(&[("authorization", b"Bearer \xff")]);
        assert_eq!(find(&h, BOTH, "token"), Found::Nothing);
    }

    #[test]
    fn two_session_cookies_are_refused_not_guessed_between() {
        // A sibling subdomain can toss in a second `token` (with a longer path, so the
        // browser sends it first): taking either would be the attacker's choice.
        for pairs in [
            &[("cookie", &b"token=first; token=second"[..])][..],
            &[("cookie", b"token=first; a=1"), ("cookie", b"token=second")],
            &[("cookie", b"token=\"bad value\"; token=ok")],
            &[("cookie", b"token=; token=ok")],
        ] {
            let h = headers(pairs);
            assert_eq!(find(&h, BOTH, "token"), Found::Ambiguous, "{pairs:?}");
        }
        // Names match exactly: look-alikes are other cookies.
        let h = headers(&[("cookie", b"mytoken=a; token=ok; token2=b; Token=c")]);
        assert_eq!(find(&h, BOTH, "token"), token("ok", TokenSource::Cookie));
        // A Bearer token is found first and the cookies are not read.
        let h = headers(&[
            ("authorization", b"Bearer t"),
            ("cookie", b"token=first; token=second"),
        ]);
        assert_eq!(find(&h, BOTH, "token"), token("t", TokenSource::Bearer));
    }
}
