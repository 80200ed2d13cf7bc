//! A user's sessions, found through the username index:
//! [`delete_user`](SessionStore::delete_user), which also follows the rotations' successors
//! the index may not list yet, and [`list_user`](SessionStore::list_user).

use std::collections::HashSet;

use tokio::task::JoinSet;

use super::error::backend;
use super::item::Fields;
use super::{DynamoDbStore, attr};
#[cfg(doc)]
use crate::SessionStore;
use crate::store::StoreError;

/// The most keys one `BatchGetItem` may ask for (DynamoDB's limit).
const BATCH_GET: usize = 100;

/// How many times keys DynamoDB left unprocessed (throttling) are asked for again.
const BATCH_GET_ATTEMPTS: usize = 4;

/// How many deletes are in flight at once: BatchWriteItem's own limit, which this replaces.
const IN_FLIGHT: usize = 25;

/// Each successor lives a grace period at most, so a chain is short; the bound is against a
/// cycle a corrupted table could hold.
const MAX_CHAIN: usize = 8;

impl DynamoDbStore {
    /// The user's live sessions: the index's keys (a `Query`, keys only), then the items
    /// themselves, read consistently (`BatchGetItem`, 100 at a time) and checked as every
    /// read is (decrypted, the MAC verified). The index's projection is not used for the
    /// list itself: it holds no MAC, so it could not be trusted.
    pub(super) async fn sessions_of(
        &self,
        username: &str,
        now: u64,
    ) -> Result<Vec<crate::SessionRecord>, StoreError> {
        let pk = &self.table.partition_key;
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let page = self.page_of_user(username, start).await?;
            for item in page.items() {
                keys.push(Fields(item).required(pk, Fields::string)?.to_owned());
            }
            start = page.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                break;
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let mut records = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET) {
            for item in self.get_all(chunk).await? {
                if let Some(record) = self.session(&item)?
                    && record.username == username
                    && record.expires_at > now
                {
                    records.push(record);
                }
            }
        }
        Ok(records)
    }

    /// The items under `keys` (at most [`BATCH_GET`]), read consistently; keys DynamoDB
    /// leaves unprocessed are asked for again a few times, then the call fails.
    async fn get_all(&self, keys: &[String]) -> Result<Vec<super::item::Item>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;

        let mut wanted: Vec<super::item::Item> = keys
            .iter()
            .map(|key| std::iter::once(self.key_of(key)).collect())
            .collect();
        let mut items = Vec::with_capacity(keys.len());
        for attempt in 0..BATCH_GET_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(wanted))
                .consistent_read(true)
                .build()
                .map_err(backend)?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table.name, request)
                .send()
                .await
                .map_err(|e| super::error::sdk_error("BatchGetItem", e))?;
            if let Some(mut found) = output.responses
                && let Some(found) = found.remove(&self.table.name)
            {
                items.extend(found);
            }
            wanted = output
                .unprocessed_keys
                .and_then(|mut left| left.remove(&self.table.name))
                .map(|left| left.keys)
                .unwrap_or_default();
            if wanted.is_empty() {
                return Ok(items);
            }
        }
        Err(StoreError::Unavailable(
            "DynamoDB BatchGetItem: keys left unprocessed after retries (throttled)".into(),
        ))
    }

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
