//! [`SessionService`] and its [`ResponseFuture`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::header::SET_COOKIE;
use http::{HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;
use tracing::{Instrument as _, Span};

use crate::csrf;
use crate::observe::{self, Outcome};
use crate::rejection::{DefaultOnRejection, OnRejection, RejectWith, Rejection};
use crate::token::{self, Found, TokenSource};
use crate::{AuthError, Authenticated, CurrentUser, NewToken, SessionConfig, SessionManager};

/// Authenticates each request before the inner service sees it. Made by
/// [`SessionLayer`](crate::SessionLayer), or by [`new`](Self::new); see there.
#[derive(Clone, Debug)]
pub struct SessionService<S, R = DefaultOnRejection> {
    pub(crate) inner: S,
    pub(crate) manager: SessionManager,
    pub(crate) required: bool,
    pub(crate) rejection: R,
}

impl<S> SessionService<S> {
    /// Wraps `inner`, with the defaults of [`SessionLayer::new`](crate::SessionLayer::new):
    /// a session is required, rejections are [`DefaultOnRejection`].
    ///
    /// ```
    /// use cognito_session::{SessionConfig, SessionManager};
    /// use cognito_session::store::MemoryStore;
    /// use cognito_session::service::SessionService;
    /// use http::{Request, Response};
    ///
    /// let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
    /// let handler = tower::service_fn(|_: Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
    /// });
    /// let service = SessionService::new(handler, manager);
    /// ```
    pub fn new(inner: S, manager: SessionManager) -> Self {
        Self {
            inner,
            manager,
            required: true,
            rejection: DefaultOnRejection,
        }
    }
}

impl<S, R> SessionService<S, R> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// The awaited check of a token, in the request's span (entered while it runs, so that the
/// store, Cognito and key-set calls it awaits are its children), which it hands back.
type CheckFuture =
    Pin<Box<dyn Future<Output = (Result<Authenticated, AuthError>, Option<Span>)> + Send>>;

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    R: OnRejection<ResBody> + Send + Sync + 'static,
    ResBody: 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = self.manager.config();
        let found = token::find(request.headers(), &config.sources, &config.cookie.name);
        // Where the request is followed: one span, its fields filled in by the decision.
        let span = observe::request_span(match found {
            Found::Token(_, source) => Some(source),
            _ => None,
        });
        // A cookie rides along on other sites' requests: one that would change state is
        // refused before the store is read. A safe method costs one comparison here.
        let refused = match found {
            Found::Token(_, TokenSource::Cookie)
                if !csrf::is_safe(request.method()) && config.csrf_protection =>
            {
                cross_site(&request, config)
            }
            _ => None,
        };
        if let Some(refused) = refused {
            observe::in_span(
                span.as_ref(),
                || tracing::debug!(%refused, method = %request.method(), "cross-site request refused"),
            );
            observe::finish(span.as_ref(), Outcome::CrossSite, None);
            let response = Some(
                self.rejection
                    .on_request_rejection(&Rejection::CrossSite, &request),
            );
            return ResponseFuture {
                state: State::Rejected { response },
            };
        }
        let state = match found {
            // Most requests are decided here, from memory, with no future to allocate.
            Found::Token(token, source) => match self.manager.authenticate_now(token, source) {
                Some(outcome) => decide(
                    outcome,
                    source,
                    request,
                    &mut self.inner,
                    &self.manager,
                    self.required,
                    &self.rejection,
                    span.as_ref(),
                ),
                None => {
                    // The inner service is called once the check is done, from the future:
                    // the one that was polled ready goes into it, a clone stays behind.
                    let clone = self.inner.clone();
                    let inner = std::mem::replace(&mut self.inner, clone);
                    let token = token.to_owned();
                    let manager = self.manager.clone();
                    State::Checking {
                        check: Box::pin(async move {
                            let check = manager.authenticate_from(&token, source);
                            match span {
                                Some(span) => (check.instrument(span.clone()).await, Some(span)),
                                None => (check.await, None),
                            }
                        }),
                        source,
                        request: Some(request),
                        inner: Some(inner),
                        manager: self.manager.clone(),
                        required: self.required,
                        rejection: self.rejection.clone(),
                    }
                }
            },
            Found::Nothing if !self.required => {
                observe::finish(span.as_ref(), Outcome::Anonymous, None);
                without_user(&mut request, &self.rejection);
                State::Inner {
                    future: self.inner.call(request),
                    renewed: None,
                }
            }
            Found::Nothing => {
                observe::finish(span.as_ref(), Outcome::Missing, None);
                State::Rejected {
                    response: Some(
                        self.rejection
                            .on_request_rejection(&Rejection::Missing, &request),
                    ),
                }
            }
            Found::Ambiguous => {
                observe::finish(span.as_ref(), Outcome::Ambiguous, None);
                State::Rejected {
                    response: Some(
                        self.rejection
                            .on_request_rejection(&Rejection::BadRequest, &request),
                    ),
                }
            }
        };
        ResponseFuture { state }
    }
}

