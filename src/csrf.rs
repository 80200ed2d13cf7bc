//! Cross-site request forgery: whether a request that changes state came from a page that
//! may send it.
//!
//! A browser attaches the session cookie to requests that other pages make: a form on
//! another site posting to yours, a `fetch` with `credentials: "include"`. The
//! [`SessionLayer`](crate::SessionLayer) refuses such requests (403,
//! [`Rejection::CrossSite`](crate::rejection::Rejection::CrossSite)) when the token came from the cookie
//! and the method is not [safe](is_safe), by two headers browsers set and pages can't:
//!
//! - `Sec-Fetch-Site: cross-site`: the page that sent it is on another site (a site is the
//!   scheme and the registrable domain: `http://` and `https://` pages are cross-site to each
//!   other). Refused, unless its `Origin` is one [listed](AllowedOrigins::list) explicitly.
//! - `Origin` present and not [allowed](AllowedOrigins). This also catches pages of the
//!   same site but another origin (a sibling subdomain, another port), which
//!   `Sec-Fetch-Site` calls `same-site`. `Origin: null` (a sandboxed frame, a `data:` page,
//!   a redirect across origins) is never allowed: any page can make one.
//!
//! A request with neither header passes: it comes from a client that is not a browser (curl,
//! a server), or from a browser too old to send them, where `SameSite=Lax` on the cookie is
//! what keeps other sites' forms out.
//!
//! [`check`] is the same test for handlers the layer doesn't cover, log-in first of all: a
//! log-in form posted from another site would sign the victim's browser into the attacker's
//! account ("login CSRF"), and no session cookie is involved yet.
//!
//! ```
//! use cognito_session::csrf::{self, AllowedOrigins, Refused};
//! use http::Request;
//!
//! let allowed = AllowedOrigins::same_origin();
//! let from_the_site = Request::post("/sessions")
//!     .header("host", "app.example.com")
//!     .header("origin", "https://app.example.com")
//!     .body(())
//!     .unwrap();
//! assert_eq!(csrf::check(from_the_site.headers(), from_the_site.uri(), &allowed), Ok(()));
//!
//! let forged = Request::post("/sessions")
//!     .header("host", "app.example.com")
//!     .header("origin", "https://evil.example")
//!     .header("sec-fetch-site", "cross-site")
//!     .body(())
//!     .unwrap();
//! assert_eq!(
//!     csrf::check(forged.headers(), forged.uri(), &allowed),
//!     Err(Refused::CrossSite)
//! );
//! ```

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, HeaderName, Method, Uri};

/// `Sec-Fetch-Site` (Fetch Metadata), not among `http`'s constants.
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Why [`check`] refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// `Sec-Fetch-Site: cross-site`, from an origin not listed explicitly.
    #[error("the request came from another site")]
    CrossSite,
    /// An `Origin` that is not allowed (including `null`), or several `Origin` headers.
    #[error("the request came from an origin that is not allowed")]
    OriginNotAllowed,
}

/// Whether `method` is safe (RFC 9110, section 9.2.1): `GET`, `HEAD`, `OPTIONS` and `TRACE`
/// change nothing, so no CSRF check is needed. Every other method, extension methods
/// included, is checked.
pub fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The origins whose pages may send requests that change state with the session cookie.
///
/// The default, [`same_origin`](Self::same_origin), allows the request's own origin: the
/// `Origin`'s host and port must be the request's (the `Host` header, or the URI's authority
/// under HTTP/2), and its scheme `http` or `https`.
///
/// Why either scheme: behind a proxy that ends TLS the server sees plain HTTP while the
/// browser says `https://`, and the header that would tell (`X-Forwarded-Proto`) is only as
/// good as the proxy that sets it. Accepting both loses nothing against another site: a
/// page at `http://` of your own host is one only a network attacker can serve, and
/// browsers mark its requests to `https://` `Sec-Fetch-Site: cross-site` (sites are
/// schemeful), which is refused. To pin the scheme, or when the proxy rewrites `Host`, or for
/// a front end on another origin, [`list`](Self::list) the origins instead.
///
/// ```
/// use cognito_session::csrf::AllowedOrigins;
///
/// let allowed = AllowedOrigins::list(["https://app.example.com", "https://admin.example.com"])
///     .unwrap();
/// assert!(AllowedOrigins::list(["https://app.example.com/login"]).is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedOrigins {
    /// `None`: the request's own origin.
    listed: Option<Vec<Allowed>>,
}

