//! axum extractors for [`CurrentUser`].
//!
//! `CurrentUser` rejects with [`MissingUser`] (401) when no user is in the request, which
//! happens behind a layer built with [`with_required(false)`](crate::SessionLayer::with_required)
//! or on a route the layer doesn't cover. `Option<CurrentUser>` never rejects.
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

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::CurrentUser;
use crate::rejection::{JsonRejection, OnRejection, Rejection};

/// The rejection of the `CurrentUser` extractor: 401 `{"error":"Session does not exist."}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MissingUser;

impl IntoResponse for MissingUser {
    fn into_response(self) -> Response {
        JsonRejection.on_rejection(&Rejection::Missing)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = MissingUser;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(MissingUser)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<CurrentUser>().cloned())
    }
}
