//! [`SessionManager`]: creating, checking and ending sessions.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

use crate::session::{TokenMatch, is_opaque_token, new_opaque_token};
use crate::store::{BoxError, SessionStore, StoreError};
use crate::{
    ConfigError, CurrentUser, InvalidReason, Secret, SessionConfig, SessionRecord, TokenHash,
    TokenSource,
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
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) config: SessionConfig,
    /// The same for every response that removes the cookie, so it is built once.
    removal_cookie: HeaderValue,
    #[cfg(feature = "cognito")]
    pub(crate) cognito: Option<crate::cognito::Cognito>,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("config", &self.inner.config)
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

/// A request's token, checked.
#[derive(Debug)]
#[non_exhaustive]
pub struct Authenticated {
    /// Who the token belongs to.
    pub user: CurrentUser,
    /// A new token the client must use from now on (rotation, refresh, or a token another
    /// request refreshed), and the `Set-Cookie` carrying it.
    pub new_token: Option<(Secret, HeaderValue)>,
}

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

impl Authenticated {
    /// The session's user, with the token the request came with.
    pub(crate) fn as_is(record: &Arc<SessionRecord>) -> Self {
        Self {
            user: CurrentUser::of(record.clone()),
            new_token: None,
        }
    }
}

/// What the session read for a request says, before anything is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The token is good as it is.
    Good,
    /// An opaque token replaced moments ago by a concurrent request: good until its grace
    /// ends, as the session that replaced it.
    Replaced,
    /// A Cognito token its session just replaced: good, and the client gets the current one.
    Adopt,
    /// The token is good, and its session is due for a touch.
    Touch,
    /// The token is good, and due for a new one: rotation (opaque) or refresh (Cognito).
    Renew,
}

