//! [`DynamoDbStore`]: sessions in a DynamoDB table that every instance of a service shares.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use aws_config::BehaviorVersion;
//! use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
//! use cognito_session::store::dynamodb::DynamoDbStore;
//! use cognito_session::{SessionConfig, SessionManager, TableSettings};
//!
//! # fn key_from_your_secret_manager() -> [u8; 32] { [7; 32] }
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let aws = aws_config::defaults(BehaviorVersion::latest())
//!     // Without a deadline an outage makes every request hang; with one it is a quick 503.
//!     .timeout_config(
//!         TimeoutConfig::builder()
//!             .connect_timeout(Duration::from_secs(1))
//!             .operation_timeout(Duration::from_secs(3))
//!             .build(),
//!     )
//!     .load()
//!     .await;
//! let client = aws_sdk_dynamodb::Client::new(&aws);
//! let store = DynamoDbStore::new(client, TableSettings::new("sessions"))
//!     .with_encryption_key(key_from_your_secret_manager());
//! // Once, at deploy time or start-up: does nothing when the table exists.
//! store.create_table().await?;
//! let sessions = SessionManager::new(store, SessionConfig::default())?;
//! # Ok(())
//! # }
//! ```
//!
//! # The table
//!
//! One item per session. [`DynamoDbStore::create_table`] makes a table that fits, or
//! make it yourself (CloudFormation, Terraform) with:
//!
//! - partition key [`TableSettings::partition_key`] (default `SessionToken`), a string
//!   holding [`SessionRecord::key`]; no sort key;
//! - a global secondary index [`TableSettings::username_index`] (default `UsernameIndex`)
//!   with partition key `username` (string); `KEYS_ONLY` is enough;
//! - time to live on `expires_at`.
//!
//! The other attributes are typed, and an absent value is an absent attribute, never a
//! `NULL`:
//!
//! | attribute | type | holds |
//! |---|---|---|
//! | `username` | S | [`SessionRecord::username`] |
//! | `user_sub` | S | [`SessionRecord::sub`] |
//! | `token_hash`, `previous_token_hash` | S | SHA-256 in lowercase hex |
//! | `previous_valid_until`, `created_at`, `last_seen_at`, `refreshed_at` | N | epoch seconds |
//! | `expires_at` | N | epoch seconds; the TTL attribute |
//! | `successor` | S | key of the record that replaced a rotated one |
//! | `access_token`, `refresh_token` | B, or S without a key | the Cognito tokens, see below |
//! | `access_expires_at` | N | epoch seconds |
//! | `version` | N | compared by every conditional write |
//!
//! `sub` is stored as `user_sub` so that a table laid out for `@sswahn/session`, whose
//! partition key is `sub`, can be used as it is.
//!
//! # Timeouts
//!
//! The SDK sets no deadline on an operation by default, and it retries throttled and failed
//! calls. Configure `timeout_config` on the client (an operation timeout of 2-3 s, as above)
//! so that an unreachable or throttled table turns into [`StoreError::Unavailable`], and a
//! 503 from the layer, while the client is still waiting, not half a minute later.
//!
//! # Consistency
//!
//! Every read of a session is a strongly consistent `GetItem` on the table, and every write
//! is conditional, so two instances racing on one session get the same answer the
//! [`MemoryStore`](crate::MemoryStore) would give. Expiry is checked on each read: DynamoDB's
//! TTL deletes expired items up to a couple of days late, and until it does they are treated
//! as absent.
//!
//! [`delete_user`](SessionStore::delete_user) is the exception: it finds a user's sessions
//! through the `username` index, and a global secondary index is eventually consistent, so a
//! session created in the same instant may be missed (call it again to be sure). A session it
//! did delete is gone at once for every reader, because they read the table, not the index.
//!
//! # Encryption
//!
//! The Cognito refresh token is the one secret in the table (opaque tokens are only kept as
//! hashes). [`DynamoDbStore::with_encryption_key`] encrypts it and the access token with
//! AES-256-GCM; without a key they are stored **in plaintext** and anyone who can read the
//! table can act as the user until the refresh token expires.
//!
//! # Errors
//!
//! | DynamoDB says | [`StoreError`] |
//! |---|---|
//! | `ConditionalCheckFailedException` | `Conflict` |
//! | timeout, connection failure, throttling, `InternalServerError`, HTTP 5xx | `Unavailable` |
//! | `ResourceNotFoundException`, other 4xx, a malformed item, a value that won't decrypt | `Backend` |
//!
//! The layer answers 503 for `Unavailable` and `Backend` alike; the distinction is for your
//! logs and alarms.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, GlobalSecondaryIndex,
    IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType, ReturnValue,
    ScalarAttributeType, TableDescription, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
    WriteRequest,
};