/// A listed origin, lowercase; `port` is `None` for the scheme's default.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Allowed {
    scheme: String,
    host: String,
    port: Option<u16>,
}

/// An origin in `list` that is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an origin (scheme://host[:port], no path): {0:?}")]
pub struct InvalidOrigin(pub String);

impl AllowedOrigins {
    /// The request's own origin, whatever its host. The default.
    pub fn same_origin() -> Self {
        Self { listed: None }
    }

    /// Exactly these origins, each `scheme://host[:port]` as a browser sends it in `Origin`
    /// (no path, no trailing slash; case and a default port don't matter). The request's own
    /// origin is not added: list it too if pages of the API's own host send requests. An
    /// empty list lets through only requests without `Origin`. `null` can't be listed.
    pub fn list<I>(origins: I) -> Result<Self, InvalidOrigin>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let listed = origins
            .into_iter()
            .map(|origin| {
                let origin = origin.as_ref().trim();
                let parsed = parse_origin(origin.as_bytes())
                    .ok_or_else(|| InvalidOrigin(origin.to_owned()))?;
                Ok(Allowed {
                    scheme: parsed.scheme.to_ascii_lowercase(),
                    host: parsed.host.to_ascii_lowercase(),
                    port: parsed.port,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            listed: Some(listed),
        })
    }

    /// Whether these are the request's own origin ([`same_origin`](Self::same_origin)).
    pub fn is_same_origin(&self) -> bool {
        self.listed.is_none()
    }

    /// Whether `origin` (an `Origin` header's value) is allowed for a request to `uri` with
    /// `headers`.
    fn allows(&self, origin: &[u8], uri: &Uri, headers: &HeaderMap) -> bool {
        let Some(origin) = parse_origin(origin) else {
            return false;
        };
        match &self.listed {
            Some(_) => self.lists(&origin),
            None => own_authority(uri, headers).is_some_and(|own| is_own(&origin, own)),
        }
    }

    /// Whether `origin` is among the listed ones.
    fn lists(&self, origin: &Origin<'_>) -> bool {
        self.listed.iter().flatten().any(|allowed| {
            allowed.scheme.eq_ignore_ascii_case(origin.scheme)
                && allowed.host.eq_ignore_ascii_case(origin.host)
                && allowed.port == origin.port
        })
    }
}

/// Whether a request to `uri` with `headers` may change state, by its `Sec-Fetch-Site` and
/// `Origin` (see the [module](self)). The method is not looked at: call it for the requests
/// that need it (a log-in, anything not [safe](is_safe)).
///
/// Reads headers only and allocates nothing.
pub fn check(headers: &HeaderMap, uri: &Uri, allowed: &AllowedOrigins) -> Result<(), Refused> {
    let mut origins = headers.get_all(ORIGIN).iter();
    let origin = origins.next().map(|v| v.as_bytes().trim_ascii());
    if origins.next().is_some() {
        return Err(Refused::OriginNotAllowed);
    }
    let cross_site = headers.get_all(SEC_FETCH_SITE).iter().any(|v| {
        v.as_bytes()
            .trim_ascii()
            .eq_ignore_ascii_case(b"cross-site")
    });
    if cross_site {
        // Another site's page is trusted only when it was named.
        let named = origin
            .and_then(parse_origin)
            .is_some_and(|origin| allowed.lists(&origin));
        return if named {
            Ok(())
        } else {
            Err(Refused::CrossSite)
        };
    }
    match origin {
        Some(origin) if !allowed.allows(origin, uri, headers) => Err(Refused::OriginNotAllowed),
        _ => Ok(()),
    }
}

/// An origin as serialized in `Origin`: `port` is `None` when absent or the scheme's default.
#[derive(Debug, PartialEq, Eq)]
struct Origin<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<u16>,
}

/// Parses `scheme://host[:port]`; `None` for anything else (`null`, a path, userinfo, an
/// empty host, a bad port).
fn parse_origin(value: &[u8]) -> Option<Origin<'_>> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, authority) = value.split_once("://")?;
    let mut chars = scheme.bytes();
    if !chars.next()?.is_ascii_alphabetic()
        || !chars.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return None;
    }
    let (host, port) = split_authority(authority)?;
    let port = port.filter(|&port| Some(port) != default_port(scheme));
    Some(Origin { scheme, host, port })
}