/// The hash of a token that has the shape of an opaque token.
fn opaque_hash(token: &str) -> Result<TokenHash, AuthError> {
    if is_opaque_token(token) {
        Ok(TokenHash::of(token))
    } else {
        Err(AuthError::Invalid(InvalidReason::Malformed))
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

impl SessionManager {
    /// A manager for `store`. Fails if `config` can't work (see
    /// [`SessionConfig`]'s cookie settings).
    pub fn new(store: impl SessionStore, config: SessionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                store: Arc::new(store),
                removal_cookie: config.cookie.removal(),
                config,
                #[cfg(feature = "cognito")]
                cognito: None,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &dyn SessionStore {
        &*self.inner.store
    }

    /// Creates an opaque session for `username`. The caller has checked who the user is.
    pub async fn create(&self, username: &str) -> Result<NewSession, SessionError> {
        let config = &self.inner.config;
        let now = config.now();
        let token = new_opaque_token().map_err(|e| SessionError::Unavailable(Box::new(e)))?;
        let hash = TokenHash::of(&token);
        let record = SessionRecord {
            key: hash.to_hex(),
            username: username.to_owned(),
            sub: None,
            token_hash: hash,
            previous_token_hash: None,
            previous_valid_until: None,
            successor: None,
            cognito: None,
            created_at: now,
            last_seen_at: now,
            refreshed_at: now,
            expires_at: self.expiry(now, now),
            version: 0,
        };
        self.inner.store.create(&record, now).await?;
        tracing::debug!(username, session = %record.key, "session created");
        Ok(self.new_session(Secret::new(token), &record, now))
    }

    pub(crate) fn new_session(
        &self,
        token: Secret,
        record: &SessionRecord,
        now: u64,
    ) -> NewSession {
        NewSession {
            set_cookie: self.set_cookie(token.expose(), record.expires_at, now),
            token,
            user: user_of(record),
            expires_at: record.expires_at,
        }
    }

    /// The session stored under `key` ([`CurrentUser::session_key`]), if it is live.
    pub async fn load(&self, key: &str) -> Result<Option<SessionRecord>, SessionError> {
        let now = self.inner.config.now();
        Ok(self
            .inner
            .store
            .load(key, now)
            .await?
            .filter(|r| self.is_live(r, now)))
    }

    /// Ends one session; whether it existed. The tokens of a rotation around it end with it:
    /// the one it replaced (still in its grace period), and the one that replaced it (a
    /// concurrent request may have rotated the session a moment before the log-out).
    pub async fn delete(&self, key: &str) -> Result<bool, SessionError> {
        let store = &self.inner.store;
        let now = self.inner.config.now();
        let record = store.load(key, now).await?;
        let deleted = store.delete(key).await?;
        if let Some(record) = record.as_ref().filter(|r| r.cognito.is_none()) {
            if let Some(previous) = record.previous_token_hash {
                store.delete(&previous.to_hex()).await?;
            }
            if let Some(successor) = &record.successor {
                store.delete(successor).await?;
            }
        }
        #[cfg(feature = "cognito")]
        if let (Some(cognito), Some(record)) = (&self.inner.cognito, &record) {
            cognito.revoke(record).await;
        }
        Ok(deleted)
    }

    /// Ends every session of `username`; how many there were.
    pub async fn delete_user(&self, username: &str) -> Result<usize, SessionError> {
        let deleted = self.inner.store.delete_user(username).await?;
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
        #[cfg(feature = "cognito")]
        if let Some(cognito) = &self.inner.cognito
            && crate::cognito::looks_like_jwt(token)
        {
            // Boxed: inline, the Cognito path would size every request's future, opaque
            // ones included.
            return Box::pin(cognito.authenticate(self, token)).await;
        }
        self.authenticate_opaque(token, source).await
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
        #[cfg(feature = "cognito")]
        if let Some(cognito) = &self.inner.cognito
            && crate::cognito::looks_like_jwt(token)
        {
            return cognito.authenticate_now(self, token);
        }
        let now = self.inner.config.now();
        let hash = match opaque_hash(token) {
            Ok(hash) => hash,
            Err(e) => return Some(Err(e)),
        };
        let record = self.inner.store.load_now(hash.hex().as_str(), now)?;
        let step = self.opaque_step(record.as_deref(), &hash, now, source);
        self.granted_from_memory(step, record, now).map(Ok)
    }

    /// The answer to a request checked against a record from the store's memory, if that
    /// check lets it through with nothing to write. A refusal, or a touch, rotation or
    /// refresh that is due, is `None`: left to an awaited read of the store.
    pub(crate) fn granted_from_memory(
        &self,
        step: Result<Step, AuthError>,
        record: Option<Arc<SessionRecord>>,
        now: u64,
    ) -> Option<Authenticated> {
        match step {
            Ok(Step::Touch | Step::Renew) | Err(_) => None,
            Ok(step) => record.map(|record| self.answer(step, &record, now)),
        }
    }

    async fn authenticate_opaque(
        &self,
        token: &str,
        source: TokenSource,
    ) -> Result<Authenticated, AuthError> {
        let now = self.inner.config.now();
        let hash = opaque_hash(token)?;
        let record = self.inner.store.load(hash.hex().as_str(), now).await?;
        let step = self.opaque_step(record.as_ref(), &hash, now, source)?;
        let record = Arc::new(record.ok_or(AuthError::Invalid(InvalidReason::NotFound))?);
        Ok(match step {
            Step::Touch => self.touched(&record, now).await,
            Step::Renew => match Box::pin(self.rotate(&record, now)).await {
                Some(rotated) => rotated,
                None => Authenticated::as_is(&record),
            },
            step => self.answer(step, &record, now),
        })
    }

    /// What an opaque token's record says.
    fn opaque_step(
        &self,
        record: Option<&SessionRecord>,
        hash: &TokenHash,
        now: u64,
        source: TokenSource,
    ) -> Result<Step, AuthError> {
        let record = record
            .filter(|r| self.is_live(r, now) && r.accepts(hash, now) == TokenMatch::Current)
            .ok_or(AuthError::Invalid(InvalidReason::NotFound))?;
        if record.successor.is_some() {
            return Ok(Step::Replaced);
        }
        let config = &self.inner.config;
        let rotation_due = source == TokenSource::Cookie
            && config
                .rotate_after
                .is_some_and(|age| now.saturating_sub(record.refreshed_at) >= age.as_secs());
        Ok(if rotation_due {
            Step::Renew
        } else {
            self.touch_step(record, now)
        })
    }

    /// The answer to a request whose check writes nothing: for [`Step::Touch`] and
    /// [`Step::Renew`], the answer when the write is skipped.
    pub(crate) fn answer(
        &self,
        step: Step,
        record: &Arc<SessionRecord>,
        now: u64,
    ) -> Authenticated {
        match step {
            Step::Replaced => Authenticated {
                user: CurrentUser::of_successor(record.clone()),
                new_token: None,
            },
            Step::Adopt => self.adopt(record, now),
            _ => Authenticated::as_is(record),
        }
    }

    /// The answer to a request that came with the Cognito token its session just replaced:
    /// it goes through, as the user, and gets the current token.
    pub(crate) fn adopt(&self, record: &Arc<SessionRecord>, now: u64) -> Authenticated {
        let new_token = record.cognito.as_ref().map(|tokens| {
            let cookie = self.set_cookie(tokens.access_token.expose(), record.expires_at, now);
            (tokens.access_token.clone(), cookie)
        });
        Authenticated {
            user: CurrentUser::of(record.clone()),
            new_token,
        }
    }

    /// Gives an opaque session a new token. The new record is written first and the old one
    /// shortened second, so a failure between the two leaves the old session as it was.
    /// `None` when another request rotated first or the store failed: the request then goes
    /// on with the token it has.
    async fn rotate(&self, old: &SessionRecord, now: u64) -> Option<Authenticated> {
        let config = &self.inner.config;
        let store = &self.inner.store;
        let token = new_opaque_token().ok()?;
        let hash = TokenHash::of(&token);
        let grace_end = now + config.grace_period.as_secs();
        let new = SessionRecord {
            key: hash.to_hex(),
            token_hash: hash,
            previous_token_hash: Some(old.token_hash),
            previous_valid_until: Some(grace_end),
            successor: None,
            last_seen_at: now,
            refreshed_at: now,
            expires_at: self.expiry(old.created_at, now),
            version: 0,
            ..old.clone()
        };
        if let Err(e) = store.create(&new, now).await {
            tracing::warn!(error = %e, "session rotation skipped: new record not written");
            return None;
        }
        let retired = SessionRecord {
            successor: Some(new.key.clone()),
            expires_at: old.expires_at.min(grace_end),
            version: old.version + 1,
            ..old.clone()
        };
        match store.update(&retired, old.version).await {
            Ok(()) => {
                tracing::debug!(session = %new.key, "session token rotated");
                let cookie = self.set_cookie(&token, new.expires_at, now);
                Some(Authenticated {
                    user: user_of(&new),
                    new_token: Some((Secret::new(token), cookie)),
                })
            }
            Err(e) => {
                // A conflict or a timeout can hide our own write (an SDK retry of a write that
                // landed): undoing the new record then would strand the client.
                if let Ok(Some(current)) = store.load(&old.key, now).await
                    && current.successor.as_deref() == Some(new.key.as_str())
                {
                    let cookie = self.set_cookie(&token, new.expires_at, now);
                    return Some(Authenticated {
                        user: user_of(&new),
                        new_token: Some((Secret::new(token), cookie)),
                    });
                }
                if !matches!(e, StoreError::Conflict) {
                    tracing::warn!(error = %e, "session rotation skipped: old record not retired");
                }
                let _ = store.delete(&new.key).await;
                None
            }
        }
    }

    /// [`Step::Good`], or [`Step::Touch`] when the session is due for one.
    pub(crate) fn touch_step(&self, record: &SessionRecord, now: u64) -> Step {
        let config = &self.inner.config;
        let due = config.idle_timeout.is_some()
            && now.saturating_sub(record.last_seen_at) >= config.touch_interval.as_secs();
        if due { Step::Touch } else { Step::Good }
    }

    /// Slides the idle expiry of a session due for it ([`Step::Touch`]). Best effort: a failed
    /// touch costs the session at most one interval of idle time, so the request goes on.
    pub(crate) async fn touched(&self, record: &Arc<SessionRecord>, now: u64) -> Authenticated {
        let expires_at = self.expiry(record.created_at, now);
        if let Err(e) = self
            .inner
            .store
            .touch(&record.key, record.version, now, expires_at)
            .await
        {
            tracing::debug!(error = %e, session = %record.key, "touch skipped");
        }
        Authenticated::as_is(record)
    }

    /// When a session created at `created_at` and last seen at `seen` expires.
    pub(crate) fn expiry(&self, created_at: u64, seen: u64) -> u64 {
        let config = &self.inner.config;
        let absolute = created_at.saturating_add(config.lifetime.as_secs());
        match config.idle_timeout {
            Some(idle) => absolute.min(seen.saturating_add(idle.as_secs())),
            None => absolute,
        }
    }

    /// Whether a record is live by this manager's lifetimes (the store only knows
    /// `expires_at`, which may have been written under other settings).
    pub(crate) fn is_live(&self, record: &SessionRecord, now: u64) -> bool {
        now < record.expires_at && now < self.expiry(record.created_at, record.last_seen_at)
    }

    /// A `Set-Cookie` for `token`, living until `expires_at`.
    pub(crate) fn set_cookie(&self, token: &str, expires_at: u64, now: u64) -> HeaderValue {
        let max_age = Duration::from_secs(expires_at.saturating_sub(now));
        self.inner.config.cookie.set(token, max_age)
    }

    /// A `Set-Cookie` that removes the session cookie, for log-out handlers.
    pub fn removal_cookie(&self) -> HeaderValue {
        self.inner.removal_cookie.clone()
    }
}

/// The user of a record that is not shared yet (without its secrets, see [`CurrentUser`]).
pub(crate) fn user_of(record: &SessionRecord) -> CurrentUser {
    CurrentUser::of(Arc::new(SessionRecord {
        cognito: None,
        ..record.clone()
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, UNIX_EPOCH};

    use async_trait::async_trait;

    use super::*;
    use crate::MemoryStore;

    /// A `MemoryStore` (the table) seen through one of its two doors: `load_now` only (its
    /// `load` is an outage), or `load` only (it never answers at once, like a remote store).
    /// `memory`, when set, answers `load_now` in the table's place: a cache lagging behind.
    struct OneDoor {
        store: Arc<MemoryStore>,
        now_only: bool,
        memory: Option<MemoryStore>,
    }

    #[async_trait]
    impl SessionStore for OneDoor {
        async fn create(&self, record: &SessionRecord, now: u64) -> Result<(), StoreError> {
            self.store.create(record, now).await
        }
        async fn load(&self, key: &str, now: u64) -> Result<Option<SessionRecord>, StoreError> {
            if self.now_only {
                return Err(StoreError::Unavailable("load called (test)".into()));
            }
            self.store.load(key, now).await
        }
        fn load_now(&self, key: &str, now: u64) -> Option<Option<Arc<SessionRecord>>> {
            match &self.memory {
                Some(memory) => memory.load_now(key, now),
                None if self.now_only => self.store.load_now(key, now),
                None => None,
            }
        }
        async fn update(&self, record: &SessionRecord, version: u64) -> Result<(), StoreError> {
            self.store.update(record, version).await
        }
        async fn touch(
            &self,
            key: &str,
            version: u64,
            seen: u64,
            exp: u64,
        ) -> Result<(), StoreError> {
            self.store.touch(key, version, seen, exp).await
        }
        async fn delete(&self, key: &str) -> Result<bool, StoreError> {
            self.store.delete(key).await
        }
        async fn delete_user(&self, username: &str) -> Result<usize, StoreError> {
            self.store.delete_user(username).await
        }
    }

    const T0: u64 = 1_800_000_000;

    /// Two managers on one store: one that may only answer at once, one that only awaits.
    fn managers(config: SessionConfig) -> (SessionManager, SessionManager, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(T0));
        let clock = now.clone();
        let config = config
            .with_clock(move || UNIX_EPOCH + Duration::from_secs(clock.load(Ordering::SeqCst)));
        let store = Arc::new(MemoryStore::new());
        let door = |now_only| OneDoor {
            store: store.clone(),
            now_only,
            memory: None,
        };
        (
            SessionManager::new(door(true), config.clone()).unwrap(),
            SessionManager::new(door(false), config).unwrap(),
            now,
        )
    }

    #[tokio::test]
    async fn a_memory_lagging_behind_the_table_may_not_refuse_a_request() {
        let table = Arc::new(MemoryStore::new());
        let lagging = OneDoor {
            store: table.clone(),
            now_only: false,
            // It has not seen the session that is about to be created.
            memory: Some(MemoryStore::new()),
        };
        let manager = SessionManager::new(lagging, SessionConfig::default()).unwrap();
        let session = manager.create("alice").await.unwrap();
        let token = session.token.expose();
        assert!(
            manager
                .authenticate_now(token, TokenSource::Bearer)
                .is_none(),
            "not decided from memory"
        );
        assert_eq!(
            manager.authenticate(token).await.unwrap().user,
            session.user
        );
    }

    /// What an answer says, in a comparable form.
    fn summary(outcome: &Result<Authenticated, AuthError>) -> String {
        match outcome {
            Ok(auth) => format!("{:?} new token: {}", auth.user, auth.new_token.is_some()),
            Err(e) => format!("{e}"),
        }
    }

    #[tokio::test]
    async fn steady_state_is_decided_without_awaiting_the_store() {
        let (at_once, _, _) = managers(SessionConfig::default());
        let session = at_once.create("alice").await.unwrap();
        let answer = at_once
            .authenticate_now(session.token.expose(), TokenSource::Bearer)
            .expect("decided at once");
        assert_eq!(answer.unwrap().user.username(), "alice");
        // So does the layer: the store's `load` would have been an outage (503).
        let layer = crate::SessionLayer::new(at_once);
        let service = tower_layer::Layer::layer(
            &layer,
            tower::service_fn(|request: http::Request<()>| async move {
                let user = request.extensions().get::<CurrentUser>();
                let key = user.map(|u| u.session_key().to_owned());
                Ok::<_, std::convert::Infallible>(http::Response::new(key.unwrap_or_default()))
            }),
        );
        let request = http::Request::builder()
            .header(
                "authorization",
                format!("Bearer {}", session.token.expose()),
            )
            .body(())
            .unwrap();
        let response = tower::ServiceExt::oneshot(service, request).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(response.into_body(), session.user.session_key());
    }

    #[tokio::test]
    async fn a_write_that_is_due_is_left_to_the_awaited_check() {
        let config = SessionConfig::default()
            .with_idle_timeout(Some(Duration::from_secs(7200)))
            .with_touch_interval(Duration::from_secs(60))
            .with_rotation(Some(Duration::from_secs(3600)));
        let (at_once, awaited, now) = managers(config);
        let token = at_once.create("alice").await.unwrap().token;
        let token = token.expose();
        now.fetch_add(61, Ordering::SeqCst);
        assert!(
            at_once
                .authenticate_now(token, TokenSource::Bearer)
                .is_none(),
            "touch due"
        );
        awaited.authenticate(token).await.unwrap();
        assert!(
            at_once
                .authenticate_now(token, TokenSource::Bearer)
                .is_some(),
            "touched"
        );
        now.fetch_add(3600, Ordering::SeqCst);
        assert!(
            at_once
                .authenticate_now(token, TokenSource::Cookie)
                .is_none(),
            "rotation due"
        );
    }

    #[tokio::test]
    async fn answers_at_once_are_the_answers_awaited() {
        let config = SessionConfig::default()
            .with_lifetime(Duration::from_secs(7200))
            .with_rotation(Some(Duration::from_secs(600)))
            .with_grace_period(Duration::from_secs(30));
        let (at_once, awaited, now) = managers(config);
        let alice = at_once.create("alice").await.unwrap().token;
        let bob = at_once.create("bob").await.unwrap().token;
        let ended = at_once.create("carol").await.unwrap();
        awaited.delete(ended.user.session_key()).await.unwrap();
        now.fetch_add(601, Ordering::SeqCst);
        // Bob's cookie token is rotated; his old one is in its grace period.
        let rotated = awaited
            .authenticate_from(bob.expose(), TokenSource::Cookie)
            .await
            .unwrap();
        let (new_bob, _) = rotated.new_token.expect("rotated");

        let tokens = [
            alice.expose(),
            bob.expose(),
            new_bob.expose(),
            ended.token.expose(),
            "not a token",
            "A".repeat(43).leak(),
        ];
        let compare = |label: &str| {
            for token in tokens {
                let awaited = futures_now(awaited.authenticate(token));
                match at_once.authenticate_now(token, TokenSource::Bearer) {
                    Some(answer) => {
                        assert_eq!(summary(&answer), summary(&awaited), "{label}: {token:.8}…")
                    }
                    // Only an awaited read turns a request away.
                    None => assert!(
                        matches!(awaited, Err(AuthError::Invalid(InvalidReason::NotFound))),
                        "{label}: {token:.8}…: {}",
                        summary(&awaited)
                    ),
                }
            }
        };
        compare("within the grace period");
        now.fetch_add(31, Ordering::SeqCst);
        compare("after it");
        now.fetch_add(7200, Ordering::SeqCst);
        compare("after the lifetime");
    }

    /// The output of a future that is ready on its first poll (the memory store's are).
    fn futures_now<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("the memory store made a future wait"),
        }
    }
}