use super::{BoxError, SessionStore, StoreError};
use crate::{CognitoTokens, Secret, SessionRecord, TableSettings, TokenHash};

type Item = HashMap<String, AttributeValue>;

/// Attribute names of a session item, other than the configurable partition key.
mod attr {
    pub(super) const USERNAME: &str = "username";
    pub(super) const SUB: &str = "user_sub";
    pub(super) const TOKEN_HASH: &str = "token_hash";
    pub(super) const PREVIOUS_TOKEN_HASH: &str = "previous_token_hash";
    pub(super) const PREVIOUS_VALID_UNTIL: &str = "previous_valid_until";
    pub(super) const SUCCESSOR: &str = "successor";
    pub(super) const ACCESS_TOKEN: &str = "access_token";
    pub(super) const REFRESH_TOKEN: &str = "refresh_token";
    pub(super) const ACCESS_EXPIRES_AT: &str = "access_expires_at";
    pub(super) const CREATED_AT: &str = "created_at";
    pub(super) const LAST_SEEN_AT: &str = "last_seen_at";
    pub(super) const REFRESHED_AT: &str = "refreshed_at";
    pub(super) const EXPIRES_AT: &str = "expires_at";
    pub(super) const VERSION: &str = "version";

    pub(super) const ALL: [&str; 14] = [
        USERNAME,
        SUB,
        TOKEN_HASH,
        PREVIOUS_TOKEN_HASH,
        PREVIOUS_VALID_UNTIL,
        SUCCESSOR,
        ACCESS_TOKEN,
        REFRESH_TOKEN,
        ACCESS_EXPIRES_AT,
        CREATED_AT,
        LAST_SEEN_AT,
        REFRESHED_AT,
        EXPIRES_AT,
        VERSION,
    ];
}

/// BatchWriteItem takes at most this many requests.
const BATCH_LIMIT: usize = 25;

/// How long [`DynamoDbStore::create_table`] waits for the table and its index to become
/// `ACTIVE`. A new on-demand table usually takes seconds; an index backfill on a big existing
/// table can take far longer, and then it is better to fail and let the caller decide.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

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

/// Sessions in a DynamoDB table: see the [module docs](self) for the table's layout,
/// timeouts, consistency and encryption.
///
/// Cloning is cheap and clones share the SDK client's connection pool.
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
#[derive(Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: TableSettings,
    page_size: Option<i32>,
    cipher: Option<Aes256Gcm>,
}

impl fmt::Debug for DynamoDbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoDbStore")
            .field("table", &self.table)
            .field("page_size", &self.page_size)
            .field(
                "encryption",
                &if self.cipher.is_some() {
                    "AES-256-GCM"
                } else {
                    "none"
                },
            )
            .finish_non_exhaustive()
    }
}

impl DynamoDbStore {
    /// A store on `table`, reached through `client`.
    ///
    /// Give the client a timeout (see [Timeouts](self#timeouts)). Nothing is checked here;
    /// [`create_table`](Self::create_table) makes or checks the table.
    pub fn new(client: Client, table: TableSettings) -> Self {
        Self {
            client,
            table,
            page_size: None,
            cipher: None,
        }
    }

    /// How many index entries each `Query` page of [`delete_user`](SessionStore::delete_user)
    /// asks for; values below 1 count as 1. Default `None`: DynamoDB's own limit of 1 MB a
    /// page, thousands of sessions. Small pages are mostly useful to test pagination.
    ///
    /// ```no_run
    /// # use cognito_session::{TableSettings, store::dynamodb::DynamoDbStore};
    /// # fn client() -> aws_sdk_dynamodb::Client { unimplemented!() }
    /// let store = DynamoDbStore::new(client(), TableSettings::new("sessions"))
    ///     .with_page_size(Some(100));
    /// ```
    pub fn with_page_size(mut self, page_size: Option<i32>) -> Self {
        self.page_size = page_size.map(|n| n.max(1));
        self
    }

