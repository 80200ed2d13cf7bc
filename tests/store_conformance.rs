//! The store conformance suite, run through the crate's export (`store_conformance!`, feature
//! `test-util`) against every store here: `MemoryStore`, `DynamoDbStore` on DynamoDB Local
//! and on moto, and `CachedStore` in front of each kind; then what only some backends can
//! run: the backend's own dropping of expired records, and DynamoDB's items, encryption and
//! errors.
//!
//! Each test gets a fresh store: a new `MemoryStore`, or a new table with a unique name on
//! the emulator. The emulators come from `scripts/test`; without them the DynamoDB tests
//! fail loudly, they never skip.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use cognito_session::store::CachedStore;
use cognito_session::store::conformance::{
    expired_records_are_dropped_by_the_backend, full_record, now, record,
};
use cognito_session::store::dynamodb::DynamoDbStore;
use cognito_session::store::dynamodb::TableSettings;
use cognito_session::store::{MemoryStore, SessionStore, StoreError};
use cognito_session::store_conformance;

type Item = HashMap<String, AttributeValue>;

/// How long `CachedStore`s here keep what they read.
const CACHE_TTL: Duration = Duration::from_secs(5);

mod memory {
    use std::sync::Arc;

    use super::*;

    store_conformance!(MemoryStore::new());

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expired_records_are_dropped_by_the_backend() {
        let store = Arc::new(MemoryStore::new());
        // The sweep that `MemoryStore` runs as it goes, run now.
        let swept = async |_key: &str, now| {
            let before = store.len();
            store.purge_expired(now);
            store.len() == before - 1
        };
        super::expired_records_are_dropped_by_the_backend(store.clone(), swept).await;
    }
}

/// The memory behind this process's read cache: what the cache holds must not change what the
/// store answers.
mod cached_memory {
    use super::*;

    store_conformance!(CachedStore::new(MemoryStore::new(), CACHE_TTL));
}

mod dynamodb_local {
    use super::*;

    store_conformance!(Dynamo::local().await.store);
    dynamodb_only!(Dynamo::local());
}

/// A table behind this process's read cache.
mod cached_dynamodb_local {
    use super::*;

    store_conformance!(CachedStore::new(Dynamo::local().await.store, CACHE_TTL));
}

/// DynamoDB Local's TTL really deletes; it needs a namespace of its own, see `local_alone`.
mod dynamodb_local_ttl {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expired_records_are_dropped_by_the_backend() {
        let d = Dynamo::local_alone().await;
        let dropped = async |key: &str, _now| d.drops_expired(key).await;
        super::expired_records_are_dropped_by_the_backend(d.store.clone(), dropped).await;
    }
}

// moto keeps expired items forever (it doesn't run TTL): that is the one test it skips.
mod moto {
    use super::*;

    store_conformance!(Dynamo::moto().await.store);
    dynamodb_only!(Dynamo::moto());
}

// ---------------------------------------------------------------------------------------
// The DynamoDB backends
// ---------------------------------------------------------------------------------------

/// A fresh table on an emulator, the store on it, and a client for raw reads and writes.
struct Dynamo {
    client: Client,
    table: TableSettings,
    store: DynamoDbStore,
}

/// `delete_user`'s 60 sessions then take three pages, and a page of 26 needs two batches of
/// deletes (25 at most each).
const PAGE_SIZE: i32 = 26;

impl Dynamo {
    async fn local() -> Self {
        Self::on(&common::dynamodb_local_url(), "test").await
    }

    /// A table on DynamoDB Local that is alone in its namespace (DynamoDB Local keeps one
    /// database per access key). Its TTL sweeper stops deleting anything in a namespace
    /// that holds more than a handful of tables, which the other tests' tables would be.
    async fn local_alone() -> Self {
        let access_key: String = common::unique("ttl")
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        Self::on(&common::dynamodb_local_url(), &access_key).await
    }

    async fn moto() -> Self {
        Self::on(&common::moto_url(), "test").await
    }

    async fn on(url: &str, access_key: &str) -> Self {
        let client = common::dynamo::client(url, access_key, Duration::from_secs(3));
        let table = TableSettings::new(common::unique("sessions"));
        let store =
            common::dynamo::store(client.clone(), table.clone()).with_page_size(Some(PAGE_SIZE));
        store
            .create_table()
            .await
            .unwrap_or_else(|e| panic!("create_table on {url}: {e:?}"));
        Self {
            client,
            table,
            store,
        }
    }

    /// Another store on the same table.
    fn store_with_key(&self, key: [u8; 32]) -> DynamoDbStore {
        common::dynamo::store(self.client.clone(), self.table.clone()).with_encryption_key(key)
    }

