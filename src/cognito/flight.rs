//! One refresh per session at a time in this process.
//!
//! Each session key being refreshed has an async mutex. The first request takes it and calls
//! Cognito; the others queue on it, and once they hold it they take the record the leader
//! wrote (or learn that the leader's attempt just failed, and don't call Cognito again for
//! it), without reading the session again. The map only holds weak references, so a key's
//! entry, and the record it keeps, go when its last request does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use crate::SessionRecord;

/// What the last refresh attempt of a session left for the requests queued behind it.
#[derive(Default)]
pub(crate) struct Flight {
    /// When the last attempt failed without a verdict (Cognito or the store unavailable).
    pub(crate) failed_at: Option<Instant>,
    /// When the last attempt succeeded, and the record that holds the session's tokens since.
    pub(crate) refreshed: Option<(Instant, Arc<SessionRecord>)>,
}

/// The per-session locks.
#[derive(Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<String, Weak<tokio::sync::Mutex<Flight>>>>,
}

impl Flights {
    /// The lock of session `key`, shared by every request refreshing it now.
    pub(crate) fn get(&self, key: &str) -> Arc<tokio::sync::Mutex<Flight>> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(flight) = map.get(key).and_then(Weak::upgrade) {
            return flight;
        }
        // Sweep dead entries now and then, keeping the map about as large as the number of
        // sessions refreshing at this moment; amortised O(1) per call.
        if map.len() >= 64 && map.len().is_power_of_two() {
            map.retain(|_, flight| flight.strong_count() > 0);
        }
        let flight = Arc::new(tokio::sync::Mutex::new(Flight::default()));
        map.insert(key.to_owned(), Arc::downgrade(&flight));
        flight
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_lock_per_key_while_in_use() {
        let flights = Flights::default();
        let a = flights.get("a");
        assert!(Arc::ptr_eq(&a, &flights.get("a")));
        assert!(!Arc::ptr_eq(&a, &flights.get("b")));
        drop(a);
        let fresh = flights.get("a");
        assert_eq!(Arc::strong_count(&fresh), 1);
    }

    #[test]
    fn dead_entries_are_swept() {
        let flights = Flights::default();
        for i in 0..10_000 {
            drop(flights.get(&i.to_string()));
        }
        assert!(flights.len() <= 128, "{}", flights.len());
    }
}
