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
    AuthError, Claims, ConfigError, CurrentUser, NewSession, Secret, SessionConfig, SessionError,
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
/// use cognito_session::{SessionConfig, SessionManager};
/// use cognito_session::store::MemoryStore;
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

    pub(crate) fn check(&self) -> &Check {
        &self.inner.check
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
    /// use cognito_session::{Claims, SessionConfig, SessionManager};
    /// use cognito_session::store::MemoryStore;
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

    /// Logs out the session a request carries (its token from the `Authorization` header
    /// or the cookie, as the layer reads them): the session is deleted, and a Cognito
    /// session's refresh token revoked (best effort). A request without a valid session
    /// logs nothing out and is no error, so a log-out link always works.
    ///
    /// Answer with [`LoggedOut::removal_cookie`], and, after a managed login, a redirect to
    /// [`LoggedOut::logout_url`] so that the domain's session ends too.
    ///
    /// Errors: [`SessionError::Unavailable`] or [`SessionError::Store`] when the session
    /// could not be checked or deleted: it is still live, and the cookie should stay.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use cognito_session::{SessionConfig, SessionManager};
    /// use cognito_session::store::MemoryStore;
    ///
    /// let sessions = SessionManager::new(MemoryStore::new(), SessionConfig::default())?;
    /// let session = sessions.create("alice").await?;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("authorization", format!("Bearer {}", session.token.expose()).parse()?);
    /// let logged_out = sessions.log_out(&headers).await?;
    /// assert!(logged_out.ended);
    /// assert!(sessions.load(session.user.session_key()).await?.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn log_out(&self, headers: &http::HeaderMap) -> Result<LoggedOut, SessionError> {
        let config = self.config();
        let found = crate::token::find(headers, &config.sources, &config.cookie.name);
        let ended = match found {
            crate::token::Found::Token(token, source) => {
                match self.authenticate_from(token, source).await {
                    Ok(authenticated) => self.delete(authenticated.user.session_key()).await?,
                    Err(AuthError::Unavailable(e)) => return Err(SessionError::Unavailable(e)),
                    Err(_) => false,
                }
            }
            _ => false,
        };
        #[cfg(feature = "cognito")]
        let logout_url = self.logout_url();
        #[cfg(not(feature = "cognito"))]
        let logout_url = None;
        Ok(LoggedOut {
            ended,
            removal_cookie: self.removal_cookie(),
            logout_url,
        })
    }
}

/// What [`SessionManager::log_out`] did, and what to answer.
#[derive(Debug)]
#[non_exhaustive]
pub struct LoggedOut {
    /// Whether a session was ended.
    pub ended: bool,
    /// Removes the session cookie.
    pub removal_cookie: HeaderValue,
    /// The managed login domain's `/logout` URL, to redirect the browser to; `None`
    /// without managed login.
    pub logout_url: Option<String>,
}

/// Sessions that are Cognito log-ins.
#[cfg(feature = "cognito")]
mod cognito_api {
    use super::*;
    use crate::cognito::{
        AppClientCheck, ChallengeAnswer, Cognito, CognitoSettings, LogIn, LoggedIn, LoginOptions,
        LoginRedirect, Outcome,
    };

    impl SessionManager {
        /// A manager whose sessions are Cognito log-ins of the pool in `cognito`; `client` is
        /// the AWS SDK client used to log in, refresh and revoke (its region and
        /// credentials; log-in and refresh need no AWS credentials, only the optional
        /// [global sign-out](CognitoSettings::with_global_sign_out) does). Opaque session
        /// tokens keep working alongside. [`from_env`](Self::from_env) builds one from the
        /// environment, with the AWS clients and start-up checks.
        ///
        /// ```no_run
        /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
        /// use cognito_session::{SessionConfig, SessionManager};
        /// use cognito_session::store::MemoryStore;
        /// use cognito_session::cognito::CognitoSettings;
        ///
        /// let aws = aws_config::load_from_env().await;
        /// let sessions = SessionManager::with_cognito(
        ///     MemoryStore::new(),
        ///     SessionConfig::default(),
        ///     CognitoSettings::new("eu-west-1_AbCdEf123", "1example23456789"),
        ///     aws_sdk_cognitoidentityprovider::Client::new(&aws),
        /// )?;
        /// # Ok(())
        /// # }
        /// ```
        pub fn with_cognito(
            store: impl SessionStore,
            config: SessionConfig,
            cognito: CognitoSettings,
            client: aws_sdk_cognitoidentityprovider::Client,
        ) -> Result<Self, ConfigError> {
            let cognito = Cognito::new(cognito, client)?;
            Ok(Self::from_parts(Check::new(store, config)?, Some(cognito)))
        }

