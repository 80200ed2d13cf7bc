//! Server-side sessions for [tower] and [axum] services, kept in DynamoDB (or memory), with
//! Cognito log-ins verified against the user pool's keys and refreshed through Cognito.
//!
//! [tower]: https://docs.rs/tower
//! [axum]: https://docs.rs/axum
//!
//! # How it fits
//!
//! ```text
//! request ─► token ─► verify ─► session store ─► (refresh) ─► CurrentUser ─► your handler ─► Set-Cookie
//!            Bearer   JWKS or   DynamoDB or      Cognito       in request                    when the
//!            or cookie  hash    memory           once per       extensions                   token changed
//!                                                session
//! ```
//!
//! [`SessionLayer`] wraps your service. For each request it finds a token, asks the
//! [`SessionManager`] whether it belongs to a live session, and then either calls your
//! service with a [`CurrentUser`] in the request extensions or answers itself: 401 with a JSON
//! error for a missing or invalid token, 503 with `Retry-After` when a backend is down (and
//! then nothing is deleted and no cookie removed). When the token changed (rotation, Cognito
//! refresh) the response gets a `Set-Cookie`, appended to any your service set. A gRPC call
//! (tonic) is refused with a gRPC status instead ([`rejection`](rejection#grpc)), and its
//! handler finds the user in `request.extensions().get::<CurrentUser>()`.
//!
//! # A whole app
//!
//! [`SessionManager::from_env`] builds the manager the environment asks for (memory or
//! DynamoDB, opaque tokens or a Cognito pool with its managed login) and checks its AWS
//! resources at start; [`routes::LoginRoutes`] are the log-in and log-out routes; the
//! layer guards the rest:
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use cognito_session::routes::LoginRoutes;
//! use cognito_session::{CurrentUser, SessionLayer, SessionManager};
//!
//! async fn me(user: CurrentUser) -> String {
//!     user.username().to_owned()
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // USER_POOL_ID, CLIENT_ID, COGNITO_DOMAIN, SESSION_TABLE, SESSION_ENCRYPTION_KEY, ...
//! let sessions = SessionManager::from_env().await?;
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .route_layer(SessionLayer::new(sessions.clone()))
//!     .merge(LoginRoutes::new(sessions));
//! # Ok(())
//! # }
//! ```
//!
//! # In code
//!
//! The same pieces, configured in code: a [store], a [`SessionConfig`], and for
//! Cognito a [`cognito::CognitoSettings`] with an AWS SDK client
//! ([`SessionManager::with_cognito`]). Opaque sessions need no AWS at all:
//!
//! ```
//! use axum::{Router, extract::State, routing::{get, post}};
//! use cognito_session::store::MemoryStore;
//! use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
//!
//! async fn login(State(sessions): State<SessionManager>) -> String {
//!     // Check the password first; then:
//!     let session = sessions.create("alice").await.unwrap();
//!     session.token.expose().to_owned()
//! }
//!
//! async fn me(user: CurrentUser) -> String {
//!     user.username().to_owned()
//! }
//!
//! let sessions = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .route_layer(SessionLayer::new(sessions.clone()))
//!     .route("/login", post(login))
//!     .with_state(sessions);
//! ```
//!
//! # Where each setting lives
//!
//! | settings | type | read from the environment by |
//! |---|---|---|
//! | the cookie, token sources, lifetime, idle timeout, rotation, CSRF, clock | [`SessionConfig`] | [`SessionConfig::from_env_with`] |
//! | the pool, app client, managed login, refresh windows, challenge key, calls to Cognito | `cognito::CognitoSettings` | `CognitoSettings::from_env_with` |
//! | the table's name, key and index; its encryption keys | `store::dynamodb::TableSettings`, `DynamoDbStore::with_encryption_keys` | `TableSettings::from_env_with`, [`SessionManager::from_env`] |
//! | the log-in routes' paths | [`routes::LoginRoutes`] | |
//!
//! # Two kinds of token, one pipeline
//!
//! - **Opaque session tokens** (the default): 256 random bits, URL-safe base64. The store
//!   keeps only their SHA-256, so a leaked table holds no usable token. Sessions live
//!   [7 days](SessionConfig::with_lifetime) at most, optionally end when
//!   [idle](SessionConfig::with_idle_timeout), and can [rotate](SessionConfig::with_rotation)
//!   their token.
//! - **Cognito access tokens** (feature `cognito`, see the [`cognito`](mod@cognito) module):
//!   the signature is checked against the pool's JWKS before any claim is trusted; the
//!   session record, keyed by a verified claim, holds the refresh token server-side, and the
//!   layer refreshes the access token when it is about to expire.
//!
//! # Groups, scopes and claims
//!
//! A session keeps its user's [`Claims`]: for a Cognito session, the `cognito:groups`,
//! `scope` and custom claims of its verified access token, renewed at every refresh (so a
//! group change in the pool takes effect within one token lifetime); for an opaque one,
//! what [`SessionManager::create_with`] was given. [`CurrentUser::groups`],
//! [`scopes`](CurrentUser::scopes) and [`claim`](CurrentUser::claim) read them, and the
//! [`guard`] layers and extractor turn users without a group or scope away with 403.
//!
//! # Cross-site requests
//!
//! A browser sends the session cookie with requests other pages make. The layer refuses
//! (403, [`Rejection::CrossSite`](rejection::Rejection::CrossSite)) a request authenticated
//! by the cookie whose method is not safe when the browser marks it
//! `Sec-Fetch-Site: cross-site`, or when its `Origin` is not
//! [allowed](SessionConfig::with_allowed_origins) (by default, the request's own origin);
//! the session isn't even looked up. Requests authenticated with `Authorization: Bearer` are
//! not checked. The log-in routes run the same test with [`csrf::check`]: a forged log-in
//! form would otherwise sign the visitor into the attacker's account, and a forged log-out
//! would end the visitor's session.
//!
//! # Pages and APIs
//!
//! An API client without a session gets 401 and a JSON error. A browser asking for a page
//! can instead be sent to the log-in with [`rejection::RedirectToLogin`], which the ready-made
//! `GET /login` sends back to the page afterwards.
//!
//! # Stores
//!
//! [`store::MemoryStore`] for one process and for tests; `store::dynamodb::DynamoDbStore`
//! (feature `dynamodb`) for many instances sharing one table. Both behave like a table with
//! conditional writes: when two instances race, the store decides who won. Implement
//! [`store::SessionStore`] for others, and hold them to the same contract with the
//! conformance suite both pass (`store::conformance`, feature `test-util`).
//!
//! [`store::CachedStore`] puts an in-process read cache in front of any store: one read of
//! the table per session per cache interval, at the price of accepting a session ended by
//! another instance for up to that interval. Requests a store can answer from memory
//! ([`store::SessionStore::load_now`]) are decided without a future.
//!
//! # Features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `axum` | yes | `CurrentUser` and `Option<CurrentUser>` extractors, `guard::Authorized`, the log-in routes (`routes`) |
//! | `dynamodb` | yes | `store::dynamodb`, and a table for `SessionManager::from_env` |
//! | `cognito` | yes | Cognito log-ins, verification and refresh (`cognito`) |
//! | `metrics` | no | counters and histograms through the [`metrics`](https://docs.rs/metrics) facade: see the `metrics` module for every name |
//! | `test-util` | no | for tests: `store::conformance`, the suite a `SessionStore` of your own can run, and `store::intercept`, hooks around a store's calls |
//!
//! # Tracing and metrics
//!
//! Each request through [`SessionLayer`] is a `tracing` span named `session` (level INFO)
//! with the fields `source` (`bearer`, `cookie`, `none`), `outcome` and `reason` (the
//! table in the `metrics` module), and `session`: the first 8 hex digits of the SHA-256 of
//! the session's key, enough to follow a session through the logs and useless for anything
//! else. The calls its check awaits are child spans with `op`, `result` and `latency_us`:
//! `store` (every call of the session store), `cognito` (every call of Cognito's API)
//! and `key_set_fetch` (the pool's JWKS). The span covers the check, not the inner service.
//! No span or event carries a token (the spans don't carry the session key either). With no
//! subscriber interested, a span costs one check of a cached flag and its fields are never
//! computed.
//!
//! With the `metrics` feature the same outcomes, refreshes, key-set fetches, store and
//! Cognito latencies, [`store::CachedStore`] hits and misses, and sessions created and
//! deleted are recorded through the `metrics` facade, for whatever recorder the application
//! installs (the example server serves them to Prometheus at `/metrics` with
//! `METRICS=true`).
//!
//! # Secrets
//!
//! Tokens, refresh tokens and client secrets are held in [`Secret`], whose `Debug` is
//! redacted; nothing in this crate logs them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod check;
mod config;
mod cookie;
mod env;
mod error;
mod from_env;
mod layer;
#[cfg(test)]
mod logs;
mod manager;
mod observe;
mod opaque;
mod secret;
mod session;
mod token;
mod user;

