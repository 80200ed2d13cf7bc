//! A store with hooks around its calls, for tests of the code that uses it.
//!
//! [`Intercepted`] forwards every call to the store inside it, and lets an [`Interceptor`]
//! act before and after each one: fail it (an outage), delay it (a slow table), hold it until
//! the test lets it go (two calls interleaved in a chosen order), count it, or answer an error
//! although the store did the work (a write whose answer was lost on the way back).
//!
//! ```
//! use std::sync::atomic::{AtomicBool, Ordering};
//!
//! use async_trait::async_trait;
//! use cognito_session::store::intercept::{Call, Intercepted, Interceptor};
//! use cognito_session::{AuthError, SessionConfig, SessionManager};
//! use cognito_session::store::{MemoryStore, StoreError};
//!
//! /// A switch that takes the store down.
//! #[derive(Default)]
//! struct Outage(AtomicBool);
//!
//! #[async_trait]
//! impl Interceptor for Outage {
//!     async fn before(&self, _call: Call<'_>) -> Result<(), StoreError> {
//!         if self.0.load(Ordering::SeqCst) {
//!             return Err(StoreError::Unavailable("the table is down (test)".into()));
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = std::sync::Arc::new(Intercepted::new(MemoryStore::new(), Outage::default()));
//! let sessions = SessionManager::new(store.clone(), SessionConfig::default()).unwrap();
//! let session = sessions.create("alice").await.unwrap();
//!
//! // The table goes down: the session is not invalid, it can't be checked (a 503, not a 401).
//! store.interceptor().0.store(true, Ordering::SeqCst);
//! let outcome = sessions.authenticate(session.token.expose()).await;
//! assert!(matches!(outcome, Err(AuthError::Unavailable(_))));
//! # });
//! ```

use async_trait::async_trait;

use crate::SessionRecord;
use crate::store::{LoadNow, SessionStore, StoreError};

/// One call of [`SessionStore`], with its arguments, as an [`Interceptor`] sees it.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Call<'a> {
    /// [`SessionStore::create`].
    Create {
        /// The record to store.
        record: &'a SessionRecord,
        /// The caller's clock.
        now: u64,
    },
    /// [`SessionStore::load`].
    Load {
        /// The session key.
        key: &'a str,
        /// The caller's clock.
        now: u64,
    },
    /// [`SessionStore::update`].
    Update {
        /// The record to store.
        record: &'a SessionRecord,
        /// The version the stored record must still have.
        expected_version: u64,
    },
    /// [`SessionStore::touch`].
    Touch {
        /// The record with its new `last_seen_at` and `expires_at`, at the version the
        /// stored record must still have.
        record: &'a SessionRecord,
    },
    /// [`SessionStore::take`] (which [`SessionStore::delete`] calls).
    Delete {
        /// The session key.
        key: &'a str,
    },
    /// [`SessionStore::delete_version`].
    DeleteVersion {
        /// The session key.
        key: &'a str,
        /// The version the stored record must still have.
        version: u64,
    },
    /// [`SessionStore::delete_user`].
    DeleteUser {
        /// The user whose sessions go.
        username: &'a str,
    },
    /// [`SessionStore::list_user`].
    ListUser {
        /// The user whose sessions are listed.
        username: &'a str,
        /// The caller's clock.
        now: u64,
    },
}

impl Call<'_> {
    /// Whether the call writes (everything but [`Load`](Call::Load)).
    pub fn is_write(&self) -> bool {
        !matches!(self, Call::Load { .. })
    }
}

/// What [`Intercepted`] does around each call of the store inside it. Every method has a
/// default that changes nothing, so an interceptor implements only the hooks it needs.
#[async_trait]
pub trait Interceptor: Send + Sync + 'static {
    /// Runs before `call` reaches the store. An error is the call's answer, and the store is
    /// not called.
    async fn before(&self, call: Call<'_>) -> Result<(), StoreError> {
        let _ = call;
        Ok(())
    }

    /// Runs after the store answered `call`, whether it `succeeded` or not. An error replaces
    /// the store's answer, though the call has happened all the same.
    async fn after(&self, call: Call<'_>, succeeded: bool) -> Result<(), StoreError> {
        let _ = (call, succeeded);
        Ok(())
    }

    /// The store that answers [`SessionStore::load_now`]: `inner` (the store inside) to
    /// forward it, another store (a memory that lags behind `inner`, say), or `None`, the
    /// default: then the wrapper can never answer at once, like a remote store, and every
    /// check through it takes the awaited path.
    fn load_now_from<'a>(&'a self, inner: &'a dyn SessionStore) -> Option<&'a dyn SessionStore> {
        let _ = inner;
        None
    }
}

/// A store that forwards every call to `S`, with `I`'s hooks around each. See the
/// [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct Intercepted<S, I> {
    inner: S,
    interceptor: I,
}

impl<S, I> Intercepted<S, I> {
    /// `inner`, with `interceptor` around its calls.
    pub fn new(inner: S, interceptor: I) -> Self {
        Self { inner, interceptor }
    }

    /// The store inside: calls made on it directly pass no hook.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The interceptor, to flip its switches from the test.
    pub fn interceptor(&self) -> &I {
        &self.interceptor
    }
}

impl<S: SessionStore, I: Interceptor> Intercepted<S, I> {
    /// `call`, which `op` makes on the store inside, between the two hooks.
    async fn around<T>(
        &self,
        call: Call<'_>,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.interceptor.before(call).await?;
        let result = op.await;
        self.interceptor.after(call, result.is_ok()).await?;
        result
    }
}

#[async_trait]
impl<S: SessionStore, I: Interceptor> SessionStore for Intercepted<S, I> {
    async fn create(&self, record: &SessionRecord, now: u64) -> Result<(), StoreError> {
        let call = Call::Create { record, now };
        self.around(call, self.inner.create(record, now)).await
    }

    async fn load(&self, key: &str, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        let call = Call::Load { key, now };
        self.around(call, self.inner.load(key, now)).await
    }

    fn load_now(&self, key: &str, now: u64) -> LoadNow {
        match self.interceptor.load_now_from(&self.inner) {
            Some(store) => store.load_now(key, now),
            None => LoadNow::Unknown,
        }
    }

    async fn update(
        &self,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let call = Call::Update {
            record,
            expected_version,
        };
        self.around(call, self.inner.update(record, expected_version))
            .await
    }

    async fn touch(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.around(Call::Touch { record }, self.inner.touch(record))
            .await
    }

    async fn take(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.around(Call::Delete { key }, self.inner.take(key))
            .await
    }

    async fn delete_version(&self, key: &str, version: u64) -> Result<(), StoreError> {
        let call = Call::DeleteVersion { key, version };
        self.around(call, self.inner.delete_version(key, version))
            .await
    }

    async fn delete_user(&self, username: &str) -> Result<usize, StoreError> {
        let call = Call::DeleteUser { username };
        self.around(call, self.inner.delete_user(username)).await
    }

    async fn list_user(&self, username: &str, now: u64) -> Result<Vec<SessionRecord>, StoreError> {
        let call = Call::ListUser { username, now };
        self.around(call, self.inner.list_user(username, now)).await
    }
}
