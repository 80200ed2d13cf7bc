//! What can go wrong: [`AuthError`] for a request's token, [`SessionError`] for the
//! operations of [`SessionManager`](crate::SessionManager).

use crate::InvalidReason;
use crate::store::{BoxError, StoreError};

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The token is no good: the client must log in again.
    #[error("invalid session token ({0:?})")]
    Invalid(InvalidReason),
    /// A backend can't be reached now; nothing was changed. The client may retry.
    #[error("session backend unavailable: {0}")]
    Unavailable(#[source] BoxError),
}

impl AuthError {
    /// No live session holds the token.
    pub(crate) const fn not_found() -> Self {
        Self::Invalid(InvalidReason::NotFound)
    }

    /// Not a token this crate issues or accepts.
    pub(crate) const fn malformed() -> Self {
        Self::Invalid(InvalidReason::Malformed)
    }
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(Box::new(e))
    }
}

/// Why a session operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Log-in refused: unknown user or wrong password (one answer for both, so a caller
    /// can't probe for user names).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something else we depend on failed (the identity provider, the OS random source).
    #[error("unavailable: {0}")]
    Unavailable(#[source] BoxError),
}
