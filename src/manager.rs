//! [`SessionManager`]: creating, checking and ending sessions, for both kinds of token.
//!
//! The facade: every public operation is here, and each one hands over to
//! [`opaque`](crate::opaque) or [`cognito`](crate::cognito) by the kind of token or log-in.

use std::fmt;
use std::sync::Arc;

use http::HeaderValue;

use crate::check::{Authenticated, Check};
use crate::opaque;
use crate::store::SessionStore;
use crate::{
    AuthError, Claims, ConfigError, CurrentUser, Secret, SessionConfig, SessionError,
    SessionRecord, TokenSource,
};

/// Creates, checks and ends sessions; what [`SessionLayer`](crate::SessionLayer) calls on
/// every request, and what log-in and log-out handlers call.
///
/// Cheap to clone: clones share the store and the caches.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use cognito_session::{MemoryStore, SessionConfig, SessionManager};
///
/// let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default())?;
/// let session = manager.create("alice").await?;
/// // Hand `session.token` to the client, or send `session.set_cookie`.
/// let user = manager.authenticate(session.token.expose()).await?.user;
/// assert_eq!(user.username(), "alice");
/// assert_eq!(manager.delete_user("alice").await?, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<Inner>,
}

struct Inner {
    check: Check,
    #[cfg(feature = "cognito")]
    cognito: Option<crate::cognito::Cognito>,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("config", self.config())
            .finish_non_exhaustive()
    }
}

/// A session that was just created.
#[derive(Debug)]
#[non_exhaustive]
pub struct NewSession {
    /// The token to give the client (opaque token, or Cognito access token).
    pub token: Secret,
    /// Who it belongs to.
    pub user: CurrentUser,
    /// A `Set-Cookie` value carrying the token, for clients that use the cookie.
    pub set_cookie: HeaderValue,
    /// When the session expires, in epoch seconds.
    pub expires_at: u64,
}

impl SessionManager {
    /// A manager for `store`. Fails if `config` can't work (see
    /// [`SessionConfig`]'s cookie settings).
    pub fn new(store: impl SessionStore, config: SessionConfig) -> Result<Self, ConfigError> {
        Ok(Self::from_parts(
            Check::new(store, config)?,
            #[cfg(feature = "cognito")]
            None,
        ))
    }

    pub(crate) fn from_parts(
        check: Check,
        #[cfg(feature = "cognito")] cognito: Option<crate::cognito::Cognito>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                check,
                #[cfg(feature = "cognito")]
                cognito,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        self.inner.check.config()
    }

    /// The store.
    pub fn store(&self) -> &dyn SessionStore {
        self.inner.check.store()
    }

    /// Creates an opaque session for `username`. The caller has checked who the user is.
    pub async fn create(&self, username: &str) -> Result<NewSession, SessionError> {
        self.create_with(username, Claims::default()).await
    }