    /// Encrypts the Cognito access and refresh tokens with AES-256-GCM under `key`. Default:
    /// no key, and the tokens are stored as plaintext strings.
    ///
    /// Each value gets a fresh random 96-bit nonce and is stored as binary, nonce then
    /// ciphertext. The session key and attribute name are authenticated with it, so a value
    /// copied into another item, or another attribute, fails to decrypt
    /// ([`StoreError::Backend`]) instead of handing one session's refresh token to another.
    ///
    /// Plaintext tokens already in the table are still read, so turning encryption on doesn't
    /// end existing sessions; they are encrypted at their next refresh. Keep the key in a
    /// secret manager: losing it ends every Cognito session in the table.
    ///
    /// ```no_run
    /// # use cognito_session::{TableSettings, store::dynamodb::DynamoDbStore};
    /// # fn client() -> aws_sdk_dynamodb::Client { unimplemented!() }
    /// # fn key_from_your_secret_manager() -> [u8; 32] { [7; 32] }
    /// let store = DynamoDbStore::new(client(), TableSettings::new("sessions"))
    ///     .with_encryption_key(key_from_your_secret_manager());
    /// ```
    pub fn with_encryption_key(mut self, key: [u8; 32]) -> Self {
        self.cipher = Some(Aes256Gcm::new(&key.into()));
        self
    }

    /// The table this store uses.
    pub fn table(&self) -> &TableSettings {
        &self.table
    }

