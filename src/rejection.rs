//! What the layer answers instead of calling the inner service, and how to change it.
//!
//! # gRPC
//!
//! A request whose `content-type` is `application/grpc` (or `application/grpc+proto`,
//! `application/grpc+json`, ...) is refused the way gRPC clients understand: a
//! *trailers-only* response, HTTP 200 with `content-type: application/grpc`, the status in
//! `grpc-status` and the same short message as the JSON body in `grpc-message`, and no body.
//! ([gRPC over HTTP/2](https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
//! "Trailers-Only is permitted for calls that produce an immediate error".)
//!
//! | [`Rejection`] | HTTP | gRPC ([`grpc_status`](Rejection::grpc_status)) |
//! |---|---|---|
//! | [`Missing`](Rejection::Missing), [`Invalid`](Rejection::Invalid) | 401 | 16 `UNAUTHENTICATED` |
//! | [`Forbidden`](Rejection::Forbidden), [`CrossSite`](Rejection::CrossSite) | 403 | 7 `PERMISSION_DENIED` |
//! | [`Unavailable`](Rejection::Unavailable) | 503 | 14 `UNAVAILABLE` |
//! | [`BadRequest`](Rejection::BadRequest) | 400 | 3 `INVALID_ARGUMENT` |
//!
//! [`DefaultOnRejection`] answers both kinds, for any body that is `From<String>` (axum's,
//! hyper's `String`). tonic's own body is not, so in front of a tonic
//! `Server::builder()` the layer takes [`GrpcOnRejection`], which answers the same without
//! a body. An [`OnRejection`] of your own replaces both answers.

use std::sync::Arc;

use http::header::{ACCEPT, LOCATION};
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};

/// Why a request was not let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// No token in the request. 401.
    Missing,
    /// A token that is not a valid session: unknown, expired, ended, malformed, or a JWT that
    /// failed verification. 401 with `error="invalid_token"`.
    Invalid(InvalidReason),
    /// A request we refuse to interpret (several `Authorization` headers, or several
    /// session cookies). 400 with `error="invalid_request"`.
    BadRequest,
    /// The session store, Cognito or the key endpoint can't be reached now. 503 with
    /// `Retry-After`; the session is untouched and the cookie kept.
    Unavailable,
    /// A valid session whose user lacks the group or scope a [guard](crate::guard) requires.
    /// 403 with `error="insufficient_scope"` (RFC 6750, section 3.1).
    Forbidden,
    /// A request that would change state with the session cookie, sent by another site's
    /// page or an origin that is not allowed ([CSRF](crate::csrf)). 403, no
    /// `WWW-Authenticate`; the session is not looked up and the cookie is kept.
    CrossSite,
}

/// Why a token was rejected. Kept coarse on purpose: the client learns that its token is no
/// good, not which check it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidReason {
    /// Not a token this layer issues or accepts (wrong shape, bad signature, wrong issuer,
    /// audience or token use).
    Malformed,
    /// No such session, or it expired or was ended.
    NotFound,
}