/// Why the [CSRF check](csrf::check) refuses `request`, if it does.
fn cross_site<B>(request: &Request<B>, config: &SessionConfig) -> Option<csrf::Refused> {
    csrf::check(request.headers(), request.uri(), &config.allowed_origins).err()
}

/// Readies a request to go on without a user: none that a client or an outer layer put in,
/// and the layer's rejection for extractors that need one.
fn without_user<B, ResBody, R>(request: &mut Request<B>, rejection: &R)
where
    R: OnRejection<ResBody> + Send + Sync + 'static,
    ResBody: 'static,
{
    let extensions = request.extensions_mut();
    extensions.remove::<CurrentUser>();
    extensions.insert(RejectWith::new(rejection.clone()));
}

/// Where a request goes once its token was checked: on to the inner service, with the user
/// (or without one, where that is allowed), or back with the rejection. Recorded in `span`.
#[inline]
#[allow(clippy::too_many_arguments)]
fn decide<S, ReqBody, ResBody, R>(
    outcome: Result<Authenticated, AuthError>,
    source: TokenSource,
    mut request: Request<ReqBody>,
    inner: &mut S,
    manager: &SessionManager,
    required: bool,
    rejection: &R,
    span: Option<&Span>,
) -> State<S, ReqBody, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: OnRejection<ResBody> + Send + Sync + 'static,
    ResBody: 'static,
{
    // A cookie that no longer names a session is removed, so the browser stops sending it;
    // a 503 keeps it, the session may well be fine.
    let removal = || (source == TokenSource::Cookie).then(|| manager.removal_cookie());
    match outcome {
        Ok(auth) => {
            let outcome = match auth.new_token {
                Some(_) => Outcome::Renewed,
                None => Outcome::Ok,
            };
            observe::finish(span, outcome, Some(auth.user.session_key()));
            let extensions = request.extensions_mut();
            extensions.insert(auth.user);
            if let Some(record) = auth.cognito {
                extensions.insert(crate::user::CognitoSession(record));
            }
            State::Inner {
                future: inner.call(request),
                renewed: auth
                    .new_token
                    .map(|new| Box::new(Renewed::new(new, source, manager.config()))),
            }
        }
        Err(AuthError::Invalid(reason)) if !required => {
            observe::finish(span, Outcome::invalid(reason, false), None);
            observe::in_span(span, || {
                tracing::debug!(?reason, "invalid session token, going on without a user")
            });
            without_user(&mut request, rejection);
            State::Inner {
                future: inner.call(request),
                renewed: removal().map(|cookie| {
                    Box::new(Renewed {
                        set_cookie: Some(cookie),
                        header: None,
                    })
                }),
            }
        }
        Err(AuthError::Invalid(reason)) => {
            observe::finish(span, Outcome::invalid(reason, true), None);
            observe::in_span(span, || tracing::debug!(?reason, "invalid session token"));
            let mut response =
                rejection.on_request_rejection(&Rejection::Invalid(reason), &request);
            if let Some(removal) = removal() {
                response.headers_mut().append(SET_COOKIE, removal);
            }
            State::Rejected {
                response: Some(response),
            }
        }
        Err(AuthError::Unavailable(error)) => {
            observe::finish(span, Outcome::unavailable(&*error), None);
            observe::in_span(
                span,
                || tracing::warn!(%error, "session backend unavailable"),
            );
            State::Rejected {
                response: Some(rejection.on_request_rejection(&Rejection::Unavailable, &request)),
            }
        }
    }
}

