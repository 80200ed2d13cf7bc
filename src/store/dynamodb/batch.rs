//! Deleting many items: BatchWriteItem calls of 25, and what DynamoDB leaves unprocessed sent
//! again with backoff.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};

use super::DynamoDbStore;
use super::error::{backend, sdk_error};
use crate::store::StoreError;

/// BatchWriteItem takes at most this many requests.
const BATCH_LIMIT: usize = 25;

/// How BatchWriteItem's `UnprocessedItems` are retried.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    first: Duration,
    max: Duration,
    /// Calls in all, the first one included.
    attempts: u32,
}

/// At most about 3 s of retrying in all: long enough to ride out a partition's throttling, short
/// enough that a log-out-everywhere request gets its 503 while the user still waits.
const BATCH_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(50),
    max: Duration::from_millis(800),
    attempts: 8,
};

impl DynamoDbStore {
    /// Deletes the items under `keys`, 25 to a BatchWriteItem call.
    pub(super) async fn delete_all(&self, keys: &[&str]) -> Result<(), StoreError> {
        for chunk in keys.chunks(BATCH_LIMIT) {
            let requests = chunk
                .iter()
                .map(|key| {
                    let (pk, value) = self.key_of(key);
                    let delete = DeleteRequest::builder()
                        .key(pk, value)
                        .build()
                        .map_err(backend)?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            write_all(requests, BATCH_BACKOFF, |batch| self.batch_write(batch)).await?;
        }
        Ok(())
    }

    /// One BatchWriteItem call; what DynamoDB left unprocessed.
    async fn batch_write(&self, batch: Vec<WriteRequest>) -> Result<Vec<WriteRequest>, StoreError> {
        let mut output = self
            .client
            .batch_write_item()
            .request_items(&self.table.name, batch)
            .send()
            .await
            .map_err(|e| sdk_error("BatchWriteItem", e))?;
        Ok(output
            .unprocessed_items
            .as_mut()
            .and_then(|tables| tables.remove(&self.table.name))
            .unwrap_or_default())
    }
}

/// Sends `pending` until nothing is left unprocessed, backing off between calls; gives up
/// with [`StoreError::Unavailable`] after `backoff.attempts` calls.
async fn write_all<F, Fut>(
    mut pending: Vec<WriteRequest>,
    backoff: Backoff,
    mut send: F,
) -> Result<(), StoreError>
where
    F: FnMut(Vec<WriteRequest>) -> Fut,
    Fut: Future<Output = Result<Vec<WriteRequest>, StoreError>>,
{
    let mut delay = backoff.first;
    let mut calls = 0;
    while !pending.is_empty() {
        if calls == backoff.attempts {
            return Err(StoreError::Unavailable(
                format!(
                    "BatchWriteItem left {} deletes unprocessed after {calls} attempts",
                    pending.len()
                )
                .into(),
            ));
        }
        if calls > 0 {
            tokio::time::sleep(jittered(delay)).await;
            delay = (delay * 2).min(backoff.max);
        }
        pending = send(pending).await?;
        calls += 1;
    }
    Ok(())
}

/// Between half of `delay` and all of it, so that instances throttled together don't retry
/// together.
fn jittered(delay: Duration) -> Duration {
    let fraction = getrandom::u32().map_or(1.0, |r| f64::from(r) / f64::from(u32::MAX));
    delay.mul_f64(0.5 + fraction / 2.0)
}

#[cfg(test)]
mod tests {
    use super::super::item::s;
    use super::*;

    fn requests(n: usize) -> Vec<WriteRequest> {
        (0..n)
            .map(|i| {
                let delete = DeleteRequest::builder()
                    .key("SessionToken", s(i.to_string()))
                    .build()
                    .unwrap();
                WriteRequest::builder().delete_request(delete).build()
            })
            .collect()
    }

    const FAST: Backoff = Backoff {
        first: Duration::from_millis(1),
        max: Duration::from_millis(4),
        attempts: 4,
    };

    #[tokio::test]
    async fn unprocessed_deletes_are_retried_until_done() {
        let mut sent = Vec::new();
        write_all(requests(25), FAST, |batch| {
            sent.push(batch.len());
            // DynamoDB processes a few and hands the rest back.
            let rest = batch.into_iter().skip(10).collect();
            async move { Ok(rest) }
        })
        .await
        .unwrap();
        assert_eq!(sent, [25, 15, 5]);
    }

    #[tokio::test]
    async fn deletes_still_unprocessed_after_the_last_attempt_are_unavailable() {
        let mut calls = 0;
        let result = write_all(requests(3), FAST, |batch| {
            calls += 1;
            async move { Ok(batch) }
        })
        .await;
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
        assert_eq!(calls, FAST.attempts);
    }

    #[tokio::test]
    async fn a_failed_batch_call_stops_the_retries() {
        let mut calls = 0;
        let result = write_all(requests(3), FAST, |_| {
            calls += 1;
            async { Err(StoreError::Backend("no such table".into())) }
        })
        .await;
        assert!(matches!(result, Err(StoreError::Backend(_))));
        assert_eq!(calls, 1);
    }

    #[test]
    fn jitter_stays_within_half_and_whole_of_the_delay() {
        for _ in 0..100 {
            let d = jittered(Duration::from_millis(100));
            assert!(
                d >= Duration::from_millis(50) && d <= Duration::from_millis(100),
                "{d:?}"
            );
        }
    }
}