        /// The Cognito settings, when this manager takes Cognito log-ins.
        pub fn cognito_settings(&self) -> Option<&CognitoSettings> {
            self.inner.cognito.as_ref().map(Cognito::settings)
        }

        /// The Cognito side, for the start-up checks.
        pub(crate) fn cognito_side(&self) -> Option<&Cognito> {
            self.inner.cognito.as_ref()
        }

        /// Logs `username` in with `password` through Cognito (`USER_PASSWORD_AUTH`, or
        /// `USER_SRP_AUTH` with the `PASSWORD_VERIFIER` answered here when
        /// [`CognitoSettings::auth_flow`](crate::cognito::CognitoSettings::auth_flow) is
        /// [`AuthFlow::Srp`](crate::cognito::AuthFlow::Srp); with `SECRET_HASH` when the app client
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
        /// use cognito_session::cognito::{ChallengeAnswer, ChallengeName, LogIn};
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
        /// `session` is the [`Challenge::session`](crate::cognito::Challenge::session) the client got and sends back. Answers
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
        /// configured log-in flow ([`CognitoSettings::auth_flow`](crate::cognito::CognitoSettings::auth_flow):
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

        /// Starts a log-in through the pool's managed login
        /// ([`CognitoSettings::with_managed_login`](crate::cognito::CognitoSettings::with_managed_login)):
        /// answer with a redirect to [`LoginRedirect::url`] and its
        /// [`set_cookie`](LoginRedirect::set_cookie), which binds the log-in to this browser.
        ///
        /// The URL asks for an authorization code with PKCE (S256, a 64-character verifier
        /// from the OS random source), a random `state`, and a `nonce` when the scopes
        /// include `openid`; see [`LoginOptions`] for a federated identity provider, the
        /// language and where to go afterwards.
        ///
        /// Errors: [`SessionError::InvalidAnswer`] for an identity provider name that can't
        /// be one; [`SessionError::Unavailable`] when no managed login is configured.
        ///
        /// ```no_run
        /// # fn run(sessions: cognito_session::SessionManager) -> Result<(), cognito_session::SessionError> {
        /// use cognito_session::cognito::LoginOptions;
        ///
        /// let login = sessions.start_login(&LoginOptions::new().with_next("/orders"))?;
        /// let response = http::Response::builder()
        ///     .status(302)
        ///     .header("location", login.url)
        ///     .header("set-cookie", login.set_cookie)
        ///     .body(())
        ///     .unwrap();
        /// # let _ = response;
        /// # Ok(())
        /// # }
        /// ```
        pub fn start_login(&self, options: &LoginOptions) -> Result<LoginRedirect, SessionError> {
            self.cognito()?.start_login(&self.inner.check, options)
        }

        /// Finishes a managed log-in at the callback URL: `query` is the callback's query
        /// string (`code` and `state`, or `error`), `headers` the request's (for the log-in
        /// state cookie). Checks `state` against the cookie (constant time) and its age,
        /// exchanges the code at the domain's token endpoint (once: a refused code is not
        /// tried again), verifies the access token as every request does and the ID token
        /// (signature, `aud`, `token_use`, `nonce`), and stores the session like
        /// [`login`](Self::login). Answer with a redirect to [`LoggedIn::next`], the
        /// session's `Set-Cookie` and [`LoggedIn::clear_state_cookie`].
        ///
        /// Errors (send [`login_state_removal_cookie`](Self::login_state_removal_cookie)
        /// with them): [`SessionError::InvalidLoginState`] for a `state` that is missing,
        /// altered, expired, another browser's or used already;
        /// [`SessionError::AuthorizationDenied`] when the domain sent an `error`;
        /// [`SessionError::CodeRefused`] when the token endpoint refused the code;
        /// [`SessionError::InvalidTokens`] for tokens that don't verify (a wrong nonce,
        /// another client's); [`SessionError::Unavailable`] when the token endpoint or the
        /// pool's keys can't be reached, and [`SessionError::Store`]: nothing is stored then.
        ///
        /// ```no_run
        /// # async fn run(sessions: cognito_session::SessionManager, request: http::Request<()>) {
        /// let query = request.uri().query().unwrap_or_default();
        /// match sessions.finish_login(query, request.headers()).await {
        ///     Ok(logged_in) => {
        ///         // 302 to logged_in.next, with logged_in.session.set_cookie and
        ///         // logged_in.clear_state_cookie.
        ///         # let _ = logged_in;
        ///     }
        ///     Err(error) => {
        ///         // 400, 401 or 503 by the error, with sessions.login_state_removal_cookie().
        ///         # let _ = error;
        ///     }
        /// }
        /// # }
        /// ```
        pub async fn finish_login(
            &self,
            query: &str,
            headers: &http::HeaderMap,
        ) -> Result<LoggedIn, SessionError> {
            let check = &self.inner.check;
            let (token, record, next) = self.cognito()?.finish_login(check, query, headers).await?;
            Ok(LoggedIn {
                session: self.new_session(token, record),
                next,
                clear_state_cookie: Cognito::login_state_removal(check),
            })
        }