pin_project! {
    /// The response future of [`SessionService`].
    pub struct ResponseFuture<S, ReqBody, R>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, R>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody, R>
    where
        S: Service<Request<ReqBody>>,
    {
        Checking {
            check: CheckFuture,
            source: TokenSource,
            request: Option<Request<ReqBody>>,
            inner: Option<S>,
            manager: SessionManager,
            required: bool,
            rejection: R,
        },
        Inner {
            #[pin]
            future: S::Future,
            // Boxed: few responses carry one, and every future would carry its size,
            // moved with it from layer to layer.
            renewed: Option<Box<Renewed>>,
        },
        Rejected {
            response: Option<S::Response>,
        },
    }
}

impl<S, ReqBody, ResBody, R> Future for ResponseFuture<S, ReqBody, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: OnRejection<ResBody> + Send + Sync + 'static,
    ResBody: 'static,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Checking {
                    check,
                    source,
                    request,
                    inner,
                    manager,
                    required,
                    rejection,
                } => {
                    let (outcome, span) = ready!(check.as_mut().poll(cx));
                    let (request, mut inner) = match (request.take(), inner.take()) {
                        (Some(request), Some(inner)) => (request, inner),
                        _ => unreachable!("the check completes once"),
                    };
                    let next = decide(
                        outcome,
                        *source,
                        request,
                        &mut inner,
                        manager,
                        *required,
                        rejection,
                        span.as_ref(),
                    );
                    state.set(next);
                }
                StateProj::Inner { future, renewed } => {
                    let mut response = ready!(future.poll(cx))?;
                    let Some(renewed) = renewed.take() else {
                        return Poll::Ready(Ok(response));
                    };
                    if let Some(cookie) = renewed.set_cookie
                        && !sets_cookie(&response, &cookie)
                    {
                        response.headers_mut().append(SET_COOKIE, cookie);
                    }
                    if let Some((name, token)) = renewed.header {
                        response.headers_mut().insert(name, token);
                    }
                    return Poll::Ready(Ok(response));
                }
                StateProj::Rejected { response } => {
                    return Poll::Ready(Ok(response
                        .take()
                        .expect("ResponseFuture polled after completion")));
                }
            }
        }
    }
}

/// What a response tells the client about its token, besides the application's answer.
#[derive(Debug)]
struct Renewed {
    /// A `Set-Cookie` with the new token, or removing the cookie.
    set_cookie: Option<HeaderValue>,
    /// The [token header](crate::SessionConfig::with_token_header) with the new token.
    header: Option<(HeaderName, HeaderValue)>,
}

impl Renewed {
    /// A new token, handed over the way the client sent the old one.
    fn new(new: NewToken, source: TokenSource, config: &SessionConfig) -> Self {
        let bearer = source == TokenSource::Bearer;
        let header = config
            .token_header
            .as_ref()
            .filter(|_| bearer)
            .and_then(|name| {
                let mut value = HeaderValue::from_str(new.token.expose()).ok()?;
                value.set_sensitive(true);
                Some((name.clone(), value))
            });
        Self {
            set_cookie: (!bearer || config.bearer_cookie).then_some(new.set_cookie),
            header,
        }
    }
}

