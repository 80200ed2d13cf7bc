//! Route guards: only users in a group, or holding a scope, get through.
//!
//! [`RequireGroup`] and [`RequireScope`] are layers that go *behind* a
//! [`SessionLayer`](crate::SessionLayer), typically as axum's `route_layer`, and check the
//! [`CurrentUser`] the session layer put in the request:
//!
//! | the request | the answer |
//! |---|---|
//! | a user with the group or scope | the inner service's response |
//! | a user without it | 403 `{"error":"Insufficient permissions."}` with `WWW-Authenticate: Bearer error="insufficient_scope"` ([`Rejection::Forbidden`]) |
//! | no user (no session layer in front, or one that [lets requests through](crate::SessionLayer::with_required)) | 401 as the session layer answers it ([`Rejection::Missing`]) |
//!
//! A gRPC call is refused with its [gRPC status](crate::rejection#grpc) instead: 7
//! `PERMISSION_DENIED` for a user without the group or scope, 16 `UNAUTHENTICATED` without
//! a user.
//!
//! ```
//! use axum::{Router, routing::get};
//! use cognito_session::guard::{RequireGroup, RequireScope};
//! use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
//! use cognito_session::store::MemoryStore;
//!
//! async fn admin(user: CurrentUser) -> String {
//!     format!("hello, admin {}", user.username())
//! }
//!
//! let sessions = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
//! let app: Router = Router::new()
//!     // One route: the guard on its method router.
//!     .route("/orders", get(|| async { "orders" }).route_layer(RequireScope::new("orders/read")))
//!     // Every route added so far: the guard as the router's route layer.
//!     .route("/admin", get(admin))
//!     .route_layer(RequireGroup::new("admins"))
//!     .route("/me", get(|user: CurrentUser| async move { user.username().to_owned() }))
//!     // Last, so it runs first: the guards see the user it found.
//!     .layer(SessionLayer::new(sessions));
//! ```
//!
//! (`/orders` above needs the scope and the group; `/me` any session.)
//!
//! Groups and scopes are the session's [`Claims`](crate::Claims): for a Cognito session,
//! those of its latest verified access token, renewed at every refresh, so taking a user
//! out of a group in the pool takes effect within one token lifetime.
//!
//! With the `axum` feature, [`Authorized`] is the same check as an extractor, for a
//! permission known at compile time.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::CurrentUser;
use crate::rejection::{DefaultOnRejection, OnRejection, RejectWith, Rejection};

/// What a guard lets through.
#[derive(Clone, PartialEq, Eq)]
enum Rule {
    /// A user in any of these groups.
    Group(Arc<[String]>),
    /// A user whose token grants any of these scopes.
    Scope(Arc<[String]>),
}

impl Rule {
    fn allows(&self, user: &CurrentUser) -> bool {
        match self {
            Self::Group(groups) => groups.iter().any(|g| user.in_group(g)),
            Self::Scope(scopes) => scopes.iter().any(|s| user.has_scope(s)),
        }
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Group(groups) => f.debug_tuple("AnyGroup").field(groups).finish(),
            Self::Scope(scopes) => f.debug_tuple("AnyScope").field(scopes).finish(),
        }
    }
}

fn names<I>(names: I) -> Arc<[String]>
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    names.into_iter().map(Into::into).collect()
}

/// Lets through users in a group; see [the module](self).
///
/// ```
/// use cognito_session::guard::RequireGroup;
///
/// let admins = RequireGroup::new("admins");
/// let staff = RequireGroup::any_of(["admins", "support"]);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireGroup<R = DefaultOnRejection> {
    rule: Rule,
    rejection: R,
}

impl RequireGroup {
    /// Requires the group `group` (names compare exactly, as Cognito's do).
    pub fn new(group: impl Into<String>) -> Self {
        Self::any_of([group.into()])
    }

