//! Cognito access tokens. (Being written.)

use crate::manager::{AuthError, Authenticated};
use crate::{SessionManager, SessionRecord};

/// Cognito verification and refresh.
#[derive(Debug)]
pub struct Cognito {}

pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|&b| b == b'.').count() == 2
}

impl Cognito {
    pub(crate) async fn authenticate(
        &self,
        _manager: &SessionManager,
        _token: &str,
    ) -> Result<Authenticated, AuthError> {
        Err(AuthError::Invalid(crate::InvalidReason::Malformed))
    }

    pub(crate) async fn revoke(&self, _record: &SessionRecord) {}
}