        /// A `Set-Cookie` that removes the managed log-in state cookie, for the callback's
        /// answers that end in an error.
        pub fn login_state_removal_cookie(&self) -> HeaderValue {
            Cognito::login_state_removal(&self.inner.check)
        }

        /// The managed login domain's `/logout` URL (`client_id`, and `logout_uri`: see
        /// [`ManagedLoginSettings::with_logout_uri`](crate::cognito::ManagedLoginSettings::with_logout_uri)),
        /// to redirect the browser to after deleting its session, so that the domain's own
        /// session ends too; `None` without managed login.
        pub fn logout_url(&self) -> Option<String> {
            self.inner.cognito.as_ref().and_then(Cognito::logout_url)
        }

        /// A session from Cognito tokens obtained elsewhere: a mobile app, an Amplify
        /// client, a custom authentication flow. Nothing is stored before they verify: the
        /// access token as every request's (signature, issuer, `token_use`) and issued to
        /// this manager's app client (`client_id`, which refreshes it) and not expired; the
        /// ID token, when given, for this client and about the same user. Then the refresh
        /// token is proven by spending one refresh of it (the layer's own: `InitiateAuth`,
        /// `GetTokensFromRefreshToken` with [rotation](crate::cognito::CognitoSettings::with_refresh_token_rotation),
        /// or the managed login's token endpoint), whose access token must be for the same
        /// user (`sub`), client and, when both carry it, log-in (`origin_jti`). The refreshed
        /// tokens are stored, and [`NewSession::token`] is the new access token, not the one
        /// given: an access token alone (one that was logged out, or, with
        /// [`KeyClaim::Sub`](crate::cognito::KeyClaim::Sub), the key to a user's live
        /// session) makes no session.
        ///
        /// Errors: [`SessionError::InvalidTokens`] for tokens that don't verify, and for a
        /// refresh token Cognito refuses or that is another log-in's;
        /// [`SessionError::Unavailable`] when the pool's keys or Cognito can't be reached;
        /// [`SessionError::Store`]. Nothing is stored then.
        ///
        /// ```no_run
        /// # async fn run(sessions: cognito_session::SessionManager) -> Result<(), cognito_session::SessionError> {
        /// // Tokens a native app got from Cognito and handed over, e.g. to start a web view.
        /// let (access, refresh, id) = ("eyJ...", "eyJ...", Some("eyJ..."));
        /// let session = sessions.create_from_tokens(access, refresh, id).await?;
        /// # let _ = session;
        /// # Ok(())
        /// # }
        /// ```
        pub async fn create_from_tokens(
            &self,
            access_token: &str,
            refresh_token: &str,
            id_token: Option<&str>,
        ) -> Result<NewSession, SessionError> {
            let (token, record) = self
                .cognito()?
                .create_from_tokens(&self.inner.check, access_token, refresh_token, id_token)
                .await?;
            Ok(self.new_session(token, record))
        }

        fn log_in(&self, outcome: Outcome) -> LogIn {
            match outcome {
                Outcome::Session(token, record) => LogIn::Session(self.new_session(token, *record)),
                Outcome::Challenge(challenge) => LogIn::Challenge(challenge),
            }
        }

        /// Ends every session of `username` in the store and, when
        /// [enabled](CognitoSettings::with_global_sign_out), every refresh token Cognito
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

mod sessions;

pub use self::sessions::SessionInfo;
pub(crate) use self::sessions::public_id;

#[cfg(test)]
mod tests;
