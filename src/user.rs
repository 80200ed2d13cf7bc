//! [`CurrentUser`], what the layer hands to the application.

use std::fmt;
use std::sync::Arc;

/// The authenticated user of a request.
///
/// [`SessionLayer`](crate::SessionLayer) inserts it into the request's extensions; with the
/// `axum` feature it is also an extractor (see [`crate::extract`]).
///
/// Cheap to clone (one reference count), since extractors clone it out of the request on
/// every request.
///
/// ```
/// # use cognito_session::CurrentUser;
/// fn greet(request: &http::Request<()>) -> String {
///     match request.extensions().get::<CurrentUser>() {
///         Some(user) => format!("hello, {}", user.username()),
///         None => "hello, stranger".to_owned(),
///     }
/// }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CurrentUser(Arc<User>);

#[derive(PartialEq, Eq)]
struct User {
    username: String,
    sub: Option<String>,
    session_key: String,
}

impl CurrentUser {
    pub(crate) fn new(username: String, sub: Option<String>, session_key: String) -> Self {
        Self(Arc::new(User {
            username,
            sub,
            session_key,
        }))
    }

    /// The user's name: what the session was created for, or Cognito's `username` claim.
    pub fn username(&self) -> &str {
        &self.0.username
    }

    /// Cognito's `sub` claim; `None` for opaque sessions.
    pub fn sub(&self) -> Option<&str> {
        self.0.sub.as_deref()
    }

    /// The key of the session in the store, for
    /// [`SessionManager::delete`](crate::SessionManager::delete). Not a secret: it can't be
    /// turned back into the token.
    pub fn session_key(&self) -> &str {
        &self.0.session_key
    }
}

impl fmt::Debug for CurrentUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentUser")
            .field("username", &self.0.username)
            .field("sub", &self.0.sub)
            .field("session_key", &self.0.session_key)
            .finish()
    }
}
