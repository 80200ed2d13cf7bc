//! Where sessions live: the [`SessionStore`] trait and its implementations.
//!
//! Every store behaves like a DynamoDB table with conditional writes: two processes sharing
//! a table can race, and the store's answer ([`StoreError::Conflict`]) decides who won.
//! Every store here passes one conformance suite, `conformance` (feature `test-util`), which
//! other stores can run too.

use std::error::Error as StdError;
use std::sync::Arc;

use async_trait::async_trait;

mod cached;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod conformance;
#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
pub mod dynamodb;
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod intercept;
mod memory;

pub use self::cached::CachedStore;
pub use self::memory::MemoryStore;
pub use crate::session::{
    CognitoTokens, LoginMethod, ParseSessionIdError, PreviousToken, SessionId, SessionRecord,
    TokenHash,
};

/// A boxed error from a store's backend.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A conditional write lost: the record exists already (create), or it changed or
    /// disappeared since it was read (update, touch).
    #[error("the session changed since it was read")]
    Conflict,
    /// The backend can't be reached, timed out, or throttled us. The layer answers 503 and
    /// changes nothing.
    #[error("session store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The backend answered with something the store can't use (a malformed item, a missing
    /// table). Also answered with 503: it is not the client's fault.
    #[error("session store error: {0}")]
    Backend(#[source] BoxError),
}

/// What [`SessionStore::load_now`] can tell without waiting.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadNow {
    /// The store can't tell without waiting: the caller must await
    /// [`load`](SessionStore::load). Always a correct answer.
    Unknown,
    /// The store knows there is no live record under the key.
    Absent,
    /// The record, shared rather than copied.
    Found(Arc<SessionRecord>),
}

/// Storage for [`SessionRecord`]s.
///
/// The trait is object-safe (through `async_trait`) so that [`SessionManager`](crate::SessionManager)
/// and [`SessionLayer`](crate::SessionLayer) are plain types rather than generic over the
/// store: the store is picked at run time (memory or DynamoDB, from the environment), and one
/// boxed future per call costs nothing next to a network round trip.
///
/// `now` arguments are seconds since the Unix epoch, from the manager's clock.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new record. [`StoreError::Conflict`] if one with the same key exists and has
    /// not expired.
    async fn create(&self, record: &SessionRecord, now: u64) -> Result<(), StoreError>;

    /// The record for `key`, or `None` if there is none or it expired (`expires_at <= now`),
    /// whether or not the backend deleted it yet. Reads are strongly consistent.
    async fn load(&self, key: &str, now: u64) -> Result<Option<SessionRecord>, StoreError>;

    /// The record for `key`, if the store can tell without waiting (it keeps the records, or
    /// a cache of them, in this process); [`LoadNow::Unknown`] if it can't. The answer may
    /// lag behind what [`load`](Self::load) would answer by a bounded time.
    ///
    /// [`SessionLayer`](crate::SessionLayer) asks this first on every request: a request
    /// answered from memory then costs no future, no allocation for one, and no poll. The
    /// answer may lag behind the backend by a bounded time (a read cache such as
    /// [`CachedStore`] does): the layer lets a request through on it,
    /// but turns a request away only on what `load` answers, so today only
    /// [`LoadNow::Found`] changes what it does. The default answers [`LoadNow::Unknown`],
    /// which is always correct.
    fn load_now(&self, key: &str, now: u64) -> LoadNow {
        let _ = (key, now);
        LoadNow::Unknown
    }

    /// Replaces the record with `record.key` if its version is still `expected_version`;
    /// otherwise [`StoreError::Conflict`]. This is how tokens are replaced (rotation,
    /// refresh): `record.version` is `expected_version + 1`.
    async fn update(&self, record: &SessionRecord, expected_version: u64)
    -> Result<(), StoreError>;

    /// Sets `last_seen_at` and `expires_at` of the record under `record.key` to `record`'s, if
    /// its version is still `record.version`, without changing the version (a touch must not
    /// make a concurrent refresh lose). [`StoreError::Conflict`] if the record changed or is
    /// gone.
    ///
    /// `record` is the record as read, with those two times changed: every other field is
    /// what the store holds at that version. A store that signs its rows
    /// (as the DynamoDB store does) signs it again from them.
    async fn touch(&self, record: &SessionRecord) -> Result<(), StoreError>;

    /// Deletes the record and returns it (expired or not); `None` if there was none.
    ///
    /// What was deleted, rather than what a read before the delete saw, is what tells a
    /// log-out which rotation's successor to end too.
    async fn take(&self, key: &str) -> Result<Option<SessionRecord>, StoreError>;

    /// Deletes the record; whether there was one.
    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.take(key).await?.is_some())
    }

    /// Deletes the record if its version is still `version`; otherwise
    /// [`StoreError::Conflict`] (a missing record included). How a session that was read as
    /// over is ended without wiping a write that landed since (another instance's refresh).
    async fn delete_version(&self, key: &str, version: u64) -> Result<(), StoreError>;

    /// Deletes every record of `username`; how many were deleted.
    async fn delete_user(&self, username: &str) -> Result<usize, StoreError>;

    /// Every record of `username` that has not expired (`expires_at > now`), in no
    /// particular order: what a list of the user's sessions is made from. Records a rotation
    /// replaced (with a `successor`) are among them; what they mean is the manager's
    /// business.
    ///
    /// Like [`delete_user`](Self::delete_user), a store may find the records through an
    /// index that lags behind (the DynamoDB store's does): a session logged in a moment ago
    /// may be missing. Each record it returns was read as it is now.
    async fn list_user(&self, username: &str, now: u64) -> Result<Vec<SessionRecord>, StoreError>;
}

#[async_trait]
impl<T: SessionStore + ?Sized> SessionStore for Arc<T> {
    async fn create(&self, record: &SessionRecord, now: u64) -> Result<(), StoreError> {
        (**self).create(record, now).await
    }
    async fn load(&self, key: &str, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        (**self).load(key, now).await
    }
    fn load_now(&self, key: &str, now: u64) -> LoadNow {
        (**self).load_now(key, now)
    }
    async fn update(
        &self,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        (**self).update(record, expected_version).await
    }
    async fn touch(&self, record: &SessionRecord) -> Result<(), StoreError> {
        (**self).touch(record).await
    }
    async fn take(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        (**self).take(key).await
    }
    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        (**self).delete(key).await
    }
    async fn delete_version(&self, key: &str, version: u64) -> Result<(), StoreError> {
        (**self).delete_version(key, version).await
    }
    async fn delete_user(&self, username: &str) -> Result<usize, StoreError> {
        (**self).delete_user(username).await
    }
    async fn list_user(&self, username: &str, now: u64) -> Result<Vec<SessionRecord>, StoreError> {
        (**self).list_user(username, now).await
    }
}
