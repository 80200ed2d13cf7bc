//! One refresh per session at a time in this process.
//!
//! Each session key being refreshed has an async mutex. The first request takes it and calls
//! Cognito; the others queue on it, and once they hold it they take the record the leader
//! wrote (or learn that the leader's attempt just failed, and don't call Cognito again for
//! it), without reading the session again. The map only holds weak references, so a key's
//! entry, and the record it keeps, go when its last request does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::SessionRecord;

/// What the last refresh attempt of a session left for the requests queued behind it.
#[derive(Default)]
pub(crate) struct Flight {
    /// When the last attempt failed without a verdict (Cognito or the store unavailable).
    pub(crate) failed_at: Option<Instant>,
    /// When the last attempt succeeded, and the record that holds the session's tokens since.
    pub(crate) refreshed: Option<(Instant, Arc<SessionRecord>)>,
}

/// The per-session locks, and the refresh attempts that were abandoned.
#[derive(Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<String, Weak<tokio::sync::Mutex<Flight>>>>,
    /// When each session's refresh attempt in progress started. An attempt whose request
    /// was dropped (the client hung up) never ends, and its entry stays until `cooldown`
    /// has passed: without it, a client that hangs up right after sending each request
    /// would have every request call Cognito anew.
    attempts: Mutex<HashMap<String, Instant>>,
    cooldown: Duration,
}

impl Flights {
    /// Locks for sessions whose abandoned refreshes hold off new ones for `cooldown` (the
    /// longest a call to Cognito may take).
    pub(crate) fn new(cooldown: Duration) -> Self {
        Self {
            cooldown,
            ..Self::default()
        }
    }

    /// Starts a refresh attempt of session `key`: `false` if one was abandoned less than the
    /// cooldown ago. Call [`end_attempt`](Self::end_attempt) once it has an outcome.
    pub(crate) fn begin_attempt(&self, key: &str) -> bool {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if attempts
            .get(key)
            .is_some_and(|started| started.elapsed() < self.cooldown)
        {
            return false;
        }
        if attempts.len() >= 64 && attempts.len().is_power_of_two() {
            attempts.retain(|_, started| started.elapsed() < self.cooldown);
        }
        attempts.insert(key.to_owned(), Instant::now());
        true
    }

    /// The attempt of session `key` ended, whatever its outcome.
    pub(crate) fn end_attempt(&self, key: &str) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        attempts.remove(key);
    }

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
    fn an_abandoned_attempt_holds_off_the_next_for_the_cooldown() {
        let flights = Flights::new(Duration::from_millis(100));
        assert!(flights.begin_attempt("a"));
        flights.end_attempt("a");
        assert!(flights.begin_attempt("a"), "an attempt that ended doesn't");
        // This one is never ended: its request was dropped.
        assert!(!flights.begin_attempt("a"));
        assert!(
            flights.begin_attempt("b"),
            "other sessions are not held off"
        );
        std::thread::sleep(Duration::from_millis(120));
        assert!(flights.begin_attempt("a"), "after the cooldown");
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
