//! [`SessionLayer`], the middleware.

use tower_layer::Layer;

use crate::SessionManager;
use crate::rejection::DefaultOnRejection;
use crate::service::SessionService;

/// Authenticates every request of the service it wraps.
///
/// For each request it finds the token (`Authorization: Bearer`, then the session cookie,
/// as configured), checks it with the [`SessionManager`], and then either calls the inner
/// service with a [`CurrentUser`](crate::CurrentUser) in the request's extensions, or answers
/// itself:
///
/// | the request | the answer |
/// |---|---|
/// | valid token | the inner service's response, plus `Set-Cookie` if the token changed |
/// | no token | 401 `{"error":"Session does not exist."}` (or let through, see [`with_required`](Self::with_required)) |
/// | invalid token | 401 with `WWW-Authenticate: Bearer error="invalid_token"`, and a removal cookie if it came from the cookie |
/// | store, Cognito or keys unreachable | 503 with `Retry-After`; nothing deleted, no cookie removed |
///
/// ```
/// use axum::{Router, routing::get};
/// use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
/// use cognito_session::store::MemoryStore;
///
/// async fn me(user: CurrentUser) -> String {
///     user.username().to_owned()
/// }
///
/// let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     .layer(SessionLayer::new(manager));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct SessionLayer<R = DefaultOnRejection> {
    manager: SessionManager,
    required: bool,
    rejection: R,
}

impl SessionLayer {
    /// A layer that checks tokens with `manager`.
    pub fn new(manager: SessionManager) -> Self {
        Self {
            manager,
            required: true,
            rejection: DefaultOnRejection,
        }
    }
}

impl<R> SessionLayer<R> {
    /// Whether a request needs a valid session. Default `true`. With `false`, requests
    /// without a token, or with one that is no longer valid, reach the inner service without
    /// a `CurrentUser` (an invalid cookie is still removed), for pages that work both logged
    /// in and out; an outage still answers 503.
    pub fn with_required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// How rejections are answered. Default [`DefaultOnRejection`]. See
    /// [`OnRejection`](crate::rejection::OnRejection).
    pub fn with_rejection<T>(self, rejection: T) -> SessionLayer<T> {
        SessionLayer {
            manager: self.manager,
            required: self.required,
            rejection,
        }
    }
}

impl<S, R: Clone> Layer<S> for SessionLayer<R> {
    type Service = SessionService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            manager: self.manager.clone(),
            required: self.required,
            rejection: self.rejection.clone(),
        }
    }
}
