//! [`LogIn`]: where a Cognito log-in step ends.

use super::Challenge;
use crate::NewSession;

/// What a Cognito log-in step ends in: a session, or a challenge the user must answer
/// (with [`SessionManager::answer_challenge`](crate::SessionManager::answer_challenge)).
#[derive(Debug)]
#[non_exhaustive]
pub enum LogIn {
    /// The log-in is done and its session stored.
    Session(NewSession),
    /// Cognito asks for more: a new password, a code, a choice of MFA.
    Challenge(Challenge),
}

impl LogIn {
    /// The session, if the log-in is done.
    pub fn into_session(self) -> Option<NewSession> {
        match self {
            Self::Session(session) => Some(session),
            Self::Challenge(_) => None,
        }
    }

    /// The challenge, if Cognito asks one.
    pub fn into_challenge(self) -> Option<Challenge> {
        match self {
            Self::Challenge(challenge) => Some(challenge),
            Self::Session(_) => None,
        }
    }
}