impl Rejection {
    /// The status this rejection is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Missing | Self::Invalid(_) => StatusCode::UNAUTHORIZED,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Forbidden | Self::CrossSite => StatusCode::FORBIDDEN,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The message of the JSON error body. "Session does not exist." is the DynamoDB Book's
    /// wording, kept so its clients see what they expect.
    pub fn message(&self) -> &'static str {
        match self {
            Self::Missing | Self::Invalid(InvalidReason::NotFound) => "Session does not exist.",
            Self::Invalid(InvalidReason::Malformed) => "Invalid session token.",
            Self::BadRequest => "More than one session token in the request.",
            Self::Unavailable => "Session service unavailable, try again shortly.",
            Self::Forbidden => "Insufficient permissions.",
            Self::CrossSite => "Cross-site request refused.",
        }
    }

    /// The gRPC status code a gRPC client is answered with (see [the module](self#grpc)):
    /// 16 `UNAUTHENTICATED`, 7 `PERMISSION_DENIED`, 14 `UNAVAILABLE` or 3
    /// `INVALID_ARGUMENT`.
    ///
    /// ```
    /// use cognito_session::rejection::Rejection;
    ///
    /// assert_eq!(Rejection::Missing.grpc_status(), 16);
    /// assert_eq!(Rejection::Unavailable.grpc_status(), 14);
    /// ```
    pub fn grpc_status(&self) -> u16 {
        match self {
            Self::Missing | Self::Invalid(_) => 16,
            Self::Forbidden | Self::CrossSite => 7,
            Self::Unavailable => 14,
            Self::BadRequest => 3,
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750, section 3), if the status calls for one.
    pub fn challenge(&self) -> Option<HeaderValue> {
        Some(HeaderValue::from_static(match self {
            Self::Missing => "Bearer",
            Self::Invalid(_) => "Bearer error=\"invalid_token\"",
            Self::BadRequest => "Bearer error=\"invalid_request\"",
            Self::Forbidden => "Bearer error=\"insufficient_scope\"",
            Self::Unavailable | Self::CrossSite => return None,
        }))
    }
}

/// Turns a [`Rejection`] into a response. The default is [`DefaultOnRejection`]; any
/// `Fn(&Rejection) -> Response<B> + Clone` works too.
///
/// Whatever it answers, the layer still appends the removal cookie for an invalid cookie
/// token.
///
/// ```
/// use cognito_session::{SessionConfig, SessionLayer, SessionManager};
/// use cognito_session::store::MemoryStore;
/// use cognito_session::rejection::Rejection;
/// use http::{Response, StatusCode};
///
/// let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
/// let layer = SessionLayer::new(manager).with_rejection(|rejection: &Rejection| {
///     let status = match rejection {
///         Rejection::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
///         _ => StatusCode::SEE_OTHER,
///     };
///     Response::builder()
///         .status(status)
///         .header("location", "/login")
///         .body(String::new())
///         .unwrap()
/// });
/// ```
pub trait OnRejection<B>: Clone {
    /// The response for `rejection`.
    fn on_rejection(&self, rejection: &Rejection) -> Response<B>;

    /// The response for `rejection` of `request`: what the layer and the
    /// [guards](crate::guard) call. Default: [`on_rejection`](Self::on_rejection).
    /// [`RedirectToLogin`] answers pages with a redirect to the log-in here, and
    /// [`DefaultOnRejection`] gRPC calls with a gRPC status.
    fn on_request_rejection<T>(&self, rejection: &Rejection, request: &Request<T>) -> Response<B> {
        let _ = request;
        self.on_rejection(rejection)
    }
}

impl<F, B> OnRejection<B> for F
where
    F: Fn(&Rejection) -> Response<B> + Clone,
{
    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        self(rejection)
    }
}

/// The default rejection: the status, `{"error":"<message>"}` as JSON, `WWW-Authenticate`
/// on 400/401 and a guard's 403, and `Retry-After` on 503; to a gRPC call, its
/// [gRPC status](self#grpc) instead. (Named like tower-http's `DefaultOnFailure`; axum
/// has a `JsonRejection` of its own.)
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultOnRejection;

/// [`DefaultOnRejection`] without a body, for services whose response body is `Default`
/// but not `From<String>`, such as tonic's: a gRPC call gets the same
/// [trailers-only answer](self#grpc), any other request the same status and headers with an
/// empty body.
///
/// ```no_run
/// use cognito_session::rejection::GrpcOnRejection;
/// use cognito_session::{SessionLayer, SessionManager};
/// use tonic_health::server::health_reporter;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let sessions = SessionManager::from_env().await?;
/// let (_, health) = health_reporter();
/// tonic::transport::Server::builder()
///     .layer(SessionLayer::new(sessions).with_rejection(GrpcOnRejection))
///     .add_service(health)
///     .serve("127.0.0.1:50051".parse()?)
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GrpcOnRejection;

/// The layer's way of answering rejections, left in a request it lets through without a
/// user, so that an extractor that needs one answers as the layer would have.
pub(crate) struct RejectWith<B>(Arc<Respond<B>>);