    /// Requires any one of `groups`. With none, nobody gets through.
    pub fn any_of<I>(groups: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self {
            rule: Rule::Group(names(groups)),
            rejection: DefaultOnRejection,
        }
    }
}

/// Lets through users whose token grants a scope; see [the module](self).
///
/// ```
/// use cognito_session::guard::RequireScope;
///
/// let readers = RequireScope::new("orders/read");
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireScope<R = DefaultOnRejection> {
    rule: Rule,
    rejection: R,
}

impl RequireScope {
    /// Requires the scope `scope`.
    pub fn new(scope: impl Into<String>) -> Self {
        Self::any_of([scope.into()])
    }

    /// Requires any one of `scopes`. With none, nobody gets through.
    pub fn any_of<I>(scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self {
            rule: Rule::Scope(names(scopes)),
            rejection: DefaultOnRejection,
        }
    }
}

macro_rules! guard_layer {
    ($layer:ident) => {
        impl<R> $layer<R> {
            /// How refusals are answered. Default [`DefaultOnRejection`]: 403 with
            /// `WWW-Authenticate: Bearer error="insufficient_scope"` and
            /// `{"error":"Insufficient permissions."}` (to a gRPC call, `grpc-status` 7); in
            /// front of a service whose body is not `From<String>` (tonic's),
            /// [`GrpcOnRejection`](crate::rejection::GrpcOnRejection). It is called with
            /// [`Rejection::Forbidden`], and with [`Rejection::Missing`] for a request
            /// without a user when no session layer left its own way of answering.
            ///
            /// ```
            #[doc = concat!("use cognito_session::guard::", stringify!($layer), ";")]
            /// use cognito_session::rejection::Rejection;
            /// use http::{Response, StatusCode};
            ///
            #[doc = concat!("let guard = ", stringify!($layer), "::new(\"admins\").with_rejection(|r: &Rejection| {")]
            ///     Response::builder()
            ///         .status(r.status())
            ///         .body(format!("<h1>{}</h1>", r.message()))
            ///         .unwrap()
            /// });
            /// ```
            pub fn with_rejection<T>(self, rejection: T) -> $layer<T> {
                $layer {
                    rule: self.rule,
                    rejection,
                }
            }
        }

        impl<S, R: Clone> Layer<S> for $layer<R> {
            type Service = Guard<S, R>;

            fn layer(&self, inner: S) -> Self::Service {
                Guard {
                    inner,
                    rule: self.rule.clone(),
                    rejection: self.rejection.clone(),
                }
            }
        }
    };
}

guard_layer!(RequireGroup);
guard_layer!(RequireScope);

/// The service of [`RequireGroup`] and [`RequireScope`]: calls the inner service for
/// requests whose user passes, answers the others itself.
#[derive(Clone, Debug)]
pub struct Guard<S, R = DefaultOnRejection> {
    inner: S,
    rule: Rule,
    rejection: R,
}

impl<S, R> Guard<S, R> {
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

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for Guard<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: OnRejection<ResBody>,
    ResBody: 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let extensions = request.extensions();
        let refusal = match extensions.get::<CurrentUser>() {
            Some(user) if self.rule.allows(user) => {
                return ResponseFuture {
                    state: State::Inner {
                        future: self.inner.call(request),
                    },
                };
            }
            Some(user) => {
                tracing::debug!(user = %user.username(), rule = ?self.rule, "refused by a guard");
                self.rejection
                    .on_request_rejection(&Rejection::Forbidden, &request)
            }
            // The session layer in front let the request through without a user: answer as
            // it would have.
            None => match extensions.get::<RejectWith<ResBody>>() {
                Some(layer) => layer.respond_to(&Rejection::Missing, &request),
                None => self
                    .rejection
                    .on_request_rejection(&Rejection::Missing, &request),
            },
        };
        ResponseFuture {
            state: State::Refused {
                response: Some(refusal),
            },
        }
    }
}

