//! axum extractors for [`CurrentUser`], and for the session's Cognito [`AccessToken`].
//!
//! `CurrentUser` rejects with [`MissingUser`] when no user is in the request, which
//! happens behind a layer built with [`with_required(false)`](crate::SessionLayer::with_required)
//! (it then answers as that layer's rejection would) or on a route the layer doesn't cover
//! (401 `{"error":"Session does not exist."}`). `Option<CurrentUser>` never rejects.
//!
//! ```
//! use cognito_session::CurrentUser;
//!
//! async fn home(user: Option<CurrentUser>) -> String {
//!     match user {
//!         Some(user) => format!("welcome back, {}", user.username()),
//!         None => "welcome".to_owned(),
//!     }
//! }
//! # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(home));
//! ```

use std::convert::Infallible;
use std::fmt;

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::rejection::{DefaultOnRejection, OnRejection, RejectWith, Rejection};
use crate::user::CognitoSession;
use crate::{CurrentUser, Secret};

/// The rejection of the `CurrentUser` extractor, [`Rejection::Missing`] answered the way
/// the [`SessionLayer`](crate::SessionLayer) in front of the route answers rejections
/// ([`DefaultOnRejection`] where there is none: 401 `{"error":"Session does not exist."}`).
#[derive(Clone, Default)]
pub struct MissingUser {
    layer: Option<RejectWith<Body>>,
}

impl MissingUser {
    /// The status of the response.
    pub fn status(&self) -> StatusCode {
        match &self.layer {
            Some(layer) => layer.respond(&Rejection::Missing).status(),
            None => Rejection::Missing.status(),
        }
    }

    /// What went wrong, as a client may read it: "Session does not exist.".
    pub fn body_text(&self) -> String {
        Rejection::Missing.message().to_owned()
    }
}

impl fmt::Debug for MissingUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MissingUser")
            .field("layer_rejection", &self.layer.is_some())
            .finish()
    }
}

impl IntoResponse for MissingUser {
    fn into_response(self) -> Response {
        match self.layer {
            Some(layer) => layer.respond(&Rejection::Missing),
            None => DefaultOnRejection.on_rejection(&Rejection::Missing),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = MissingUser;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| MissingUser {
                layer: parts.extensions.get::<RejectWith<Body>>().cloned(),
            })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<CurrentUser>().cloned())
    }
}

/// The Cognito access token of the request's session, as it stands after any refresh this
/// request made: what a handler sends to API Gateway, AppSync or another service that
/// accepts the pool's tokens, to call it on the user's behalf.
///
/// Only behind a [`SessionLayer`](crate::SessionLayer), for a Cognito session; for an
/// opaque one, or no session, it rejects as [`CurrentUser`] does (`Option<AccessToken>`
/// doesn't). Its `Debug` shows no token, and nothing logs it or records it in a span.
///
/// ```
/// use cognito_session::extract::AccessToken;
///
/// async fn orders(token: AccessToken) -> String {
///     // e.g. `reqwest::Client::new().get(url).bearer_auth(token.secret().expose())`
///     format!("{} characters", token.secret().expose().len())
/// }
/// # let _: axum::Router = axum::Router::new().route("/orders", axum::routing::get(orders));
/// ```
#[derive(Clone, Debug)]
pub struct AccessToken(Secret);

impl AccessToken {
    /// The token.
    pub fn secret(&self) -> &Secret {
        &self.0
    }

    /// The token, owned.
    pub fn into_secret(self) -> Secret {
        self.0
    }

    fn of(parts: &Parts) -> Option<Self> {
        let CognitoSession(record) = parts.extensions.get::<CognitoSession>()?;
        let tokens = record.cognito.as_ref()?;
        Some(Self(tokens.access_token.clone()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AccessToken {
    type Rejection = MissingUser;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Self::of(parts).ok_or_else(|| MissingUser {
            layer: parts.extensions.get::<RejectWith<Body>>().cloned(),
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AccessToken {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;
    use http::{Request, Response, StatusCode};
    use tower::ServiceExt as _;

    use super::*;
    use crate::{MemoryStore, SessionConfig, SessionLayer, SessionManager};

    async fn me(user: CurrentUser) -> String {
        user.username().to_owned()
    }

    async fn status_of(app: Router, path: &str) -> (StatusCode, Option<String>) {
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let location = response.headers().get("location");
        let location = location.map(|l| l.to_str().unwrap().to_owned());
        (response.status(), location)
    }

    #[tokio::test]
    async fn a_missing_user_is_answered_the_way_the_layer_answers_rejections() {
        let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
        let to_login = |_: &Rejection| {
            Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header("location", "/login")
                .body(Body::empty())
                .unwrap()
        };
        let app = Router::new()
            .route("/me", get(me))
            .layer(
                SessionLayer::new(manager)
                    .with_required(false)
                    .with_rejection(to_login),
            )
            .route("/uncovered", get(me));
        assert_eq!(
            status_of(app.clone(), "/me").await,
            (StatusCode::SEE_OTHER, Some("/login".into()))
        );
        // No layer in front: the default rejection.
        assert_eq!(
            status_of(app, "/uncovered").await,
            (StatusCode::UNAUTHORIZED, None)
        );
    }

    #[tokio::test]
    async fn an_opaque_session_has_no_access_token() {
        async fn required(_: AccessToken) -> &'static str {
            "token"
        }
        async fn optional(token: Option<AccessToken>) -> &'static str {
            if token.is_some() { "token" } else { "none" }
        }
        let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
        let session = manager.create("alice").await.unwrap();
        let app = Router::new()
            .route("/required", get(required))
            .route("/optional", get(optional))
            .layer(SessionLayer::new(manager));
        for (path, status) in [
            ("/required", StatusCode::UNAUTHORIZED),
            ("/optional", StatusCode::OK),
        ] {
            let request = Request::builder()
                .uri(path)
                .header(
                    "authorization",
                    format!("Bearer {}", session.token.expose()),
                )
                .body(Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), status, "{path}");
        }
    }

    #[test]
    fn status_and_body_text_say_what_the_response_will() {
        let default = MissingUser::default();
        assert_eq!(default.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(default.body_text(), "Session does not exist.");
        let teapot = MissingUser {
            layer: Some(RejectWith::new(|_: &Rejection| {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = StatusCode::IM_A_TEAPOT;
                response
            })),
        };
        assert_eq!(teapot.status(), StatusCode::IM_A_TEAPOT);
        assert_eq!(teapot.into_response().status(), StatusCode::IM_A_TEAPOT);
    }
}
