//! [`CurrentUser`], what the layer hands to the application.

use std::fmt;
use std::sync::Arc;

use crate::SessionRecord;

/// The authenticated user of a request.
///
/// [`SessionLayer`](crate::SessionLayer) inserts it into the request's extensions; with the
/// `axum` feature it is also an extractor (see [`crate::extract`]).
///
/// Cheap to clone: it shares the session record the store read (one reference count, no
/// copy), since extractors clone it out of the request on every request. It shows only the
/// user's name, `sub` and session key, in `Debug` too.
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
#[derive(Clone)]
pub struct CurrentUser {
    session: Arc<SessionRecord>,
    /// The request came with a token replaced moments ago by rotation: its session is the
    /// one that replaced it.
    successor: bool,
}

impl CurrentUser {
    /// The user of `session`.
    pub(crate) fn of(session: Arc<SessionRecord>) -> Self {
        Self {
            session,
            successor: false,
        }
    }

    /// The user of the session that replaced `session`.
    pub(crate) fn of_successor(session: Arc<SessionRecord>) -> Self {
        Self {
            successor: session.successor.is_some(),
            session,
        }
    }

    /// The user's name: what the session was created for, or Cognito's `username` claim.
    pub fn username(&self) -> &str {
        &self.session.username
    }

    /// Cognito's `sub` claim; `None` for opaque sessions.
    pub fn sub(&self) -> Option<&str> {
        self.session.sub.as_deref()
    }

    /// The key of the session in the store, for
    /// [`SessionManager::delete`](crate::SessionManager::delete). Not a secret: it can't be
    /// turned back into the token.
    pub fn session_key(&self) -> &str {
        match &self.session.successor {
            Some(successor) if self.successor => successor,
            _ => &self.session.key,
        }
    }
}

impl PartialEq for CurrentUser {
    fn eq(&self, other: &Self) -> bool {
        (self.username(), self.sub(), self.session_key())
            == (other.username(), other.sub(), other.session_key())
    }
}

impl Eq for CurrentUser {}

impl fmt::Debug for CurrentUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentUser")
            .field("username", &self.username())
            .field("sub", &self.sub())
            .field("session_key", &self.session_key())
            .finish()
    }
}