    /// Creates the table if it doesn't exist: on-demand billing, the partition key, the
    /// `username` index (`KEYS_ONLY`), and time to live on `expires_at`. Waits until table
    /// and index are `ACTIVE` (at most two minutes, then [`StoreError::Unavailable`]).
    ///
    /// When the table exists it only checks that its keys fit ([`StoreError::Backend`] if
    /// not), waits, and turns time to live on if it is off, so it is safe to call at every
    /// start-up. Time to live already on another attribute is a `Backend` error: items would
    /// then never be deleted.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let pk = self.partition_key()?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table.name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(string_attribute(pk)?)
            .attribute_definitions(string_attribute(attr::USERNAME)?)
            .key_schema(hash_key(pk)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&self.table.username_index)
                    .key_schema(hash_key(attr::USERNAME)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::KeysOnly)
                            .build(),
                    )
                    .build()
                    .map_err(backend)?,
            )
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => {}
            Err(e) => return Err(sdk_error("CreateTable", e)),
        }
        self.wait_until_active().await?;
        self.enable_ttl().await
    }

    async fn wait_until_active(&self) -> Result<(), StoreError> {
        let deadline = Instant::now() + ACTIVE_TIMEOUT;
        let mut delay = Duration::from_millis(100);
        loop {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table.name)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeTable", e))?;
            let table = described
                .table()
                .ok_or_else(|| backend_msg("DescribeTable returned no table"))?;
            self.check_schema(table)?;
            if self.is_active(table) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StoreError::Unavailable(
                    format!(
                        "table {} is not ACTIVE after {} s",
                        self.table.name,
                        ACTIVE_TIMEOUT.as_secs()
                    )
                    .into(),
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    fn check_schema(&self, table: &TableDescription) -> Result<(), StoreError> {
        let hash_of = |schema: &[KeySchemaElement]| {
            schema
                .iter()
                .find(|k| *k.key_type() == KeyType::Hash)
                .map(|k| k.attribute_name().to_owned())
        };
        let pk = hash_of(table.key_schema());
        if pk.as_deref() != Some(self.table.partition_key.as_str()) {
            return Err(backend_msg(format!(
                "table {} has partition key {pk:?}, not {:?}",
                self.table.name, self.table.partition_key
            )));
        }
        let index = table
            .global_secondary_indexes()
            .iter()
            .find(|i| i.index_name() == Some(self.table.username_index.as_str()));
        match index.map(|i| hash_of(i.key_schema())) {
            Some(Some(key)) if key == attr::USERNAME => Ok(()),
            _ => Err(backend_msg(format!(
                "table {} has no index {} on {}",
                self.table.name,
                self.table.username_index,
                attr::USERNAME
            ))),
        }
    }

    fn is_active(&self, table: &TableDescription) -> bool {
        table.table_status() == Some(&TableStatus::Active)
            && table
                .global_secondary_indexes()
                .iter()
                .all(|i| i.index_status().is_none_or(|s| *s == IndexStatus::Active))
    }

    async fn enable_ttl(&self) -> Result<(), StoreError> {
        if self.ttl_enabled().await? {
            return Ok(());
        }
        let enabled = self
            .client
            .update_time_to_live()
            .table_name(&self.table.name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(attr::EXPIRES_AT)
                    .build()
                    .map_err(backend)?,
            )
            .send()
            .await;
        match enabled {
            Ok(_) => Ok(()),
            // Another instance starting at the same time may have won the race.
            Err(e) if self.ttl_enabled().await? => {
                tracing::debug!(error = %e, "time to live was enabled concurrently");
                Ok(())
            }
            Err(e) => Err(sdk_error("UpdateTimeToLive", e)),
        }
    }

    /// Whether time to live is on (or turning on) for `expires_at`.
    async fn ttl_enabled(&self) -> Result<bool, StoreError> {
        let described = self
            .client
            .describe_time_to_live()
            .table_name(&self.table.name)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTimeToLive", e))?;
        let Some(ttl) = described.time_to_live_description() else {
            return Ok(false);
        };
        match ttl.time_to_live_status() {
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling) => {
                match ttl.attribute_name() {
                    Some(attr::EXPIRES_AT) => Ok(true),
                    other => Err(backend_msg(format!(
                        "table {} has time to live on {other:?}, not {}",
                        self.table.name,
                        attr::EXPIRES_AT
                    ))),
                }
            }
            _ => Ok(false),
        }
    }

    /// The partition key's name, unless it is also the name of a record attribute: then
    /// writing an item would silently overwrite one with the other.
    fn partition_key(&self) -> Result<&str, StoreError> {
        let pk = self.table.partition_key.as_str();
        if attr::ALL.contains(&pk) {
            return Err(backend_msg(format!(
                "partition key {pk:?} is also the name of a session attribute; \
                 choose another PARTITION_KEY"
            )));
        }
        Ok(pk)
    }

    fn encode(&self, record: &SessionRecord) -> Result<Item, StoreError> {
        let pk = self.partition_key()?;
        let mut item = Item::with_capacity(16);
        let mut put = |name: &str, value: AttributeValue| {
            item.insert(name.to_owned(), value);
        };
        put(pk, s(&record.key));
        put(attr::USERNAME, s(&record.username));
        if let Some(sub) = &record.sub {
            put(attr::SUB, s(sub));
        }
        put(attr::TOKEN_HASH, s(record.token_hash.to_hex()));
        if let Some(previous) = &record.previous_token_hash {
            put(attr::PREVIOUS_TOKEN_HASH, s(previous.to_hex()));
        }
        if let Some(until) = record.previous_valid_until {
            put(attr::PREVIOUS_VALID_UNTIL, n(until));
        }
        if let Some(successor) = &record.successor {
            put(attr::SUCCESSOR, s(successor));
        }
        if let Some(cognito) = &record.cognito {
            let access = self.seal(&record.key, attr::ACCESS_TOKEN, &cognito.access_token)?;
            let refresh = self.seal(&record.key, attr::REFRESH_TOKEN, &cognito.refresh_token)?;
            put(attr::ACCESS_TOKEN, access);
            put(attr::REFRESH_TOKEN, refresh);
            put(attr::ACCESS_EXPIRES_AT, n(cognito.access_expires_at));
        }
        put(attr::CREATED_AT, n(record.created_at));
        put(attr::LAST_SEEN_AT, n(record.last_seen_at));
        put(attr::REFRESHED_AT, n(record.refreshed_at));
        put(attr::EXPIRES_AT, n(record.expires_at));
        put(attr::VERSION, n(record.version));
        Ok(item)
    }

    fn decode(&self, item: &Item) -> Result<SessionRecord, StoreError> {
        let pk = self.partition_key()?;
        let fields = Fields(item);
        let key = fields.required(pk, Fields::string)?.to_owned();
        let access_token = self.open(&fields, &key, attr::ACCESS_TOKEN)?;
        let refresh_token = self.open(&fields, &key, attr::REFRESH_TOKEN)?;
        let access_expires_at = fields.number(attr::ACCESS_EXPIRES_AT)?;
        let cognito = match (access_token, refresh_token, access_expires_at) {
            (Some(access_token), Some(refresh_token), Some(access_expires_at)) => {
                Some(CognitoTokens {
                    access_token,
                    refresh_token,
                    access_expires_at,
                })
            }
            (None, None, None) => None,
            _ => {
                return Err(malformed(
                    attr::REFRESH_TOKEN,
                    "is not stored together with access_token and access_expires_at",
                ));
            }
        };
        Ok(SessionRecord {
            username: fields.required(attr::USERNAME, Fields::string)?.to_owned(),
            sub: fields.string(attr::SUB)?.map(str::to_owned),
            token_hash: fields.required(attr::TOKEN_HASH, Fields::hash)?,
            previous_token_hash: fields.hash(attr::PREVIOUS_TOKEN_HASH)?,
            previous_valid_until: fields.number(attr::PREVIOUS_VALID_UNTIL)?,
            successor: fields.string(attr::SUCCESSOR)?.map(str::to_owned),
            cognito,
            created_at: fields.required(attr::CREATED_AT, Fields::number)?,
            last_seen_at: fields.required(attr::LAST_SEEN_AT, Fields::number)?,
            refreshed_at: fields.required(attr::REFRESHED_AT, Fields::number)?,
            expires_at: fields.required(attr::EXPIRES_AT, Fields::number)?,
            version: fields.required(attr::VERSION, Fields::number)?,
            key,
        })
    }

    /// A Cognito token as it is written: encrypted when the store has a key.
    fn seal(
        &self,
        key: &str,
        attribute: &str,
        secret: &Secret,
    ) -> Result<AttributeValue, StoreError> {
        let Some(cipher) = &self.cipher else {
            return Ok(s(secret.expose()));
        };
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(backend)?;
        let aad = associated_data(key, attribute);
        let payload = Payload {
            msg: secret.expose().as_bytes(),
            aad: &aad,
        };
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| backend_msg(format!("could not encrypt {attribute}")))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(AttributeValue::B(Blob::new(sealed)))
    }

    /// Reads what [`seal`](Self::seal) wrote.
    fn open(
        &self,
        fields: &Fields<'_>,
        key: &str,
        attribute: &'static str,
    ) -> Result<Option<Secret>, StoreError> {
        let sealed = match fields.0.get(attribute) {
            None => return Ok(None),
            Some(AttributeValue::S(plain)) => return Ok(Some(Secret::new(plain.as_str()))),
            Some(AttributeValue::B(sealed)) => sealed.as_ref(),
            Some(_) => return Err(malformed(attribute, "is neither a string nor binary")),
        };
        let Some(cipher) = &self.cipher else {
            return Err(malformed(
                attribute,
                "is encrypted, but the store has no encryption key",
            ));
        };
        // The reason is left out on purpose: "wrong key", "moved from another item" and
        // "tampered with" look alike to AES-GCM, and the error may end up in a log.
        let undecryptable = || malformed(attribute, "could not be decrypted");
        if sealed.len() < NONCE_LEN {
            return Err(undecryptable());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let aad = associated_data(key, attribute);
        let payload = Payload {
            msg: ciphertext,
            aad: &aad,
        };
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| undecryptable())?;
        String::from_utf8(plain)
            .map(|token| Some(Secret::new(token)))
            .map_err(|_| undecryptable())
    }

    fn key_of(&self, key: &str) -> Result<(String, AttributeValue), StoreError> {
        Ok((self.partition_key()?.to_owned(), s(key)))
    }

    /// One page of the username index's entries for `username`.
    async fn page_of_user(
        &self,
        username: &str,
        start: Option<Item>,
    ) -> Result<QueryOutput, StoreError> {
        self.client
            .query()
            .table_name(&self.table.name)
            .index_name(&self.table.username_index)
            .key_condition_expression("#user = :user")
            .projection_expression("#pk")
            .expression_attribute_names("#user", attr::USERNAME)
            .expression_attribute_names("#pk", self.partition_key()?)
            .expression_attribute_values(":user", s(username))
            .set_limit(self.page_size)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))
    }

    /// Deletes the items under `keys`, 25 to a BatchWriteItem call.
    async fn delete_all(&self, keys: &[&str]) -> Result<(), StoreError> {
        for chunk in keys.chunks(BATCH_LIMIT) {
            let requests = chunk
                .iter()
                .map(|key| {
                    let (pk, value) = self.key_of(key)?;
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

#[async_trait]
impl SessionStore for DynamoDbStore {
    async fn create(&self, record: &SessionRecord, now: u64) -> Result<(), StoreError> {
        let item = self.encode(record)?;
        self.client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(item))
            // An expired item may still be there, waiting for TTL: it doesn't block the key.
            .condition_expression("attribute_not_exists(#pk) OR #exp <= :now")
            .expression_attribute_names("#pk", self.partition_key()?)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    async fn load(&self, key: &str, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        let (pk, value) = self.key_of(key)?;
        let output = self
            .client
            .get_item()
            .table_name(&self.table.name)
            .key(pk, value)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        match output.item() {
            Some(item) if !item.is_empty() => {
                let record = self.decode(item)?;
                Ok((record.expires_at > now).then_some(record))
            }
            _ => Ok(None),
        }
    }

    async fn update(
        &self,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let item = self.encode(record)?;
        self.client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(item))
            // Fails on a missing item too: it has no version to compare.
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", attr::VERSION)
            .expression_attribute_values(":expected", n(expected_version))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    async fn touch(
        &self,
        key: &str,
        version: u64,
        last_seen_at: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let (pk, value) = self.key_of(key)?;
        self.client
            .update_item()
            .table_name(&self.table.name)
            .key(pk, value)
            .update_expression("SET #seen = :seen, #exp = :exp")
            // Also keeps UpdateItem from creating a stub item for a deleted session.
            .condition_expression("#version = :version")
            .expression_attribute_names("#seen", attr::LAST_SEEN_AT)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_names("#version", attr::VERSION)
            .expression_attribute_values(":seen", n(last_seen_at))
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":version", n(version))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem", e))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let (pk, value) = self.key_of(key)?;
        let output = self
            .client
            .delete_item()
            .table_name(&self.table.name)
            .key(pk, value)
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem", e))?;
        Ok(output.attributes().is_some_and(|old| !old.is_empty()))
    }

    /// Finds the user's sessions through the username index and deletes them 25 at a time;
    /// how many the index listed. See [Consistency](self#consistency) for what the index
    /// can miss.
    async fn delete_user(&self, username: &str) -> Result<usize, StoreError> {
        let pk = self.partition_key()?;
        let mut deleted = 0;
        let mut start = None;
        loop {
            let page = self.page_of_user(username, start).await?;
            let keys = page
                .items()
                .iter()
                .map(|item| Fields(item).required(pk, Fields::string))
                .collect::<Result<Vec<_>, _>>()?;
            self.delete_all(&keys).await?;
            deleted += keys.len();
            start = page.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                return Ok(deleted);
            }
        }
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

const NONCE_LEN: usize = 12;

/// What AES-GCM authenticates along with a token: the item's key and the attribute, each
/// length-prefixed so that no other (key, attribute) pair is spelled the same.
fn associated_data(key: &str, attribute: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + key.len() + attribute.len());
    for part in [attribute, key] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(backend)
}

fn hash_key(name: &str) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(KeyType::Hash)
        .build()
        .map_err(backend)
}

/// Typed reads from an item; `Ok(None)` when the attribute is absent, an error when it has
/// the wrong type or shape.
struct Fields<'a>(&'a Item);

impl<'a> Fields<'a> {
    fn string(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value)),
            Some(_) => Err(malformed(name, "is not a string")),
        }
    }

    fn number(&self, name: &str) -> Result<Option<u64>, StoreError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(AttributeValue::N(value)) => value
                .parse()
                .map(Some)
                .map_err(|_| malformed(name, "is not a whole number of seconds")),
            Some(_) => Err(malformed(name, "is not a number")),
        }
    }

    fn hash(&self, name: &str) -> Result<Option<TokenHash>, StoreError> {
        self.string(name)?
            .map(|hex| TokenHash::from_hex(hex).ok_or_else(|| malformed(name, "is not a hash")))
            .transpose()
    }

    fn required<T>(
        &self,
        name: &str,
        read: impl Fn(&Self, &str) -> Result<Option<T>, StoreError>,
    ) -> Result<T, StoreError> {
        read(self, name)?.ok_or_else(|| malformed(name, "is missing"))
    }
}

