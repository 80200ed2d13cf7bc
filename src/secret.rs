//! A string that never shows up in `Debug` output or logs.

use std::fmt;
use std::sync::Arc;

/// A token, refresh token or client secret.
///
/// `Debug` prints `Secret([redacted])`; the value is only reachable through
/// [`Secret::expose`], so a stray `{:?}` or `tracing` field can't leak it.
///
/// ```
/// use cognito_session::Secret;
///
/// let secret = Secret::new("refresh-token");
/// assert_eq!(format!("{secret:?}"), "Secret([redacted])");
/// assert_eq!(secret.expose(), "refresh-token");
/// ```
// `Arc<str>`: records are cloned out of stores on every request, and a Cognito session
// holds two tokens of a kilobyte or two each.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().into())
    }

    /// The value itself. Call it only where the value leaves the process on purpose.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value.into())
    }
}
