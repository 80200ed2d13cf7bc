//! The rules both token kinds share: whether a session is live, when it expires, when it
//! is due for a touch, and what a request is answered once its session was read.
//!
//! `opaque` and `cognito` each find the session their token names and say what it means
//! ([`Step`]); from there on the answer is the same. Nothing here knows either kind.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

use crate::store::SessionStore;
use crate::{AuthError, ConfigError, CurrentUser, Secret, SessionConfig, SessionRecord};

/// A request's token, checked.
#[derive(Debug)]
#[non_exhaustive]
pub struct Authenticated {
    /// Who the token belongs to.
    pub user: CurrentUser,
    /// A new token the client must use from now on (rotation, refresh, or a token another
    /// request refreshed), if there is one.
    pub new_token: Option<NewToken>,
    /// A Cognito session's record as stored, tokens and all, for the layer to hand the
    /// [`AccessToken`](crate::extract::AccessToken) extractor; never shown to the caller.
    pub(crate) cognito: Option<Arc<SessionRecord>>,
}

/// A token that replaced the one a request came with, and the `Set-Cookie` carrying it.
#[derive(Debug)]
#[non_exhaustive]
pub struct NewToken {
    /// The token the client must send from now on.
    pub token: Secret,
    /// A `Set-Cookie` value carrying it, for clients that use the cookie.
    pub set_cookie: HeaderValue,
}

impl Authenticated {
    /// The session's user, with the token the request came with.
    pub(crate) fn as_is(record: &Arc<SessionRecord>) -> Self {
        Self {
            user: CurrentUser::from_record(record.clone()),
            new_token: None,
            cognito: cognito_record(record),
        }
    }
}

/// `record`, shared, if it holds Cognito tokens.
fn cognito_record(record: &Arc<SessionRecord>) -> Option<Arc<SessionRecord>> {
    record.cognito.is_some().then(|| record.clone())
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
    #[cfg(feature = "cognito")]
    Adopt,
    /// The token is good, and its session is due for a touch.
    Touch,
    /// The token is good, and due for a new one: rotation (opaque) or refresh (Cognito).
    Renew,
}

/// The store and the settings every check works with.
pub(crate) struct Check {
    store: Arc<dyn SessionStore>,
    config: SessionConfig,
    /// The same for every response that removes the cookie, so it is built once.
    removal_cookie: HeaderValue,
}

impl Check {
    pub(crate) fn new(
        store: impl SessionStore,
        config: SessionConfig,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            store: Arc::new(crate::observe::Observed(store)),
            removal_cookie: config.cookie.removal(),
            config,
        })
    }

    pub(crate) fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub(crate) fn store(&self) -> &dyn SessionStore {
        &*self.store
    }

    /// Now, in epoch seconds, by the configured clock.
    pub(crate) fn now(&self) -> u64 {
        self.config.now()
    }

    /// When a session created at `created_at` and last seen at `seen` expires.
    pub(crate) fn expiry(&self, created_at: u64, seen: u64) -> u64 {
        let absolute = created_at.saturating_add(self.config.lifetime.as_secs());
        match self.config.idle_timeout {
            Some(idle) => absolute.min(seen.saturating_add(idle.as_secs())),
            None => absolute,
        }
    }

    /// Whether a record is live by these lifetimes (the store only knows `expires_at`,
    /// which may have been written under other settings).
    pub(crate) fn is_live(&self, record: &SessionRecord, now: u64) -> bool {
        now < record.expires_at && now < self.expiry(record.created_at, record.last_seen_at)
    }

    /// The live record stored under `key`.
    pub(crate) async fn load_live(
        &self,
        key: &str,
        now: u64,
    ) -> Result<Option<SessionRecord>, crate::StoreError> {
        Ok(self
            .store
            .load(key, now)
            .await?
            .filter(|r| self.is_live(r, now)))
    }

    /// [`Step::Good`], or [`Step::Touch`] when the session is due for one.
    pub(crate) fn touch_step(&self, record: &SessionRecord, now: u64) -> Step {
        let due = self.config.idle_timeout.is_some()
            && now.saturating_sub(record.last_seen_at) >= self.config.touch_interval.as_secs();
        if due { Step::Touch } else { Step::Good }
    }

    /// Slides the idle expiry of a session due for it ([`Step::Touch`]). Best effort: a failed
    /// touch costs the session at most one interval of idle time, so the request goes on.
    pub(crate) async fn touched(&self, record: &Arc<SessionRecord>, now: u64) -> Authenticated {
        let touched = SessionRecord {
            last_seen_at: now,
            expires_at: self.expiry(record.created_at, now),
            ..SessionRecord::clone(record)
        };
        if let Err(e) = self.store.touch(&touched).await {
            tracing::debug!(error = %e, session = %record.key, "touch skipped");
        }
        Authenticated::as_is(record)
    }

    /// The answer to a request whose check writes nothing: for [`Step::Touch`] and
    /// [`Step::Renew`], the answer when the write is skipped.
    #[cfg_attr(not(feature = "cognito"), allow(unused_variables))]
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
                cognito: cognito_record(record),
            },
            #[cfg(feature = "cognito")]
            Step::Adopt => self.adopt(record, now),
            _ => Authenticated::as_is(record),
        }
    }

    /// The answer to a request checked against a record from the store's memory, if that
    /// check lets it through with nothing to write. A refusal, or a touch, rotation or
    /// refresh that is due, is `None`: left to an awaited read of the store, since a memory
    /// may lag behind the table it stands for.
    ///
    /// The record is handed over rather than shared: the usual answer keeps it as the user,
    /// with no second count on a record that many threads may be reading at once.
    pub(crate) fn granted_from_memory(
        &self,
        step: Result<Step, AuthError>,
        record: Arc<SessionRecord>,
        now: u64,
    ) -> Option<Authenticated> {
        match step {
            Ok(Step::Touch | Step::Renew) | Err(_) => None,
            Ok(Step::Good) => Some(Authenticated {
                cognito: cognito_record(&record),
                user: CurrentUser::from_record(record),
                new_token: None,
            }),
            Ok(step) => Some(self.answer(step, &record, now)),
        }
    }

    /// The answer to a request that came with the Cognito token its session just replaced:
    /// it goes through, as the user, and gets the current token.
    #[cfg(feature = "cognito")]
    pub(crate) fn adopt(&self, record: &Arc<SessionRecord>, now: u64) -> Authenticated {
        let new_token = record
            .cognito
            .as_ref()
            .map(|tokens| self.new_token(tokens.access_token.clone(), record.expires_at, now));
        Authenticated {
            user: CurrentUser::from_record(record.clone()),
            new_token,
            cognito: cognito_record(record),
        }
    }

    /// `token`, with the `Set-Cookie` that carries it until `expires_at`.
    pub(crate) fn new_token(&self, token: Secret, expires_at: u64, now: u64) -> NewToken {
        NewToken {
            set_cookie: self.set_cookie(token.expose(), expires_at, now),
            token,
        }
    }

    /// A `Set-Cookie` for `token`, living until `expires_at`.
    pub(crate) fn set_cookie(&self, token: &str, expires_at: u64, now: u64) -> HeaderValue {
        let max_age = Duration::from_secs(expires_at.saturating_sub(now));
        self.config.cookie.set(token, max_age)
    }

    /// A `Set-Cookie` that removes the session cookie.
    pub(crate) fn removal_cookie(&self) -> &HeaderValue {
        &self.removal_cookie
    }
}