pin_project! {
    /// The response future of [`Guard`].
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Inner {
            #[pin]
            future: F,
        },
        Refused {
            response: Option<Response<B>>,
        },
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => Poll::Ready(ready!(future.poll(cx))),
            StateProj::Refused { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
        }
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

#[cfg(feature = "axum")]
pub use self::extract::{Authorized, AuthorizedRejection, Permission};

#[cfg(feature = "axum")]
mod extract {
    use std::fmt;
    use std::marker::PhantomData;
    use std::ops::Deref;

    use axum_core::extract::FromRequestParts;
    use axum_core::response::{IntoResponse, Response};
    use http::request::Parts;

    use crate::CurrentUser;
    use crate::extract::MissingUser;
    use crate::rejection::{DefaultOnRejection, OnRejection, Rejection};

    /// A permission checked by the [`Authorized`] extractor.
    ///
    /// ```
    /// use cognito_session::CurrentUser;
    /// use cognito_session::guard::{Authorized, Permission};
    ///
    /// /// Members of the `admins` group.
    /// struct Admins;
    ///
    /// impl Permission for Admins {
    ///     fn is_granted(user: &CurrentUser) -> bool {
    ///         user.in_group("admins")
    ///     }
    /// }
    ///
    /// async fn admin(user: Authorized<Admins>) -> String {
    ///     format!("hello, admin {}", user.username())
    /// }
    /// # let _: axum::Router = axum::Router::new().route("/admin", axum::routing::get(admin));
    /// ```
    pub trait Permission: 'static {
        /// Whether `user` has this permission.
        fn is_granted(user: &CurrentUser) -> bool;
    }

    /// The request's [`CurrentUser`], who has the permission `P`; an axum extractor.
    ///
    /// It rejects like [`RequireGroup`](super::RequireGroup): a user without the permission
    /// with 403 `{"error":"Insufficient permissions."}` and
    /// `WWW-Authenticate: Bearer error="insufficient_scope"`, a request without a user as
    /// the `CurrentUser` extractor does ([`MissingUser`]). It dereferences to the user.
    pub struct Authorized<P> {
        user: CurrentUser,
        permission: PhantomData<fn() -> P>,
    }

    impl<P> Authorized<P> {
        /// The user.
        pub fn into_user(self) -> CurrentUser {
            self.user
        }
    }

    impl<P> Deref for Authorized<P> {
        type Target = CurrentUser;

        fn deref(&self) -> &CurrentUser {
            &self.user
        }
    }

    impl<P> Clone for Authorized<P> {
        fn clone(&self) -> Self {
            Self {
                user: self.user.clone(),
                permission: PhantomData,
            }
        }
    }

    impl<P> fmt::Debug for Authorized<P> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_tuple("Authorized")
                .field(&std::any::type_name::<P>())
                .field(&self.user)
                .finish()
        }
    }

    /// The rejection of [`Authorized`].
    #[derive(Debug)]
    #[non_exhaustive]
    pub enum AuthorizedRejection {
        /// No user in the request: answered as [`MissingUser`] is.
        Missing(MissingUser),
        /// A user without the permission: [`Rejection::Forbidden`] as
        /// [`DefaultOnRejection`] answers it.
        Forbidden,
    }

    impl IntoResponse for AuthorizedRejection {
        fn into_response(self) -> Response {
            match self {
                Self::Missing(missing) => missing.into_response(),
                Self::Forbidden => DefaultOnRejection.on_rejection(&Rejection::Forbidden),
            }
        }
    }

    impl<S: Send + Sync, P: Permission> FromRequestParts<S> for Authorized<P> {
        type Rejection = AuthorizedRejection;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
            let user = CurrentUser::from_request_parts(parts, state)
                .await
                .map_err(AuthorizedRejection::Missing)?;
            if !P::is_granted(&user) {
                return Err(AuthorizedRejection::Forbidden);
            }
            Ok(Self {
                user,
                permission: PhantomData,
            })
        }
    }
}

#[cfg(all(test, feature = "axum"))]
mod tests;