/// An item this store can't read. It names the attribute, never its value: the value may
/// be a token.
#[derive(Debug)]
struct MalformedItem {
    attribute: String,
    problem: &'static str,
}

impl fmt::Display for MalformedItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed session item: attribute {} {}",
            self.attribute, self.problem
        )
    }
}

impl StdError for MalformedItem {}

fn malformed(attribute: &str, problem: &'static str) -> StoreError {
    StoreError::Backend(Box::new(MalformedItem {
        attribute: attribute.to_owned(),
        problem,
    }))
}

fn backend(error: impl Into<BoxError>) -> StoreError {
    StoreError::Backend(error.into())
}

fn backend_msg(message: impl Into<String>) -> StoreError {
    StoreError::Backend(message.into().into())
}

/// A failed DynamoDB call: which operation, DynamoDB's error code and message when it sent
/// one, and the SDK's error as the source.
#[derive(Debug)]
struct OperationError {
    operation: &'static str,
    code: Option<String>,
    message: Option<String>,
    source: BoxError,
}

impl fmt::Display for OperationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DynamoDB {}: ", self.operation)?;
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => write!(f, "{code}: {message}"),
            (Some(code), None) => f.write_str(code),
            _ => write!(f, "{}", self.source),
        }
    }
}

impl StdError for OperationError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// How an SDK call failed, as far as the mapping to [`StoreError`] cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    /// Timed out, or no response arrived (connection refused, reset, DNS).
    NoResponse,
    /// DynamoDB answered with this HTTP status.
    Response(u16),
    /// The request was never sent: a bug or a bad configuration on our side.
    NotSent,
}