/// Splits `host[:port]` (an IPv6 host in brackets); `None` when it is not one.
fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    let host_end = if authority.starts_with('[') {
        authority.find(']')? + 1
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    let (host, rest) = authority.split_at(host_end);
    let host_ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_');
    let bracketed = host.len() > 2
        && host.starts_with('[')
        && host[1..host.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'));
    if host.is_empty() || !(bracketed || host.bytes().all(host_ok)) {
        return None;
    }
    let port = match rest.strip_prefix(':') {
        None if rest.is_empty() => None,
        None => return None,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(digits.parse().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else if scheme.eq_ignore_ascii_case("http") {
        Some(80)
    } else {
        None
    }
}

/// The authority the request was sent to: the URI's (absolute form, HTTP/2's `:authority`),
/// else the one `Host` header.
fn own_authority<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Option<&'a str> {
    if let Some(authority) = uri.authority() {
        return Some(authority.as_str());
    }
    let mut hosts = headers.get_all(HOST).iter();
    let host = hosts.next()?;
    if hosts.next().is_some() {
        return None;
    }
    host.to_str().ok().map(str::trim)
}

/// Whether `origin` is the origin of a request sent to `own` (`host[:port]`), by either
/// `http` or `https` (see [`AllowedOrigins`]).
fn is_own(origin: &Origin<'_>, own: &str) -> bool {
    let Some(default) = default_port(origin.scheme) else {
        return false;
    };
    let Some((host, port)) = split_authority(own) else {
        return false;
    };
    // `Host` leaves the default port of the scheme the browser used out, as `Origin` does.
    let port = port.filter(|&port| port != default);
    host.eq_ignore_ascii_case(origin.host) && port == origin.port
}

#[cfg(test)]
mod tests {
    use http::{HeaderValue, Request};

    use super::*;

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::post(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    fn verdict(
        uri: &str,
        headers: &[(&str, &str)],
        allowed: &AllowedOrigins,
    ) -> Result<(), Refused> {
        let request = request(uri, headers);
        check(request.headers(), request.uri(), allowed)
    }

    fn same() -> AllowedOrigins {
        AllowedOrigins::same_origin()
    }

    #[test]
    fn the_own_origin_is_allowed_by_either_scheme_and_with_the_same_port() {
        for (host, origin) in [
            ("app.example.com", "https://app.example.com"),
            ("app.example.com", "http://app.example.com"),
            ("App.Example.com", "https://app.EXAMPLE.com"),
            ("app.example.com:443", "https://app.example.com"),
            ("app.example.com:80", "http://app.example.com"),
            ("127.0.0.1:3000", "http://127.0.0.1:3000"),
            ("[::1]:8080", "http://[::1]:8080"),
        ] {
            assert_eq!(
                verdict("/x", &[("host", host), ("origin", origin)], &same()),
                Ok(()),
                "{host} {origin}"
            );
        }
    }

    #[test]
    fn other_origins_are_refused() {
        for (host, origin) in [
            ("app.example.com", "https://evil.example"),
            ("app.example.com", "https://app.example.com.evil.example"),
            ("app.example.com", "https://sub.app.example.com"),
            // Same site, another port: Sec-Fetch-Site says same-site, the origin differs.
            ("127.0.0.1:3000", "http://127.0.0.1:3001"),
            ("127.0.0.1:3000", "http://127.0.0.1"),
            ("app.example.com", "https://app.example.com:8443"),
            ("app.example.com:443", "http://app.example.com"),
            ("app.example.com", "null"),
            ("app.example.com", "ftp://app.example.com"),
            ("app.example.com", "https://app.example.com/"),
            ("app.example.com", "https://user@app.example.com"),
            ("app.example.com", ""),
            ("app.example.com", "app.example.com"),
        ] {
            assert_eq!(
                verdict("/x", &[("host", host), ("origin", origin)], &same()),
                Err(Refused::OriginNotAllowed),
                "{host} {origin:?}"
            );
        }
    }

    #[test]
    fn without_a_host_no_origin_is_the_own_one() {
        assert_eq!(
            verdict("/x", &[("origin", "http://127.0.0.1:3000")], &same()),
            Err(Refused::OriginNotAllowed)
        );
        let two_hosts = request(
            "/x",
            &[
                ("host", "a.example"),
                ("host", "a.example"),
                ("origin", "https://a.example"),
            ],
        );
        assert_eq!(
            check(two_hosts.headers(), two_hosts.uri(), &same()),
            Err(Refused::OriginNotAllowed)
        );
    }

    #[test]
    fn the_uri_authority_counts_under_http2() {
        assert_eq!(
            verdict(
                "https://app.example.com/x",
                &[("origin", "https://app.example.com")],
                &same()
            ),
            Ok(())
        );
        assert_eq!(
            verdict(
                "https://app.example.com/x",
                &[("host", "evil.example"), ("origin", "https://evil.example")],
                &same()
            ),
            Err(Refused::OriginNotAllowed)
        );
    }

    #[test]
    fn no_origin_and_no_fetch_metadata_passes() {
        assert_eq!(verdict("/x", &[("host", "a.example")], &same()), Ok(()));
        assert_eq!(verdict("/x", &[], &same()), Ok(()));
    }

    #[test]
    fn cross_site_is_refused_whatever_the_origin_unless_listed() {
        for headers in [
            &[("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-site", "Cross-Site ")],
            &[
                ("host", "a.example"),
                ("origin", "https://a.example"),
                ("sec-fetch-site", "cross-site"),
            ],
            &[
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-site", "cross-site"),
            ],
        ] {
            assert_eq!(
                verdict("/x", headers, &same()),
                Err(Refused::CrossSite),
                "{headers:?}"
            );
        }
        for site in ["same-origin", "same-site", "none"] {
            let headers = [("host", "a.example"), ("sec-fetch-site", site)];
            assert_eq!(verdict("/x", &headers, &same()), Ok(()), "{site}");
        }
        let listed = AllowedOrigins::list(["https://front.other.example"]).unwrap();
        let from_listed = [
            ("host", "api.example"),
            ("origin", "https://front.other.example"),
            ("sec-fetch-site", "cross-site"),
        ];
        assert_eq!(verdict("/x", &from_listed, &listed), Ok(()));
        let unnamed = [("host", "api.example"), ("sec-fetch-site", "cross-site")];
        assert_eq!(verdict("/x", &unnamed, &listed), Err(Refused::CrossSite));
    }

    #[test]
    fn a_list_replaces_the_own_origin() {
        let listed =
            AllowedOrigins::list(["HTTPS://App.Example.com:443", "http://127.0.0.1:8080"]).unwrap();
        assert!(!listed.is_same_origin());
        let ok = [
            ("api.internal", "https://app.example.com"),
            ("api.internal", "http://127.0.0.1:8080"),
        ];
        for (host, origin) in ok {
            let headers = [("host", host), ("origin", origin)];
            assert_eq!(verdict("/x", &headers, &listed), Ok(()), "{origin}");
        }
        let refused = [
            ("api.internal", "http://app.example.com"),
            ("api.internal", "https://app.example.com:444"),
            ("api.internal", "https://api.internal"),
            ("api.internal", "null"),
        ];
        for (host, origin) in refused {
            let headers = [("host", host), ("origin", origin)];
            assert_eq!(
                verdict("/x", &headers, &listed),
                Err(Refused::OriginNotAllowed),
                "{origin}"
            );
        }
        let empty = AllowedOrigins::list(Vec::<String>::new()).unwrap();
        let own = [("host", "a.example"), ("origin", "https://a.example")];
        assert_eq!(verdict("/x", &own, &empty), Err(Refused::OriginNotAllowed));
        assert_eq!(verdict("/x", &[("host", "a.example")], &empty), Ok(()));
    }

    #[test]
    fn listing_something_that_is_no_origin_fails() {
        for bad in [
            "null",
            "*",
            "https://a.example/",
            "https://a.example/path",
            "a.example",
            "https://",
            "https://a.example:99999",
            "https://a.example:",
            "https://u:p@a.example",
            "1http://a.example",
        ] {
            assert_eq!(
                AllowedOrigins::list([bad]),
                Err(InvalidOrigin(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn several_origin_headers_and_non_utf8_are_refused() {
        let mut request = request("/x", &[("host", "a.example")]);
        let headers = request.headers_mut();
        headers.append(ORIGIN, HeaderValue::from_static("https://a.example"));
        headers.append(ORIGIN, HeaderValue::from_static("https://a.example"));
        assert_eq!(
            check(request.headers(), request.uri(), &same()),
            Err(Refused::OriginNotAllowed)
        );
        let mut request = self::request("/x", &[("host", "a.example")]);
        request.headers_mut().insert(
            ORIGIN,
            HeaderValue::from_bytes(b"https://a.\xffexample").unwrap(),
        );
        assert_eq!(
            check(request.headers(), request.uri(), &same()),
            Err(Refused::OriginNotAllowed)
        );
    }

    #[test]
    fn safe_methods() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(is_safe(&method), "{method}");
        }
        for method in [
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::CONNECT,
        ] {
            assert!(!is_safe(&method), "{method}");
        }
        assert!(!is_safe(&Method::from_bytes(b"PURGE").unwrap()));
    }
}