    /// Creates an opaque session for `username` carrying `claims`: the groups, scopes or
    /// other claims the application's own user directory gives them, for
    /// [`CurrentUser::groups`] and the [guards](crate::guard). They stay as given for the
    /// session's life, rotations included.
    ///
    /// ```
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use cognito_session::{Claims, MemoryStore, SessionConfig, SessionManager};
    ///
    /// let sessions = SessionManager::new(MemoryStore::new(), SessionConfig::default())?;
    /// let session = sessions
    ///     .create_with("alice", Claims::new().with_groups(["admins"]))
    ///     .await?;
    /// assert_eq!(session.user.groups(), ["admins"]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create_with(
        &self,
        username: &str,
        claims: Claims,
    ) -> Result<NewSession, SessionError> {
        let (token, record) = opaque::create(&self.inner.check, username, claims).await?;
        Ok(self.new_session(token, record))
    }

    /// What a log-in hands the application: the token, the user and the cookie.
    fn new_session(&self, token: Secret, record: SessionRecord) -> NewSession {
        let check = &self.inner.check;
        let expires_at = record.expires_at;
        crate::observe::session_created(&record);
        NewSession {
            set_cookie: check.set_cookie(token.expose(), expires_at, check.now()),
            token,
            user: CurrentUser::from_record(Arc::new(record)),
            expires_at,
        }
    }

    /// The session stored under `key` ([`CurrentUser::session_key`]), if it is live.
    pub async fn load(&self, key: &str) -> Result<Option<SessionRecord>, SessionError> {
        let check = &self.inner.check;
        Ok(check.load_live(key, check.now()).await?)
    }

    /// Ends one session; whether it existed. The tokens of a rotation around it end with it:
    /// the one it replaced (still in its grace period), and the one that replaced it (a
    /// concurrent request may have rotated the session a moment before the log-out).
    pub async fn delete(&self, key: &str) -> Result<bool, SessionError> {
        let check = &self.inner.check;
        // The record the delete removed, not one read before it: a rotation that lands in
        // between is seen in it (its successor), or fails its own conditional write on the
        // missing record and takes its new token back.
        let Some(record) = check.store().take(key).await? else {
            return Ok(false);
        };
        crate::observe::sessions_deleted(1);
        match &record.cognito {
            None => opaque::delete_neighbours(check, &record).await?,
            #[cfg(feature = "cognito")]
            Some(_) => {
                if let Some(cognito) = &self.inner.cognito {
                    cognito.revoke(&record).await;
                }
            }
            #[cfg(not(feature = "cognito"))]
            Some(_) => {}
        }
        Ok(true)
    }

    /// Ends every session of `username`; how many there were.
    pub async fn delete_user(&self, username: &str) -> Result<usize, SessionError> {
        let deleted = self.store().delete_user(username).await?;
        crate::observe::sessions_deleted(deleted);
        tracing::debug!(username, deleted, "sessions of user deleted");
        Ok(deleted)
    }

    /// Checks a token from any source but the cookie (see
    /// [`authenticate_from`](Self::authenticate_from)).
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, AuthError> {
        self.authenticate_from(token, TokenSource::Bearer).await
    }

    /// Checks a token and says who it belongs to. Rotates opaque tokens that came from the
    /// cookie when due, and refreshes Cognito tokens that are about to expire.
    pub async fn authenticate_from(
        &self,
        token: &str,
        source: TokenSource,
    ) -> Result<Authenticated, AuthError> {
        let check = &self.inner.check;
        #[cfg(feature = "cognito")]
        if let Some(cognito) = self.cognito_for(token) {
            // Boxed: inline, the Cognito path would size every request's future, opaque
            // ones included.
            return Box::pin(cognito.authenticate(check, token)).await;
        }
        opaque::authenticate(check, token, source).await
    }

    /// What [`authenticate_from`](Self::authenticate_from) would answer, if it can be told
    /// without waiting: the store answers from memory, and no touch, rotation or refresh is
    /// due. `None` means the caller must await `authenticate_from`.
    ///
    /// A store's memory may lag behind the table it stands for (a read cache, see
    /// [`SessionStore::load_now`]): its answer may let a request through, but only an
    /// awaited read turns one away. So a token the memory doesn't accept is `None` here too.
    pub(crate) fn authenticate_now(
        &self,
        token: &str,
        source: TokenSource,
    ) -> Option<Result<Authenticated, AuthError>> {
        let check = &self.inner.check;
        #[cfg(feature = "cognito")]
        if let Some(cognito) = self.cognito_for(token) {
            return cognito.authenticate_now(check, token);
        }
        opaque::authenticate_now(check, token, source)
    }

    /// The Cognito side, when this manager has one and `token` is for it.
    #[cfg(feature = "cognito")]
    fn cognito_for(&self, token: &str) -> Option<&crate::cognito::Cognito> {
        self.inner
            .cognito
            .as_ref()
            .filter(|_| crate::cognito::looks_like_jwt(token))
    }

    /// A `Set-Cookie` that removes the session cookie, for log-out handlers.
    pub fn removal_cookie(&self) -> HeaderValue {
        self.inner.check.removal_cookie().clone()
    }
}

#[cfg(feature = "cognito")]
pub use cognito_api::LogIn;

/// Sessions that are Cognito log-ins.
#[cfg(feature = "cognito")]
mod cognito_api {
    use super::*;
    use crate::cognito::{
        AppClientCheck, Challenge, ChallengeAnswer, Cognito, CognitoOptions, Outcome,
    };

