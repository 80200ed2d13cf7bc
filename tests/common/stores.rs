//! Stores wrapped for tests: one that counts calls, one that is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use cognito_session::{SessionRecord, SessionStore, StoreError};

/// Counts the calls that reach a real store.
#[derive(Clone, Default)]
pub struct Counts {
    pub loads: Arc<AtomicUsize>,
    pub writes: Arc<AtomicUsize>,
}

impl Counts {
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }
}

/// A real store with a switch that makes every call fail as an outage would, and counters.
///
/// It doesn't forward `load_now`: it stands for a remote store (an outage of a store in this
/// process's memory can't happen), so every check through it takes the awaited path.
pub struct Faulty<S> {
    pub inner: S,
    pub down: Arc<AtomicBool>,
    pub counts: Counts,
    /// The next `update` is applied, then reported as a timeout: the answer an SDK gives
    /// when the connection drops after DynamoDB wrote.
    pub lie: Arc<AtomicBool>,
}

impl<S> Faulty<S> {
    pub fn new(inner: S) -> (Self, Arc<AtomicBool>, Counts) {
        let down = Arc::new(AtomicBool::new(false));
        let counts = Counts::default();
        (
            Self {
                inner,
                down: down.clone(),
                counts: counts.clone(),
                lie: Arc::default(),
            },
            down,
            counts,
        )
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("store is down (test)".into()))
        } else {
            Ok(())
        }
    }

    fn write(&self) -> Result<(), StoreError> {
        self.check()?;
        self.counts.writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for Faulty<S> {
    async fn create(&self, record: &SessionRecord, now: u64) -> Result<(), StoreError> {
        self.write()?;
        self.inner.create(record, now).await
    }
    async fn load(&self, key: &str, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        self.check()?;
        self.counts.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(key, now).await
    }
    async fn update(
        &self,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        self.write()?;
        let result = self.inner.update(record, expected_version).await;
        if result.is_ok() && self.lie.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "timed out after the write landed (test)".into(),
            ));
        }
        result
    }
    async fn touch(
        &self,
        key: &str,
        version: u64,
        seen: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.inner.touch(key, version, seen, expires_at).await
    }
    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.write()?;
        self.inner.delete(key).await
    }
    async fn delete_user(&self, username: &str) -> Result<usize, StoreError> {
        self.write()?;
        self.inner.delete_user(username).await
    }
}