type Respond<B> = dyn Fn(&Rejection, Option<&Request<()>>) -> Response<B> + Send + Sync;

impl<B> RejectWith<B> {
    pub(crate) fn new<R: OnRejection<B> + Send + Sync + 'static>(rejection: R) -> Self {
        Self(Arc::new(
            move |r: &Rejection, request: Option<&Request<()>>| match request {
                Some(request) => rejection.on_request_rejection(r, request),
                None => rejection.on_rejection(r),
            },
        ))
    }

    // The axum extractors' answer, made without the request at hand.
    #[cfg(feature = "axum")]
    pub(crate) fn respond(&self, rejection: &Rejection) -> Response<B> {
        (self.0)(rejection, None)
    }

    /// The answer to `rejection` of `request` (its head only: the answer can't depend on a
    /// body it hasn't read).
    pub(crate) fn respond_to<T>(&self, rejection: &Rejection, request: &Request<T>) -> Response<B> {
        let mut head = Request::new(());
        *head.method_mut() = request.method().clone();
        *head.uri_mut() = request.uri().clone();
        *head.version_mut() = request.version();
        *head.headers_mut() = request.headers().clone();
        (self.0)(rejection, Some(&head))
    }
}

impl<B> Clone for RejectWith<B> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

/// Seconds a client should wait after a 503 before trying again.
const RETRY_AFTER_SECS: &str = "5";

impl<B: From<String>> OnRejection<B> for DefaultOnRejection {
    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        let body = serde_json::json!({ "error": rejection.message() }).to_string();
        let mut response = http_answer(rejection, B::from(body));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }

    fn on_request_rejection<T>(&self, rejection: &Rejection, request: &Request<T>) -> Response<B> {
        if is_grpc(request.headers()) {
            return grpc_answer(rejection, B::from(String::new()));
        }
        self.on_rejection(rejection)
    }
}

impl<B: Default> OnRejection<B> for GrpcOnRejection {
    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        http_answer(rejection, B::default())
    }

    fn on_request_rejection<T>(&self, rejection: &Rejection, request: &Request<T>) -> Response<B> {
        if is_grpc(request.headers()) {
            return grpc_answer(rejection, B::default());
        }
        self.on_rejection(rejection)
    }
}

/// `rejection`'s status, `WWW-Authenticate` and `Retry-After`, with `body`.
fn http_answer<B>(rejection: &Rejection, body: B) -> Response<B> {
    let mut response = Response::new(body);
    *response.status_mut() = rejection.status();
    let headers = response.headers_mut();
    if let Some(challenge) = rejection.challenge() {
        headers.insert(WWW_AUTHENTICATE, challenge);
    }
    if *rejection == Rejection::Unavailable {
        headers.insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
    }
    response
}

const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");

/// Whether `headers` name a gRPC call: `content-type` `application/grpc`, alone or with a
/// `+format` or parameters (gRPC-Web's `application/grpc-web` is not one: its clients read
/// the status differently).
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    const GRPC: &[u8] = b"application/grpc";
    headers.get(CONTENT_TYPE).is_some_and(|value| {
        let value = value.as_bytes();
        value.len() >= GRPC.len()
            && value[..GRPC.len()].eq_ignore_ascii_case(GRPC)
            && matches!(value.get(GRPC.len()), None | Some(b'+' | b';'))
    })
}

/// The trailers-only answer to a gRPC call: HTTP 200 (a gRPC client reads any other status
/// as a transport failure), the status and message in headers, and `body`, which must be
/// empty so that the headers end the stream.
fn grpc_answer<B>(rejection: &Rejection, body: B) -> Response<B> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(GRPC_STATUS, HeaderValue::from(rejection.grpc_status()));
    headers.insert(GRPC_MESSAGE, grpc_message(rejection.message()));
    response
}

/// `message` percent-encoded as `grpc-message` wants it: bytes outside printable ASCII, and
/// `%` itself, as `%XX` (UTF-8 bytes), the rest as they are.
fn grpc_message(message: &str) -> HeaderValue {
    let mut encoded = String::with_capacity(message.len());
    for byte in message.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::try_from(encoded).expect("printable ASCII is a header value")
}