    /// What a Cognito log-in step ends in: a session, or a challenge the user must answer
    /// (with [`SessionManager::answer_challenge`]).
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

    impl SessionManager {
        /// A manager whose sessions are Cognito log-ins, with default [`CognitoOptions`].
        ///
        /// `config` must carry the pool's [`CognitoSettings`](crate::CognitoSettings)
        /// ([`SessionConfig::with_cognito`]); `client` is the AWS SDK client used to log in,
        /// refresh and revoke (its region and credentials; log-in and refresh need no AWS
        /// credentials, only the optional
        /// [global sign-out](CognitoOptions::with_global_sign_out) does). Opaque session
        /// tokens keep working alongside.
        ///
        /// ```no_run
        /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
        /// use cognito_session::{MemoryStore, SessionConfig, SessionManager};
        ///
        /// let config = SessionConfig::from_env()?; // USER_POOL_ID, CLIENT_ID, CLIENT_SECRET, ...
        /// let aws = aws_config::load_from_env().await;
        /// let client = aws_sdk_cognitoidentityprovider::Client::new(&aws);
        /// let sessions = SessionManager::with_cognito(MemoryStore::new(), config, client)?;
        /// # Ok(())
        /// # }
        /// ```
        pub fn with_cognito(
            store: impl SessionStore,
            config: SessionConfig,
            client: aws_sdk_cognitoidentityprovider::Client,
        ) -> Result<Self, ConfigError> {
            Self::with_cognito_options(store, config, client, CognitoOptions::default())
        }

        /// Like [`with_cognito`](Self::with_cognito), with [`CognitoOptions`].
        pub fn with_cognito_options(
            store: impl SessionStore,
            config: SessionConfig,
            client: aws_sdk_cognitoidentityprovider::Client,
            options: CognitoOptions,
        ) -> Result<Self, ConfigError> {
            let cognito = Cognito::new(config.cognito(), client, options)?;
            Ok(Self::from_parts(Check::new(store, config)?, Some(cognito)))
        }

        /// Logs `username` in with `password` through Cognito (`USER_PASSWORD_AUTH`, or
        /// `USER_SRP_AUTH` with the `PASSWORD_VERIFIER` answered here when
        /// [`CognitoSettings::auth_flow`](crate::CognitoSettings::auth_flow) is
        /// [`AuthFlow::Srp`](crate::AuthFlow::Srp); with `SECRET_HASH` when the app client
        /// has a secret): [`LogIn::Session`] when Cognito
        /// hands out tokens (the session is stored; hand the client [`NewSession::token`] or
        /// send [`NewSession::set_cookie`]), or [`LogIn::Challenge`] when it asks for more
        /// (a new password, an MFA code: see [`answer_challenge`](Self::answer_challenge)).
        ///
        /// Errors: [`SessionError::InvalidCredentials`] for a wrong password or an unknown
        /// user (one answer for both); [`SessionError::FlowNotEnabled`] when the app client
        /// does not allow the flow (`ALLOW_USER_PASSWORD_AUTH` or `ALLOW_USER_SRP_AUTH`); [`SessionError::Unavailable`] when
        /// Cognito can't be reached, asks for a challenge this crate doesn't answer, or the
        /// manager has no Cognito pool; [`SessionError::Store`] when the session can't be
        /// stored.
        ///
        /// ```no_run
        /// # async fn run(sessions: cognito_session::SessionManager) -> Result<(), cognito_session::SessionError> {
        /// use cognito_session::LogIn;
        /// use cognito_session::cognito::{ChallengeAnswer, ChallengeName};
        ///
        /// let mut step = sessions.login("alice", "temporary-password").await?;
        /// while let LogIn::Challenge(challenge) = step {
        ///     // Ask the user; here, a new password for a first log-in.
        ///     assert_eq!(challenge.name, ChallengeName::NewPasswordRequired);
        ///     let answer = ChallengeAnswer::new_password("a-Better-one-42");
        ///     step = sessions
        ///         .answer_challenge("alice", challenge.session.expose(), answer)
        ///         .await?;
        /// }
        /// let session = step.into_session().expect("a session");
        /// # let _ = session;
        /// # Ok(())
        /// # }
        /// ```
        pub async fn login(&self, username: &str, password: &str) -> Result<LogIn, SessionError> {
            let outcome = self
                .cognito()?
                .login(&self.inner.check, username, password)
                .await?;
            Ok(self.log_in(outcome))
        }