    async fn raw_get(&self, key: &str) -> Option<Item> {
        self.client
            .get_item()
            .table_name(&self.table.name)
            .key(&self.table.partition_key, AttributeValue::S(key.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("raw GetItem")
            .item
            .filter(|item| !item.is_empty())
    }

    async fn raw_put(&self, item: Item) {
        self.client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(item))
            .send()
            .await
            .expect("raw PutItem");
    }

    /// Whether the table's TTL deletes the expired record `key` by itself, without anyone
    /// reading it, within a bounded wait.
    async fn drops_expired(&self, key: &str) -> bool {
        // DynamoDB Local sweeps every 10 s; DynamoDB itself may take two days.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.raw_get(key).await.is_none() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        false
    }
}

/// One `#[tokio::test]` per DynamoDB-only test, handing it a fresh `Dynamo` from `$make`.
macro_rules! dynamodb_only {
    ($make:expr) => {
        dynamodb_only!($make;
            create_table_is_idempotent,
            tokens_are_encrypted_at_rest_and_round_trip,
            an_encrypted_value_copied_to_another_key_does_not_decrypt,
            malformed_items_are_backend_errors,
            rows_without_a_good_mac_are_no_session,
            a_missing_table_is_a_backend_error,
        );
    };
    ($make:expr; $($test:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::$test($make.await).await;
            }
        )+
    };
}
// Called by path, so the modules above it can use it.
use dynamodb_only;

fn is_backend<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    match result {
        Err(StoreError::Backend(_)) => true,
        other => panic!("expected a Backend error, got {other:?}"),
    }
}

async fn create_table_is_idempotent(d: Dynamo) {
    d.store.create_table().await.unwrap();
    let ttl = d
        .client
        .describe_time_to_live()
        .table_name(&d.table.name)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));

    // A table whose keys don't fit is refused, not used.
    let mut other = d.table.clone();
    other.partition_key = "id".into();
    let misfit = common::dynamo::store(d.client.clone(), other);
    assert!(is_backend(misfit.create_table().await));
}