/// Answers a browser asking for a page without a session with a redirect to the log-in,
/// and every other rejection as `R` does (by default the JSON 401 an API client expects).
///
/// A page is a `GET` or `HEAD` whose `Accept` names `text/html`; its missing or invalid
/// token is answered 303 to the log-in path with `next` set to the page asked for (its
/// path and query), which the ready-made `GET /login` (see `routes`) sends the browser
/// back to.
///
/// ```
/// use axum::{Router, routing::get};
/// use cognito_session::rejection::RedirectToLogin;
/// use cognito_session::{SessionConfig, SessionLayer, SessionManager, store::MemoryStore};
///
/// let sessions = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
/// let app: Router = Router::new()
///     .route("/account", get(|| async { "your account" }))
///     .layer(SessionLayer::new(sessions).with_rejection(RedirectToLogin::new("/login")));
/// ```
#[derive(Clone, Debug)]
pub struct RedirectToLogin<R = DefaultOnRejection> {
    login: Arc<str>,
    otherwise: R,
}

impl RedirectToLogin {
    /// Redirects pages to `login` (for example `/login`); answers the rest with
    /// [`DefaultOnRejection`].
    pub fn new(login: impl Into<String>) -> Self {
        Self {
            login: login.into().into(),
            otherwise: DefaultOnRejection,
        }
    }
}

impl<R> RedirectToLogin<R> {
    /// Answers what is not a page's missing session with `otherwise`. Default:
    /// [`DefaultOnRejection`].
    pub fn with_otherwise<T>(self, otherwise: T) -> RedirectToLogin<T> {
        RedirectToLogin {
            login: self.login,
            otherwise,
        }
    }

    /// Where a page that asked for `path_and_query` is sent.
    fn location(&self, path_and_query: &str) -> Option<HeaderValue> {
        let next = escape_query_value(path_and_query);
        let separator = if self.login.contains('?') { '&' } else { '?' };
        HeaderValue::try_from(format!("{}{separator}next={next}", self.login)).ok()
    }
}

/// `value` percent-encoded for a query (unreserved characters and `/` kept).
fn escape_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether `request` is a browser asking for a page.
fn wants_page<T>(request: &Request<T>) -> bool {
    (request.method() == Method::GET || request.method() == Method::HEAD)
        && request.headers().get_all(ACCEPT).iter().any(|accept| {
            accept.as_bytes().split(|&b| b == b',').any(|media| {
                let media = media.split(|&b| b == b';').next().unwrap_or_default();
                media.trim_ascii().eq_ignore_ascii_case(b"text/html")
            })
        })
}