        /// Answers a challenge of a log-in by `username` (the same name it logged in with):
        /// `session` is the [`Challenge::session`] the client got and sends back. Answers
        /// like [`login`](Self::login): the session, or the next challenge.
        ///
        /// Errors, besides those of `login`: [`SessionError::LogInExpired`] when `session`
        /// was altered, has expired, belongs to another username, or Cognito no longer
        /// accepts it (the user must log in again; checked before Cognito is called);
        /// [`SessionError::InvalidCode`] for a wrong or expired code;
        /// [`SessionError::PasswordRefused`] with the pool's password policy message;
        /// [`SessionError::InvalidAnswer`] for an answer that does not fit the challenge.
        pub async fn answer_challenge(
            &self,
            username: &str,
            session: &str,
            answer: ChallengeAnswer,
        ) -> Result<LogIn, SessionError> {
            let outcome = self
                .cognito()?
                .answer_challenge(&self.inner.check, username, session, answer)
                .await?;
            Ok(self.log_in(outcome))
        }

        /// Checks, with Cognito's `DescribeUserPoolClient`, that the app client allows the
        /// configured log-in flow ([`CognitoSettings::auth_flow`](crate::CognitoSettings::auth_flow):
        /// `ALLOW_USER_PASSWORD_AUTH` or `ALLOW_USER_SRP_AUTH`) and refreshing tokens
        /// (`ALLOW_REFRESH_TOKEN_AUTH`). Call it at start, so that a client set up without
        /// the flag stops the start rather than every log-in.
        ///
        /// [`AppClientCheck::Unknown`] when it can't tell: `DescribeUserPoolClient` needs
        /// AWS credentials allowed to call it (`cognito-idp:DescribeUserPoolClient`), which
        /// log-in and refresh don't, or Cognito could not be asked. Errors:
        /// [`SessionError::FlowNotEnabled`] naming the flag to enable;
        /// [`SessionError::UnknownAppClient`] when the pool has no such client.
        ///
        /// ```no_run
        /// # async fn run(sessions: cognito_session::SessionManager) -> Result<(), cognito_session::SessionError> {
        /// use cognito_session::cognito::AppClientCheck;
        ///
        /// match sessions.check_app_client().await? {
        ///     AppClientCheck::Ready => {}
        ///     AppClientCheck::Unknown { reason } => eprintln!("app client not checked: {reason}"),
        ///     _ => {}
        /// }
        /// # Ok(())
        /// # }
        /// ```
        pub async fn check_app_client(&self) -> Result<AppClientCheck, SessionError> {
            self.cognito()?.check_app_client().await
        }

        fn log_in(&self, outcome: Outcome) -> LogIn {
            match outcome {
                Outcome::Session(token, record) => LogIn::Session(self.new_session(token, *record)),
                Outcome::Challenge(challenge) => LogIn::Challenge(challenge),
            }
        }

        /// Ends every session of `username` in the store and, when
        /// [enabled](CognitoOptions::with_global_sign_out), every refresh token Cognito
        /// issued to the user (`AdminUserGlobalSignOut`). Returns how many sessions were
        /// deleted.
        ///
        /// The sessions are deleted first, so they are over even when the global sign-out
        /// then fails (which is reported as [`SessionError::Unavailable`]).
        pub async fn sign_out_everywhere(&self, username: &str) -> Result<usize, SessionError> {
            let cognito = self.cognito()?;
            let deleted = self.delete_user(username).await?;
            cognito.sign_out_everywhere(username).await?;
            Ok(deleted)
        }

        fn cognito(&self) -> Result<&Cognito, SessionError> {
            self.inner.cognito.as_ref().ok_or_else(|| {
                SessionError::Unavailable(
                    "this SessionManager has no Cognito user pool (see SessionManager::with_cognito)"
                        .into(),
                )
            })
        }
    }
}

#[cfg(test)]
mod tests;