#[cfg(feature = "cognito")]
#[cfg_attr(docsrs, doc(cfg(feature = "cognito")))]
pub mod cognito;
pub mod csrf;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod extract;
pub mod guard;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
pub mod rejection;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod routes;
pub mod service;
pub mod store;

// Entry points for the fuzz targets in fuzz/; internal, not part of the API.
#[cfg(feature = "__fuzz")]
#[doc(hidden)]
pub mod fuzz;

// For tests/srp.rs, which checks the SRP math against another implementation; not API.
#[cfg(all(feature = "test-util", feature = "cognito"))]
#[doc(hidden)]
pub use cognito::srp::test_door as __srp;

pub use check::{Authenticated, NewToken};
pub use config::{SameSite, SessionConfig};
pub use error::{AuthError, ConfigError, SessionError};
pub use from_env::StartError;
pub use layer::SessionLayer;
pub use manager::{LoggedOut, SessionInfo, SessionManager};
pub use secret::Secret;
pub use session::Claims;
pub use token::TokenSource;
pub use user::{CurrentUser, NewSession};

// Short paths inside the crate for types whose public path is in a module.
#[allow(unused_imports)] // which ones are used depends on the features
pub(crate) use rejection::InvalidReason;
#[allow(unused_imports)]
pub(crate) use session::{CognitoTokens, PreviousToken, SessionRecord, TokenHash};
#[allow(unused_imports)]
pub(crate) use store::{MemoryStore, SessionStore, StoreError};

// The README's examples are compiled and run as doctests, so they can't drift from the API.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