/// Error codes that say "not now" rather than "not this".
const TRANSIENT_CODES: [&str; 7] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
];

fn classify(failure: Failure, code: Option<&str>) -> fn(BoxError) -> StoreError {
    if code == Some("ConditionalCheckFailedException") {
        return |_| StoreError::Conflict;
    }
    let transient = match failure {
        Failure::NoResponse => true,
        Failure::Response(status) => {
            (500..600).contains(&status) || code.is_some_and(|c| TRANSIENT_CODES.contains(&c))
        }
        Failure::NotSent => false,
    };
    if transient {
        StoreError::Unavailable
    } else {
        StoreError::Backend
    }
}

fn sdk_error<E>(operation: &'static str, error: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let failure = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => Failure::NoResponse,
        SdkError::ResponseError(e) => Failure::Response(e.raw().status().as_u16()),
        SdkError::ServiceError(e) => Failure::Response(e.raw().status().as_u16()),
        _ => Failure::NotSent,
    };
    let code = error.code().map(str::to_owned);
    let message = error.message().map(str::to_owned);
    let to_store_error = classify(failure, code.as_deref());
    to_store_error(Box::new(OperationError {
        operation,
        code,
        message,
        source: Box::new(error),
    }))
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Region};

    use super::*;

    fn store() -> DynamoDbStore {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        DynamoDbStore::new(Client::from_conf(config), TableSettings::new("sessions"))
    }

    fn record(cognito: bool) -> SessionRecord {
        SessionRecord {
            key: TokenHash::of("token").to_hex(),
            username: "alice".into(),
            sub: None,
            token_hash: TokenHash::of("token"),
            previous_token_hash: None,
            previous_valid_until: None,
            successor: None,
            cognito: cognito.then(|| CognitoTokens {
                access_token: Secret::new("access.jwt.value"),
                refresh_token: Secret::new("refresh-token-value"),
                access_expires_at: 1_700_003_600,
            }),
            created_at: 1_700_000_000,
            last_seen_at: 1_700_000_100,
            refreshed_at: 1_700_000_000,
            expires_at: 1_700_604_800,
            version: 3,
        }
    }

    fn full_record() -> SessionRecord {
        SessionRecord {
            sub: Some("sub-1".into()),
            previous_token_hash: Some(TokenHash::of("old")),
            previous_valid_until: Some(1_700_000_030),
            successor: Some("next".into()),
            ..record(true)
        }
    }

    fn is_malformed(result: Result<SessionRecord, StoreError>, attribute: &str) -> bool {
        match result {
            Err(StoreError::Backend(e)) => e.to_string().contains(attribute),
            _ => false,
        }
    }

    #[test]
    fn records_round_trip_with_and_without_a_key() {
        for store in [store(), store().with_encryption_key([9; 32])] {
            for record in [record(false), record(true), full_record()] {
                let item = store.encode(&record).unwrap();
                assert_eq!(store.decode(&item).unwrap(), record);
            }
        }
    }

    #[test]
    fn attributes_are_typed_and_absent_options_are_omitted() {
        let item = store().encode(&record(false)).unwrap();
        let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "SessionToken",
                "created_at",
                "expires_at",
                "last_seen_at",
                "refreshed_at",
                "token_hash",
                "username",
                "version"
            ]
        );
        assert_eq!(item["expires_at"], AttributeValue::N("1700604800".into()));
        assert_eq!(item["version"], AttributeValue::N("3".into()));
        assert_eq!(
            item["token_hash"],
            AttributeValue::S(TokenHash::of("token").to_hex())
        );

        let full = store().encode(&full_record()).unwrap();
        assert_eq!(full["user_sub"], AttributeValue::S("sub-1".into()));
        assert_eq!(
            full["refresh_token"],
            AttributeValue::S("refresh-token-value".into()),
            "without a key the token is plaintext"
        );
        assert_eq!(
            full["access_expires_at"],
            AttributeValue::N("1700003600".into())
        );
    }

    #[test]
    fn with_a_key_tokens_are_sealed_with_a_fresh_nonce() {
        let store = store().with_encryption_key([1; 32]);
        let a = store.encode(&full_record()).unwrap();
        let b = store.encode(&full_record()).unwrap();
        for item in [&a, &b] {
            let AttributeValue::B(sealed) = &item["refresh_token"] else {
                panic!("not binary: {:?}", item["refresh_token"]);
            };
            let bytes = sealed.as_ref();
            assert_eq!(bytes.len(), NONCE_LEN + "refresh-token-value".len() + 16);
            assert!(!bytes.windows(7).any(|w| w == b"refresh"));
        }
        assert_ne!(a["refresh_token"], b["refresh_token"]);
    }

    #[test]
    fn a_sealed_value_only_opens_in_its_own_item_and_attribute_with_its_key() {
        let store = store().with_encryption_key([1; 32]);
        let item = store.encode(&full_record()).unwrap();

        let mut moved = item.clone();
        moved.insert("SessionToken".into(), s("another-key"));
        assert!(is_malformed(store.decode(&moved), "could not be decrypted"));

        let mut swapped = item.clone();
        swapped.insert("access_token".into(), item["refresh_token"].clone());
        assert!(is_malformed(store.decode(&swapped), "access_token"));

        let other_key = self::store().with_encryption_key([2; 32]);
        assert!(is_malformed(other_key.decode(&item), "access_token"));
        assert!(is_malformed(self::store().decode(&item), "access_token"));

        let AttributeValue::B(sealed) = &item["refresh_token"] else {
            unreachable!()
        };
        let mut tampered = sealed.as_ref().to_vec();
        *tampered.last_mut().unwrap() ^= 1;
        let mut bad = item.clone();
        bad.insert(
            "refresh_token".into(),
            AttributeValue::B(Blob::new(tampered)),
        );
        assert!(is_malformed(store.decode(&bad), "refresh_token"));
        bad.insert(
            "refresh_token".into(),
            AttributeValue::B(Blob::new(vec![1, 2])),
        );
        assert!(is_malformed(store.decode(&bad), "refresh_token"));
    }

    #[test]
    fn plaintext_tokens_are_still_read_once_a_key_is_set() {
        let plain = store().encode(&full_record()).unwrap();
        let keyed = store().with_encryption_key([1; 32]);
        assert_eq!(keyed.decode(&plain).unwrap(), full_record());
    }

    #[test]
    fn malformed_items_are_backend_errors_naming_the_attribute() {
        let store = store();
        let good = store.encode(&full_record()).unwrap();
        let with = |name: &str, value: Option<AttributeValue>| {
            let mut item = good.clone();
            match value {
                Some(value) => item.insert(name.to_owned(), value),
                None => item.remove(name),
            };
            store.decode(&item)
        };
        assert!(is_malformed(
            with("expires_at", Some(s("soon"))),
            "expires_at"
        ));
        assert!(is_malformed(
            with("expires_at", Some(AttributeValue::N("1.5".into()))),
            "expires_at"
        ));
        assert!(is_malformed(
            with("version", Some(AttributeValue::N("-1".into()))),
            "version"
        ));
        assert!(is_malformed(with("username", None), "username"));
        assert!(is_malformed(with("SessionToken", None), "SessionToken"));
        assert!(is_malformed(
            with("token_hash", Some(s("beef"))),
            "token_hash"
        ));
        assert!(is_malformed(
            with("user_sub", Some(AttributeValue::Null(true))),
            "user_sub"
        ));
        assert!(is_malformed(
            with("access_expires_at", None),
            "refresh_token"
        ));
        assert!(is_malformed(
            with("refresh_token", Some(AttributeValue::Bool(true))),
            "refresh_token"
        ));
    }

    #[test]
    fn a_partition_key_named_like_an_attribute_is_refused() {
        let mut table = TableSettings::new("sessions");
        table.partition_key = "username".into();
        let store = DynamoDbStore::new(store().client, table);
        assert!(matches!(
            store.encode(&record(false)),
            Err(StoreError::Backend(_))
        ));
        // `sub` is fine: `@sswahn/session`'s tables use it, and the record's sub is `user_sub`.
        let mut table = TableSettings::new("sessions");
        table.partition_key = "sub".into();
        let store = DynamoDbStore::new(store.client, table);
        let item = store.encode(&full_record()).unwrap();
        assert_eq!(store.decode(&item).unwrap(), full_record());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let store = store().with_encryption_key([0xAB; 32]);
        let debug = format!("{store:?}");
        assert!(debug.contains("AES-256-GCM"), "{debug}");
        assert!(!debug.to_lowercase().contains("ab, "), "{debug}");
        assert!(!debug.contains("171"), "{debug}");
    }

    #[test]
    fn failures_map_to_store_errors() {
        let kind = |failure, code| match classify(failure, code)("x".into()) {
            StoreError::Conflict => "conflict",
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Backend(_) => "backend",
        };
        use Failure::*;
        let conflict = Some("ConditionalCheckFailedException");
        assert_eq!(kind(Response(400), conflict), "conflict");
        assert_eq!(kind(NoResponse, None), "unavailable");
        for code in TRANSIENT_CODES {
            assert_eq!(kind(Response(400), Some(code)), "unavailable", "{code}");
        }
        assert_eq!(kind(Response(500), None), "unavailable");
        assert_eq!(kind(Response(503), Some("Whatever")), "unavailable");
        assert_eq!(
            kind(Response(400), Some("ResourceNotFoundException")),
            "backend"
        );
        assert_eq!(kind(Response(400), Some("ValidationException")), "backend");
        assert_eq!(kind(Response(404), None), "backend");
        assert_eq!(kind(NotSent, None), "backend");
    }

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
