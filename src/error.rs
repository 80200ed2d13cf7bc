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
    /// The code answering a challenge (MFA, one-time password, or the verification of a
    /// new authenticator app) is wrong or has expired. The user may try again with the same
    /// challenge; once Cognito gives up on it, the answer is [`LogInExpired`](Self::LogInExpired).
    #[error("invalid code")]
    InvalidCode,
    /// The challenge session is expired, altered, or belongs to another user, or Cognito
    /// no longer accepts it: the user must log in again.
    #[error("log-in expired, start again")]
    LogInExpired,
    /// The user pool's password policy refused the new password. The message is Cognito's,
    /// meant for the user (e.g. "Password does not conform to policy: ...").
    #[error("password refused: {0}")]
    PasswordRefused(String),
    /// The answer does not fit the challenge (a code for a new-password challenge, a
    /// required attribute missing, ...). The message says what is wrong, for the user.
    #[error("invalid answer: {0}")]
    InvalidAnswer(String),
    /// The user must reset their password before logging in (Cognito's
    /// `PasswordResetRequiredException`: an administrator reset it, or the pool imported the
    /// user without one). Send them to the pool's forgot-password flow.
    #[error("the user must reset their password")]
    PasswordResetRequired,
    /// The user signed up but has not confirmed their account yet (Cognito's
    /// `UserNotConfirmedException`): they must enter the code Cognito sent, or an
    /// administrator must confirm them.
    #[error("the user has not confirmed their account")]
    UserNotConfirmed,
    /// The app client does not allow an authentication flow this manager uses: enable
    /// `flag` on the app client (user pool → App clients → Authentication flows), or
    /// configure the other flow. A configuration error, not the user's. Reported by a
    /// log-in, and at start by
    /// [`SessionManager::check_app_client`](crate::SessionManager::check_app_client).
    #[error("the Cognito app client does not allow a flow this server uses: enable {flag}")]
    FlowNotEnabled {
        /// The app client's flag to enable: `ALLOW_USER_PASSWORD_AUTH` or
        /// `ALLOW_USER_SRP_AUTH` (the log-in), or `ALLOW_REFRESH_TOKEN_AUTH` (refreshes).
        flag: &'static str,
    },
    /// The user pool has no app client with the configured id (Cognito's
    /// `ResourceNotFoundException` to
    /// [`SessionManager::check_app_client`](crate::SessionManager::check_app_client)):
    /// check `USER_POOL_ID` and `CLIENT_ID`. A configuration error.
    #[error("the Cognito user pool has no app client with the configured id")]
    UnknownAppClient,
    /// Managed login: the callback's `state` is missing, altered, expired, was issued to
    /// another browser, or was used already. Send the user to log in again.
    #[error("invalid log-in state")]
    InvalidLoginState,
    /// Managed login: the domain ended the log-in with an OAuth error instead of a code
    /// (`access_denied` when the user cancelled or an identity provider refused). Carries
    /// the error code and description the domain sent (control characters removed, length
    /// bounded), never a token.
    #[error("log-in ended by the authorization server: {error}")]
    AuthorizationDenied {
        /// The OAuth error code, e.g. `access_denied`.
        error: String,
        /// The domain's `error_description`, if any.
        description: Option<String>,
    },
    /// Managed login: the token endpoint refused the code (already used, expired, issued
    /// for another client or redirect URI, or a PKCE verifier that doesn't match). The code
    /// is not tried again and no session is made.
    #[error("the authorization code was refused")]
    CodeRefused,
    /// Tokens that don't verify as this pool's for this app client: handed to
    /// [`create_from_tokens`](crate::SessionManager::create_from_tokens) (or with a
    /// refresh token that Cognito refuses or that is another log-in's), or returned by
    /// the token endpoint with an ID token whose `nonce` or `aud` is wrong. Nothing is
    /// stored.
    #[error("tokens refused")]
    InvalidTokens,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something else we depend on failed (the identity provider, the OS random source).
    #[error("unavailable: {0}")]
    Unavailable(#[source] BoxError),
}

/// A configuration that can't work, found when it is read
/// ([`SessionConfig::from_env`](crate::SessionConfig::from_env) and the other `from_env`)
/// or used ([`SessionManager::new`](crate::SessionManager::new), `DynamoDbStore::new`),
/// not at the first request. Each variant names what is at fault.
///
/// ```
/// use cognito_session::{ConfigError, SessionConfig, SessionManager};
/// use cognito_session::store::MemoryStore;
///
/// let config = SessionConfig::default().with_lifetime(std::time::Duration::ZERO);
/// match SessionManager::new(MemoryStore::new(), config) {
///     Err(ConfigError::Setting { setting, .. }) => assert_eq!(setting, "lifetime"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable is malformed, or needs another one that is missing.
    #[error("{variable}: {message}")]
    Env {
        /// The variable at fault.
        variable: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A setting given in code can't work, alone or with another one.
    #[error("invalid setting {setting}: {message}")]
    Setting {
        /// The setting at fault, named after its `with_*` method (`cookie`, `lifetime`,
        /// `partition_key`, `challenge_key`, `managed_login`, ...).
        setting: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn env(variable: &'static str, message: impl Into<String>) -> Self {
        Self::Env {
            variable,
            message: message.into(),
        }
    }

    pub(crate) fn setting(setting: &'static str, message: impl Into<String>) -> Self {
        Self::Setting {
            setting,
            message: message.into(),
        }
    }
}