fn bytes_contain(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn tokens_are_encrypted_at_rest_and_round_trip(d: Dynamo) {
    let store = d.store_with_key([42; 32]);
    let t = now();
    let record = full_record("quentin", t);
    store.create(&record, t).await.unwrap();

    let item = d.raw_get(&record.key).await.unwrap();
    for name in ["access_token", "refresh_token"] {
        assert!(item[name].is_b(), "{name} is {:?}", item[name]);
    }
    for (name, value) in &item {
        let raw: Vec<u8> = match value {
            AttributeValue::B(blob) => blob.as_ref().to_vec(),
            other => format!("{other:?}").into_bytes(),
        };
        for secret in ["refresh-token-plaintext", "access-token-plaintext"] {
            assert!(!bytes_contain(&raw, secret), "{name} holds {secret}");
        }
    }
    assert_eq!(
        store.load(&record.key, t).await.unwrap(),
        Some(record.clone())
    );
    // The shared table's other stores can't read it without the key: an error, not a panic.
    assert!(is_backend(d.store.load(&record.key, t).await));
}

async fn an_encrypted_value_copied_to_another_key_does_not_decrypt(d: Dynamo) {
    let store = d.store_with_key([7; 32]);
    let t = now();
    let victim = full_record("rita", t);
    let attacker = record("sybil", t);
    store.create(&victim, t).await.unwrap();
    store.create(&attacker, t).await.unwrap();

    // Whoever can write the table moves the victim's refresh token into their own session.
    let stolen = d.raw_get(&victim.key).await.unwrap();
    let mut forged = d.raw_get(&attacker.key).await.unwrap();
    for name in ["access_token", "refresh_token", "access_expires_at"] {
        forged.insert(name.into(), stolen[name].clone());
    }
    d.raw_put(forged).await;
    assert!(is_backend(store.load(&attacker.key, t).await));

    let mut copied = stolen;
    copied.insert(
        d.table.partition_key.clone(),
        AttributeValue::S("copied".into()),
    );
    d.raw_put(copied).await;
    assert!(is_backend(store.load("copied", t).await));

    assert_eq!(store.load(&victim.key, t).await.unwrap(), Some(victim));
}

async fn malformed_items_are_backend_errors(d: Dynamo) {
    let t = now();
    let good = record("trent", t);
    d.store.create(&good, t).await.unwrap();
    let template = d.raw_get(&good.key).await.unwrap();
    let pk = d.table.partition_key.clone();
    let variant = |key: &str, change: &dyn Fn(&mut Item)| {
        let mut item = template.clone();
        item.insert(pk.clone(), AttributeValue::S(key.into()));
        change(&mut item);
        item
    };
    let cases = [
        variant("ttl-as-string", &|item| {
            item.insert("expires_at".into(), AttributeValue::S((t + 60).to_string()));
        }),
        variant("no-username", &|item| {
            item.remove("username");
        }),
        variant("fractional-version", &|item| {
            item.insert("version".into(), AttributeValue::N("1.5".into()));
        }),
        variant("hash-not-hex", &|item| {
            item.insert("token_hash".into(), AttributeValue::S("not a hash".into()));
        }),
        variant("half-cognito", &|item| {
            item.insert("refresh_token".into(), AttributeValue::S("orphan".into()));
        }),
    ];
    for item in cases {
        let AttributeValue::S(key) = &item[&pk] else {
            unreachable!()
        };
        let key = key.clone();
        d.raw_put(item).await;
        assert!(is_backend(d.store.load(&key, t).await), "{key}");
    }
    // Signed, but missing what the MAC is checked over.
    let mut bare = HashMap::from([(pk.clone(), AttributeValue::S("bare".into()))]);
    bare.insert("mac".into(), template["mac"].clone());
    d.raw_put(bare).await;
    assert!(is_backend(d.store.load("bare", t).await));
    // The well-formed record next to them is unaffected.
    assert_eq!(d.store.load(&good.key, t).await.unwrap(), Some(good));
}

/// #24, finding 1: a row whose MAC is missing, truncated, under a key id the ring doesn't
/// hold, or moved from another row is no session (`load` and `take` answer `None`, not an
/// error: it is a 401), and every other row is unaffected. With the migration switch an
/// unsigned row is read, and a bad MAC still isn't.
async fn rows_without_a_good_mac_are_no_session(d: Dynamo) {
    let t = now();
    let good = full_record("walter", t);
    let other = full_record("xena", t);
    d.store.create(&good, t).await.unwrap();
    d.store.create(&other, t).await.unwrap();
    let template = d.raw_get(&good.key).await.unwrap();
    let Some(AttributeValue::B(mac)) = template.get("mac") else {
        panic!("no MAC: {template:?}");
    };
    let mac = mac.as_ref().to_vec();
    let mut relabelled = mac.clone();
    relabelled[1] = 77;
    let other_mac = d.raw_get(&other.key).await.unwrap()["mac"].clone();
    let bytes = |b: Vec<u8>| Some(AttributeValue::B(Blob::new(b)));
    let cases = [
        ("missing", None),
        ("truncated", bytes(mac[..mac.len() - 4].to_vec())),
        ("other-key-id", bytes(relabelled)),
        ("moved", Some(other_mac)),
    ];
    for (name, value) in cases {
        let mut item = template.clone();
        match value {
            Some(value) => item.insert("mac".into(), value),
            None => item.remove("mac"),
        };
        d.raw_put(item).await;
        assert_eq!(d.store.load(&good.key, t).await.unwrap(), None, "{name}");
        let migrating = d.store.clone().with_unsigned_rows(true);
        let expected = (name == "missing").then(|| good.clone());
        assert_eq!(
            migrating.load(&good.key, t).await.unwrap(),
            expected,
            "{name}"
        );
        // A log-out of such a row removes it, and reports no session.
        assert_eq!(d.store.take(&good.key).await.unwrap(), None, "{name}");
        assert_eq!(d.raw_get(&good.key).await, None, "{name}");
        d.store.create(&good, t).await.unwrap();
    }
    assert_eq!(d.store.load(&good.key, t).await.unwrap(), Some(good));
    assert_eq!(d.store.load(&other.key, t).await.unwrap(), Some(other));
}

async fn a_missing_table_is_a_backend_error(d: Dynamo) {
    let store = common::dynamo::store(
        d.client.clone(),
        TableSettings::new(common::unique("absent")),
    );
    let t = now();
    assert!(is_backend(store.load("key", t).await));
    assert!(is_backend(store.create(&record("uma", t), t).await));
    assert!(is_backend(store.delete_user("uma").await));
}

// ---------------------------------------------------------------------------------------
// An unreachable DynamoDB: no emulator needed
// ---------------------------------------------------------------------------------------

mod outage {
    use super::*;

    fn is_unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
        match result {
            Err(StoreError::Unavailable(_)) => true,
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    async fn assert_unavailable_within(url: &str, limit: Duration) {
        let store = common::dynamo::store(
            common::dynamo::client(url, "test", Duration::from_secs(1)),
            TableSettings::new("t"),
        );
        let t = now();
        let started = Instant::now();
        assert!(is_unavailable(store.load("key", t).await));
        assert!(is_unavailable(store.create(&record("vic", t), t).await));
        assert!(is_unavailable(store.delete_user("vic").await));
        let elapsed = started.elapsed();
        eprintln!("three calls failed in {elapsed:?}");
        assert!(elapsed < limit, "took {elapsed:?}");
    }

    #[tokio::test]
    async fn a_closed_port_is_unavailable_quickly() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        assert_unavailable_within(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5))
            .await;
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_unavailable_after_the_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accepts connections and holds them open without a byte of response.
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        assert_unavailable_within(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5))
            .await;
        held.abort();
    }
}