/// Whether the application's response sets the cookie `ours` is about (a log-in or log-out
/// handler did): then its word is final, since a browser keeps the last `Set-Cookie` of a
/// name and ours would undo it.
fn sets_cookie<B>(response: &Response<B>, ours: &HeaderValue) -> bool {
    let bytes = ours.as_bytes();
    let name = &bytes[..bytes.iter().position(|&b| b == b'=').unwrap_or(bytes.len()) + 1];
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|value| value.as_bytes().trim_ascii_start().starts_with(name))
}

#[cfg(test)]
mod tests {
    use std::task::Poll;
    use std::time::Duration;

    use http::{Request, Response};
    use tower_test::mock;

    use crate::{CurrentUser, MemoryStore, SessionConfig, SessionLayer, SessionManager};

    /// The inner service is a mock that panics when called without a successful
    /// `poll_ready` of that very clone: readiness is passed through, and the service called is
    /// the one that was polled ready, whether the check is decided at once (steady state) or
    /// awaited (here, a touch due on every request).
    #[tokio::test]
    async fn the_inner_service_called_is_the_one_polled_ready_on_both_paths() {
        let store = std::sync::Arc::new(MemoryStore::new());
        let at_once = SessionManager::new(store.clone(), SessionConfig::default()).unwrap();
        let touching = SessionConfig::default()
            .with_idle_timeout(Some(Duration::from_secs(600)))
            .with_touch_interval(Duration::ZERO);
        let awaited = SessionManager::new(store, touching).unwrap();
        let session = at_once.create("alice").await.unwrap();

        for manager in [at_once, awaited] {
            let layer = SessionLayer::new(manager);
            let (mut service, mut handle) =
                mock::spawn_layer::<Request<()>, Response<String>, _>(layer);
            handle.allow(0);
            assert!(
                service.poll_ready().is_pending(),
                "not ready while inner isn't"
            );
            for _ in 0..3 {
                handle.allow(1);
                assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
                let request = Request::builder()
                    .header(
                        "authorization",
                        format!("Bearer {}", session.token.expose()),
                    )
                    .body(())
                    .unwrap();
                let mut response = tokio::spawn(service.call(request));
                // A call of a service that wasn't polled ready panics in the mock, ending the
                // call's task before any request arrives.
                let (request, reply) = tokio::select! {
                    next = handle.next_request() => next.expect("the inner call"),
                    ended = &mut response => panic!("the call ended first: {ended:?}"),
                };
                let user = request.extensions().get::<CurrentUser>().cloned();
                assert_eq!(user.as_ref(), Some(&session.user));
                reply.send_response(Response::new("ok".to_owned()));
                let response = response.await.unwrap().unwrap();
                assert_eq!(response.into_body(), "ok");
            }
        }
    }

    #[tokio::test]
    async fn new_wraps_like_the_layer_and_hands_the_inner_service_back() {
        use tower::ServiceExt as _;

        let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
        let session = manager.create("alice").await.unwrap();
        let mut service = super::SessionService::new(tower::service_fn(echo_user), manager);
        let request = |token: &str| {
            Request::builder()
                .header("authorization", format!("Bearer {token}"))
                .body(())
                .unwrap()
        };
        let ok = service
            .clone()
            .oneshot(request(session.token.expose()))
            .await;
        assert_eq!(ok.unwrap().into_body(), "alice");
        let refused = service.clone().oneshot(request("nope")).await.unwrap();
        assert_eq!(refused.status(), http::StatusCode::UNAUTHORIZED);

        let _: &mut _ = service.get_mut();
        let inner = *service.get_ref();
        let bare = inner.oneshot(request("nope")).await.unwrap();
        assert_eq!(
            bare.status(),
            http::StatusCode::OK,
            "the inner service unwrapped"
        );
        let _ = service.into_inner();
    }

    async fn echo_user(request: Request<()>) -> Result<Response<String>, std::convert::Infallible> {
        let user = request.extensions().get::<CurrentUser>();
        Ok(Response::new(
            user.map(|u| u.username().to_owned()).unwrap_or_default(),
        ))
    }
}
