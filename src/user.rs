//! [`CurrentUser`], what the layer hands to the application.

/// The authenticated user of a request.
///
/// [`SessionLayer`](crate::SessionLayer) inserts it into the request's extensions; with the
/// `axum` feature it is also an extractor (see [`crate::extract`]).
///
/// ```
/// # use cognito_session::CurrentUser;
/// fn greet(request: &http::Request<()>) -> String {
///     match request.extensions().get::<CurrentUser>() {
///         Some(user) => format!("hello, {}", user.username),
///         None => "hello, stranger".to_owned(),
///     }
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CurrentUser {
    /// The user's name: what the session was created for, or Cognito's `username` claim.
    pub username: String,
    /// Cognito's `sub` claim; `None` for opaque sessions.
    pub sub: Option<String>,
    /// The key of the session in the store, for
    /// [`SessionManager::delete`](crate::SessionManager::delete). Not a secret: it can't be
    /// turned back into the token.
    pub session_key: String,
}
