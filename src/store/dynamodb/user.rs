//! [`delete_user`](SessionStore::delete_user): every session of a user, found through the
//! username index, and the rotations' successors the index may not list yet.

use std::collections::HashSet;

use tokio::task::JoinSet;

use super::error::backend;
use super::item::Fields;
use super::{DynamoDbStore, attr};
#[cfg(doc)]
use crate::SessionStore;
use crate::store::StoreError;

/// How many deletes are in flight at once: BatchWriteItem's own limit, which this replaces.
const IN_FLIGHT: usize = 25;

/// Each successor lives a grace period at most, so a chain is short; the bound is against a
/// cycle a corrupted table could hold.
const MAX_CHAIN: usize = 8;

impl DynamoDbStore {
    /// Deletes every session the username index lists for `username`, one `DeleteItem` each
    /// (returning the item it removed), and follows each removed item's `successor`: a
    /// rotation retires a session by writing its successor's key into it, and a successor
    /// written less than the index's lag ago is not listed yet. How many items were removed.
    pub(super) async fn delete_sessions_of(&self, username: &str) -> Result<usize, StoreError> {
        let pk = &self.table.partition_key;
        let mut seen = HashSet::new();
        let mut deleted = 0;
        let mut start = None;
        loop {
            let page = self.page_of_user(username, start).await?;
            let mut keys = Vec::with_capacity(page.items().len());
            for item in page.items() {
                let key = Fields(item).required(pk, Fields::string)?;
                if seen.insert(key.to_owned()) {
                    keys.push(key.to_owned());
                }
            }
            let mut wave = keys;
            for _ in 0..=MAX_CHAIN {
                if wave.is_empty() {
                    break;
                }
                let (removed, successors) = self.remove_all(wave).await?;
                deleted += removed;
                wave = successors
                    .into_iter()
                    .filter(|key| seen.insert(key.clone()))
                    .collect();
            }
            start = page.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                return Ok(deleted);
            }
        }
    }

    /// Removes the items under `keys`, [`IN_FLIGHT`] at a time; how many were there, and
    /// their successors. Every delete of a wave runs to its end before an error is returned.
    async fn remove_all(&self, keys: Vec<String>) -> Result<(usize, Vec<String>), StoreError> {
        let mut removed = 0;
        let mut successors = Vec::new();
        let mut failure = None;
        for chunk in keys.chunks(IN_FLIGHT) {
            let mut tasks = JoinSet::new();
            for key in chunk {
                let (store, key) = (self.clone(), key.clone());
                tasks.spawn(async move { store.remove(&key).await });
            }
            while let Some(joined) = tasks.join_next().await {
                match joined.map_err(backend).and_then(|result| result) {
                    Ok(Some(successor)) => {
                        removed += 1;
                        successors.extend(successor);
                    }
                    Ok(None) => {}
                    Err(e) => failure = failure.or(Some(e)),
                }
            }
            if let Some(e) = failure.take() {
                return Err(e);
            }
        }
        Ok((removed, successors))
    }

    /// Deletes the item under `key`: `None` when there was none, else its successor, if it
    /// names one. Like the log-out's chase, a successor is trusted to be the same user's
    /// session: the rotation wrote it into the item, and only it does.
    ///
    /// Only `successor` is read from the removed item, not the whole record: an item this
    /// store can't decrypt is removed all the same.
    async fn remove(&self, key: &str) -> Result<Option<Option<String>>, StoreError> {
        let Some(old) = self.delete_item(key).await? else {
            return Ok(None);
        };
        let successor = Fields(&old).string(attr::SUCCESSOR)?.map(str::to_owned);
        Ok(Some(successor))
    }
}
