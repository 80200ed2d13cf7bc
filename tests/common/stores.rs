//! Stores wrapped for tests: one that counts calls, one that is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use cognito_session::store::StoreError;
use cognito_session::store::intercept::{Call, Intercepted, Interceptor};

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
pub type Faulty<S> = Intercepted<S, Faults>;

/// What [`Faulty`] does around the calls of its store.
pub struct Faults {
    pub down: Arc<AtomicBool>,
    pub counts: Counts,
    /// The next `update` is applied, then reported as a timeout: the answer an SDK gives
    /// when the connection drops after DynamoDB wrote.
    pub lie: Arc<AtomicBool>,
}

/// `inner`, made [`Faulty`]; its switch, and its counters.
pub fn faulty<S>(inner: S) -> (Faulty<S>, Arc<AtomicBool>, Counts) {
    let down = Arc::new(AtomicBool::new(false));
    let counts = Counts::default();
    let faults = Faults {
        down: down.clone(),
        counts: counts.clone(),
        lie: Arc::default(),
    };
    (Intercepted::new(inner, faults), down, counts)
}

#[async_trait]
impl Interceptor for Faults {
    async fn before(&self, call: Call<'_>) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("store is down (test)".into()));
        }
        let count = if call.is_write() {
            &self.counts.writes
        } else {
            &self.counts.loads
        };
        count.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn after(&self, call: Call<'_>, succeeded: bool) -> Result<(), StoreError> {
        if matches!(call, Call::Update { .. })
            && succeeded
            && self.lie.swap(false, Ordering::SeqCst)
        {
            return Err(StoreError::Unavailable(
                "timed out after the write landed (test)".into(),
            ));
        }
        Ok(())
    }
}