impl<B: Default, R: OnRejection<B>> OnRejection<B> for RedirectToLogin<R> {
    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        self.otherwise.on_rejection(rejection)
    }

    fn on_request_rejection<T>(&self, rejection: &Rejection, request: &Request<T>) -> Response<B> {
        let no_session = matches!(rejection, Rejection::Missing | Rejection::Invalid(_));
        let page = request.uri().path_and_query().map_or("/", |p| p.as_str());
        match self.location(page) {
            Some(location) if no_session && wants_page(request) => {
                let mut response = Response::new(B::default());
                *response.status_mut() = StatusCode::SEE_OTHER;
                response.headers_mut().insert(LOCATION, location);
                response
            }
            _ => self.otherwise.on_request_rejection(rejection, request),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_and_headers() {
        let cases = [
            (
                Rejection::Missing,
                401,
                Some("Bearer"),
                r#"{"error":"Session does not exist."}"#,
            ),
            (
                Rejection::Invalid(InvalidReason::NotFound),
                401,
                Some(r#"Bearer error="invalid_token""#),
                r#"{"error":"Session does not exist."}"#,
            ),
            (
                Rejection::BadRequest,
                400,
                Some(r#"Bearer error="invalid_request""#),
                r#"{"error":"More than one session token in the request."}"#,
            ),
            (
                Rejection::Forbidden,
                403,
                Some(r#"Bearer error="insufficient_scope""#),
                r#"{"error":"Insufficient permissions."}"#,
            ),
            (
                Rejection::CrossSite,
                403,
                None,
                r#"{"error":"Cross-site request refused."}"#,
            ),
            (
                Rejection::Unavailable,
                503,
                None,
                r#"{"error":"Session service unavailable, try again shortly."}"#,
            ),
        ];
        for (rejection, status, challenge, body) in cases {
            let response: Response<String> = DefaultOnRejection.on_rejection(&rejection);
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
            assert_eq!(
                response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .map(|v| v.to_str().unwrap()),
                challenge
            );
            assert_eq!(response.headers().contains_key(RETRY_AFTER), status == 503);
            assert_eq!(response.body(), body);
        }
    }

    fn call(content_type: &str) -> Request<()> {
        Request::builder()
            .method(Method::POST)
            .header(CONTENT_TYPE, content_type)
            .body(())
            .unwrap()
    }

    #[test]
    fn grpc_calls_get_trailers_only_answers_with_the_mapped_status() {
        let cases = [
            (Rejection::Missing, "16"),
            (Rejection::Invalid(InvalidReason::Malformed), "16"),
            (Rejection::Invalid(InvalidReason::NotFound), "16"),
            (Rejection::Forbidden, "7"),
            (Rejection::CrossSite, "7"),
            (Rejection::Unavailable, "14"),
            (Rejection::BadRequest, "3"),
        ];
        for (rejection, code) in cases {
            let request = call("application/grpc");
            let string: Response<String> =
                DefaultOnRejection.on_request_rejection(&rejection, &request);
            let empty: Response<Vec<u8>> =
                GrpcOnRejection.on_request_rejection(&rejection, &request);
            for (status, headers, body_len) in [
                (string.status(), string.headers(), string.body().len()),
                (empty.status(), empty.headers(), empty.body().len()),
            ] {
                assert_eq!(status, StatusCode::OK, "{rejection:?}");
                assert_eq!(headers[CONTENT_TYPE], "application/grpc");
                assert_eq!(headers[GRPC_STATUS], code, "{rejection:?}");
                assert_eq!(headers[GRPC_MESSAGE], rejection.message());
                assert!(!headers.contains_key(WWW_AUTHENTICATE));
                assert_eq!(body_len, 0, "trailers-only: no body");
            }
        }
    }

    #[test]
    fn grpc_is_told_by_the_content_type_alone() {
        for grpc in [
            "application/grpc",
            "application/grpc+proto",
            "Application/GRPC+json",
            "application/grpc;charset=utf-8",
        ] {
            assert!(is_grpc(call(grpc).headers()), "{grpc}");
        }
        for other in [
            "application/json",
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/grpcx",
            "text/plain",
        ] {
            assert!(!is_grpc(call(other).headers()), "{other}");
        }
        assert!(!is_grpc(&HeaderMap::new()));
    }

    #[test]
    fn other_requests_keep_the_http_answers() {
        let request = call("application/json");
        let json: Response<String> =
            DefaultOnRejection.on_request_rejection(&Rejection::Missing, &request);
        assert_eq!(json.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(json.body(), r#"{"error":"Session does not exist."}"#);
        assert!(!json.headers().contains_key(GRPC_STATUS));
        let empty: Response<String> =
            GrpcOnRejection.on_request_rejection(&Rejection::Unavailable, &request);
        assert_eq!(empty.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(empty.headers()[RETRY_AFTER], RETRY_AFTER_SECS);
        assert_eq!(empty.body(), "");
        assert!(!empty.headers().contains_key(GRPC_STATUS));
    }

    #[test]
    fn grpc_messages_are_percent_encoded_where_the_spec_asks() {
        assert_eq!(
            grpc_message("Session does not exist."),
            "Session does not exist."
        );
        assert_eq!(grpc_message("100% sure"), "100%25 sure");
        assert_eq!(grpc_message("line\nbreak é"), "line%0Abreak %C3%A9");
    }
}
