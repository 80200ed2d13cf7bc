//! [`DynamoDbStore`]: sessions in a DynamoDB table that every instance of a service shares.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use aws_config::BehaviorVersion;
//! use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
//! use cognito_session::store::dynamodb::{DynamoDbStore, TableSettings};
//! use cognito_session::{SessionConfig, SessionManager};
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
//! let store = DynamoDbStore::new(client, TableSettings::new("sessions"))?
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
//! | `access_token`, `refresh_token` | B (S only where plaintext is allowed) | the Cognito tokens, see [Encryption](#encryption) |
//! | `access_expires_at` | N | epoch seconds |
//! | `version` | N | compared by every conditional write |
//! | `groups`, `scopes` | L of S | [`Claims::groups`](crate::Claims::groups), [`Claims::scopes`](crate::Claims::scopes), in order; absent when empty |
//! | `claims` | S | [`Claims::other`](crate::Claims::other) as a JSON object; absent when empty |
//! | `session_id` | S | [`SessionRecord::id`], the session's public id |
//! | `method` | S | [`SessionRecord::method`], as [`LoginMethod::as_str`](crate::store::LoginMethod::as_str) names it |
//! | `mac` | B | the row's MAC, see [Signed rows](#signed-rows) |
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
//! [`MemoryStore`](crate::store::MemoryStore) would give. Expiry is checked on each read: DynamoDB's
//! TTL deletes expired items up to a couple of days late, and until it does they are treated
//! as absent.
//!
//! [`delete_user`](SessionStore::delete_user) is the exception: it finds a user's sessions
//! through the `username` index, and a global secondary index is eventually consistent. It
//! deletes each session with a `DeleteItem` that returns the item removed, and follows the
//! item's `successor`: a session rotated a moment before, whose new item the index doesn't
//! list yet, is ended with it (a rotation that lands after the delete fails its conditional
//! write and removes its new item itself). A session *logged in* in the same instant may
//! still be missed: call it again to be sure. A session it did delete is gone at once for
//! every reader, because they read the table, not the index. One `DeleteItem` per session,
//! 25 at a time, rather than `BatchWriteItem`, which can't say what it removed: deleting
//! everything of a user is rare, and correct beats a few round trips fewer.
//!
//! # Listing a user's sessions
//!
//! [`list_user`](SessionStore::list_user) queries the username index for the user's keys
//! (`KEYS_ONLY` is enough), then reads the items with consistent `BatchGetItem`s, 100 keys
//! each, and checks each one as any read is checked (see [Signed rows](#signed-rows)); the
//! index's projection is not trusted for the list, as it carries no MAC. For a user with `n`
//! sessions that costs about `0.5 + n` read capacity units: the `Query` reads a few bytes
//! per session, eventually consistent (0.5 unit per 4 KB), and each item, under 4 KB even
//! with sealed Cognito tokens, costs one unit read consistently. The index lags as it does
//! for [`delete_user`](SessionStore::delete_user): a session logged in a moment ago may be
//! missing from the list.
//!
//! # Encryption
//!
//! The table holds two live credentials of every Cognito session: the current access token
//! (a bearer token good against this service and any other that accepts the pool's tokens
//! until it expires) and the refresh token (good against Cognito for new tokens until it
//! expires, 30 days by default). Opaque tokens are only kept as hashes. Both Cognito tokens
//! are encrypted with AES-256-GCM under the newest of the store's [`EncryptionKeys`]
//! (`SESSION_ENCRYPTION_KEY`), bound to their item and attribute.
//!
//! **Safe by default**: without a key, a store refuses to write a Cognito token (and
//! [`SessionConfig::from_env`](crate::SessionConfig::from_env) refuses a pool and a table
//! without one), and with or without a key it refuses a token it finds in plaintext. Both
//! are allowed only when asked for, with
//! [`with_plaintext_tokens`](DynamoDbStore::with_plaintext_tokens)
//! (`ALLOW_PLAINTEXT_TOKENS=true`).
//!
//! A sealed value is binary: `0xE1`, the key id, a random 96-bit nonce, then the ciphertext
//! and tag; the format byte and key id are authenticated too. Values written before key ids
//! existed (nonce then ciphertext) are read with key id 1, the id of a single key.
//!
//! - **Rotating keys**: list the new key first (`2:new,1:old`); it seals every value written
//!   from then on, and the old one still opens the values sealed under it. A value is sealed
//!   again at its session's next refresh; drop the old key once every session older than
//!   that has ended (the session lifetime, 7 days by default).
//! - **Migrating a table that holds plaintext tokens**: deploy with the key *and*
//!   `ALLOW_PLAINTEXT_TOKENS=true`. New and refreshed sessions are sealed, old ones are still
//!   read. After the session lifetime every plaintext token has been rewritten or has
//!   expired; then unset `ALLOW_PLAINTEXT_TOKENS`, and a plaintext value in the table (one
//!   planted by someone who can write it but not read the key) is refused. Without the
//!   migration step, plaintext sessions answer 503 until they expire (and their users log in
//!   again).
//!
//! # Signed rows
//!
//! A session is whatever the table says it is: a row names the hash of the token that opens
//! it, the user, and the groups and scopes the guards check. So every row this store writes
//! carries a MAC (`mac`): HMAC-SHA256 over everything in it that grants access (the key,
//! username, `sub`, token hashes, the successor, the Cognito tokens and when the access
//! token expires, groups, scopes and claims, every time, and the version). Its key is
//! derived with HKDF-SHA256 from each of the [`EncryptionKeys`] under a label of its own, and
//! the value is `0x01`, the key id, then the 32-byte tag, so rotating the key ring rotates
//! the MAC keys with it.
//!
//! A row whose MAC is missing or is not one of that row under any key of the ring (forged,
//! edited, truncated, copied from another row or from an older version of the same row, or
//! made under a key the ring doesn't hold) is no session: a read answers none, the request
//! gets a 401, and the store logs a warning with a short hash of the row's key (never a
//! token) and counts it (`cognito_session_rows_refused_total`, feature `metrics`).
//! So someone who can write the table but not read the key can delete sessions, and can
//! put back a copy of a row as it was (a session that was logged out, until it expires),
//! but can't make one, nor change a session's user, groups, scopes or lifetimes.
//!
//! The check runs where an item is decoded, once per read from DynamoDB: one HMAC over a few
//! hundred bytes, nothing next to the round trip. A [`CachedStore`](crate::store::CachedStore)
//! hit reads no item and checks nothing again.
//!
//! - **Without a key** a store refuses to write a row (a [`StoreError::Backend`]), and
//!   [`SessionManager::from_env`](crate::SessionManager::from_env) refuses `SESSION_TABLE`
//!   without `SESSION_ENCRYPTION_KEY`, unless
//!   [`with_unsigned_rows`](DynamoDbStore::with_unsigned_rows) (`ALLOW_UNSIGNED_ROWS=true`)
//!   allows it: then rows are written without a MAC and trusted as they are.
//! - **Migrating a table written by a version that signed nothing**: deploy with the key and
//!   `ALLOW_UNSIGNED_ROWS=true`. Rows without a MAC are still read; every row written from
//!   then on, by a log-in, rotation, refresh or touch, is signed. After the session lifetime
//!   (7 days by default) every unsigned row has been rewritten or has expired; unset
//!   `ALLOW_UNSIGNED_ROWS`, and an unsigned row (one planted by someone without the key) is
//!   refused. A row with a wrong MAC is refused during the migration too.
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

mod error;
mod item;
mod mac;
mod table;
mod user;

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::KeyInit;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::ReturnValue;

use self::error::sdk_error;
use self::item::{Item, n, s};
use super::{SessionStore, StoreError};
use crate::{ConfigError, SessionRecord};

mod encryption;
mod settings;

pub use self::encryption::EncryptionKeys;
pub use self::settings::TableSettings;

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
    pub(super) const GROUPS: &str = "groups";
    pub(super) const SCOPES: &str = "scopes";
    pub(super) const CLAIMS: &str = "claims";
    pub(super) const MAC: &str = "mac";
    pub(super) const ID: &str = "session_id";
    pub(super) const METHOD: &str = "method";

    pub(super) const ALL: [&str; 20] = [
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
        GROUPS,
        SCOPES,
        CLAIMS,
        MAC,
        ID,
        METHOD,
    ];
}

/// Ciphers for each of `keys`, in their order.
fn ciphers(keys: &EncryptionKeys) -> Vec<(u8, Aes256Gcm)> {
    keys.keys()
        .iter()
        .map(|(id, key)| (*id, Aes256Gcm::new(key.into())))
        .collect()
}

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
    /// The encryption keys made ready: newest first, the first encrypts.
    ciphers: Vec<(u8, Aes256Gcm)>,
    /// The row MAC keys derived from them, in the same order.
    row_keys: mac::RowKeys,
    allow_plaintext_tokens: bool,
    allow_unsigned_rows: bool,
}

impl fmt::Debug for DynamoDbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoDbStore")
            .field("table", &self.table)
            .field("page_size", &self.page_size)
            .field(
                "encryption",
                &if self.ciphers.is_empty() {
                    "none"
                } else {
                    "AES-256-GCM"
                },
            )
            .field("unsigned_rows", &self.allow_unsigned_rows)
            .finish_non_exhaustive()
    }
}

impl DynamoDbStore {
    /// Deletes the item under `key` and returns it, if there was one.
    async fn delete_item(&self, key: &str) -> Result<Option<item::Item>, StoreError> {
        let (pk, value) = self.key_of(key);
        let output = self
            .client
            .delete_item()
            .table_name(&self.table.name)
            .key(pk, value)
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem", e))?;
        Ok(output.attributes.filter(|old| !old.is_empty()))
    }

    /// A store on `table`, reached through `client`, with no encryption key, and neither
    /// plaintext tokens nor unsigned rows allowed: give it a key with
    /// [`with_encryption_keys`](Self::with_encryption_keys), which signs every row and seals
    /// Cognito's tokens (see [Signed rows](self#signed-rows)); until then it refuses to write.
    ///
    /// Give the client a timeout (see [Timeouts](self#timeouts)). DynamoDB is not called
    /// here; [`create_table`](Self::create_table) makes or checks the table.
    ///
    /// Fails with [`ConfigError::Setting`] (`partition_key`) when the partition key has the
    /// name of a session attribute (`username`, `expires_at`, ...): every item would hold
    /// one in place of the other.
    pub fn new(client: Client, table: TableSettings) -> Result<Self, ConfigError> {
        table.validate()?;
        Ok(Self {
            client,
            table,
            page_size: None,
            ciphers: Vec::new(),
            row_keys: mac::RowKeys::default(),
            allow_plaintext_tokens: false,
            allow_unsigned_rows: false,
        })
    }

    /// How many index entries each `Query` page of [`delete_user`](SessionStore::delete_user)
    /// asks for; values below 1 count as 1. Default `None`: DynamoDB's own limit of 1 MB a
    /// page, thousands of sessions. Small pages are mostly useful to test pagination.
    ///
    /// ```no_run
    /// # use cognito_session::store::dynamodb::{DynamoDbStore, TableSettings};
    /// # fn client() -> aws_sdk_dynamodb::Client { unimplemented!() }
    /// let store = DynamoDbStore::new(client(), TableSettings::new("sessions"))?
    ///     .with_page_size(Some(100));
    /// # Ok::<(), cognito_session::ConfigError>(())
    /// ```
    pub fn with_page_size(mut self, page_size: Option<i32>) -> Self {
        self.page_size = page_size.map(|n| n.max(1));
        self
    }

    /// Encrypts the Cognito access and refresh tokens with AES-256-GCM under `key`, as key
    /// id 1: [`with_encryption_keys`](Self::with_encryption_keys) with
    /// [`EncryptionKeys::single`]. Default: none.
    ///
    /// ```no_run
    /// # use cognito_session::store::dynamodb::{DynamoDbStore, TableSettings};
    /// # fn client() -> aws_sdk_dynamodb::Client { unimplemented!() }
    /// # fn key_from_your_secret_manager() -> [u8; 32] { [7; 32] }
    /// let store = DynamoDbStore::new(client(), TableSettings::new("sessions"))?
    ///     .with_encryption_key(key_from_your_secret_manager());
    /// # Ok::<(), cognito_session::ConfigError>(())
    /// ```
    pub fn with_encryption_key(self, key: [u8; 32]) -> Self {
        self.with_encryption_keys(Some(EncryptionKeys::single(key)))
    }

    /// Encrypts the Cognito access and refresh tokens with AES-256-GCM under the newest of
    /// `keys`, and decrypts with any of them (see [Encryption](self#encryption)). Default:
    /// none (`SESSION_ENCRYPTION_KEY` for [`SessionManager::from_env`](crate::SessionManager::from_env)).
    ///
    /// Without keys, Cognito tokens are refused (a [`StoreError::Backend`] on writing or
    /// reading one) unless [`with_plaintext_tokens`](Self::with_plaintext_tokens) allows
    /// them.
    ///
    /// ```no_run
    /// # use cognito_session::store::dynamodb::{DynamoDbStore, EncryptionKeys, TableSettings};
    /// # fn client() -> aws_sdk_dynamodb::Client { unimplemented!() }
    /// // Rotating: key 2 seals from now on; values sealed under key 1 are still read.
    /// let keys = EncryptionKeys::new([(2, [2; 32]), (1, [1; 32])])?;
    /// let store = DynamoDbStore::new(client(), TableSettings::new("sessions"))?
    ///     .with_encryption_keys(Some(keys));
    /// # Ok::<(), cognito_session::ConfigError>(())
    /// ```
    pub fn with_encryption_keys(mut self, keys: Option<EncryptionKeys>) -> Self {
        self.ciphers = keys.as_ref().map_or_else(Vec::new, ciphers);
        self.row_keys = keys
            .as_ref()
            .map_or_else(mac::RowKeys::default, mac::RowKeys::derive);
        self
    }

    /// Whether Cognito tokens may be in the table as plaintext: without keys they are then
    /// written so, with keys they are written encrypted but plaintext ones are still read
    /// (a table written without a key, being migrated). Default `false`
    /// (`ALLOW_PLAINTEXT_TOKENS` for [`SessionManager::from_env`](crate::SessionManager::from_env)):
    /// a plaintext token is a [`StoreError::Backend`].
    ///
    /// ```no_run
    /// # use cognito_session::store::dynamodb::{DynamoDbStore, TableSettings};
    /// # fn client() -> aws_sdk_dynamodb::Client { unimplemented!() }
    /// # fn key_from_your_secret_manager() -> [u8; 32] { [7; 32] }
    /// // Turning encryption on for a table that holds plaintext tokens: they are read
    /// // until every session has been refreshed (and so sealed) or has expired.
    /// let store = DynamoDbStore::new(client(), TableSettings::new("sessions"))?
    ///     .with_encryption_key(key_from_your_secret_manager())
    ///     .with_plaintext_tokens(true);
    /// # Ok::<(), cognito_session::ConfigError>(())
    /// ```
    pub fn with_plaintext_tokens(mut self, allow: bool) -> Self {
        self.allow_plaintext_tokens = allow;
        self
    }

    /// Whether rows without a MAC are taken: read as sessions, and written by a store that
    /// has no key to sign them with. Default `false` (`ALLOW_UNSIGNED_ROWS` for
    /// [`SessionManager::from_env`](crate::SessionManager::from_env)): an unsigned row is no
    /// session (the request gets a 401), and a store without keys refuses to write one.
    ///
    /// For the time a table written by an earlier version (which signed nothing) is
    /// migrated, see [Signed rows](self#signed-rows); or for a table of opaque sessions that
    /// is deliberately run without a key. A row whose MAC is present but wrong is refused
    /// either way.
    ///
    /// ```no_run
    /// # use cognito_session::store::dynamodb::{DynamoDbStore, TableSettings};
    /// # fn client() -> aws_sdk_dynamodb::Client { unimplemented!() }
    /// # fn key_from_your_secret_manager() -> [u8; 32] { [7; 32] }
    /// // Sessions written before rows were signed stay live until they end; every row
    /// // written from now on is signed.
    /// let store = DynamoDbStore::new(client(), TableSettings::new("sessions"))?
    ///     .with_encryption_key(key_from_your_secret_manager())
    ///     .with_unsigned_rows(true);
    /// # Ok::<(), cognito_session::ConfigError>(())
    /// ```
    pub fn with_unsigned_rows(mut self, allow: bool) -> Self {
        self.allow_unsigned_rows = allow;
        self
    }

    /// The table this store uses.
    pub fn table(&self) -> &TableSettings {
        &self.table
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
            .expression_attribute_names("#pk", &self.table.partition_key)
            .expression_attribute_values(":user", s(username))
            .set_limit(self.page_size)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))
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
            .expression_attribute_names("#pk", &self.table.partition_key)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    async fn load(&self, key: &str, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        let (pk, value) = self.key_of(key);
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
                Ok(self.session(item)?.filter(|record| record.expires_at > now))
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

    /// Sets the two times and signs the row again: the MAC covers them, and the condition on
    /// the version makes sure every other field it covers is what `record` holds.
    async fn touch(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let (pk, value) = self.key_of(&record.key);
        let mac = self.sign_touched(record)?;
        let update = match mac {
            Some(_) => "SET #seen = :seen, #exp = :exp, #mac = :mac",
            None => "SET #seen = :seen, #exp = :exp",
        };
        let mut call = self
            .client
            .update_item()
            .table_name(&self.table.name)
            .key(pk, value)
            .update_expression(update)
            // Also keeps UpdateItem from creating a stub item for a deleted session.
            .condition_expression("#version = :version")
            .expression_attribute_names("#seen", attr::LAST_SEEN_AT)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_names("#version", attr::VERSION)
            .expression_attribute_values(":seen", n(record.last_seen_at))
            .expression_attribute_values(":exp", n(record.expires_at))
            .expression_attribute_values(":version", n(record.version));
        if let Some(mac) = mac {
            call = call
                .expression_attribute_names("#mac", attr::MAC)
                .expression_attribute_values(":mac", mac);
        }
        call.send().await.map_err(|e| sdk_error("UpdateItem", e))?;
        Ok(())
    }

    /// A malformed item is deleted all the same, and reported as [`StoreError::Backend`]; an
    /// item whose MAC refuses it is deleted, and was no session (`None`).
    async fn take(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        match self.delete_item(key).await? {
            Some(old) => self.session(&old),
            None => Ok(None),
        }
    }

    async fn delete_version(&self, key: &str, version: u64) -> Result<(), StoreError> {
        let (pk, value) = self.key_of(key);
        self.client
            .delete_item()
            .table_name(&self.table.name)
            .key(pk, value)
            // Fails on a missing item too: it has no version to compare.
            .condition_expression("#version = :version")
            .expression_attribute_names("#version", attr::VERSION)
            .expression_attribute_values(":version", n(version))
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem", e))?;
        Ok(())
    }

    /// Finds the user's sessions through the username index, deletes them, and follows
    /// each one's rotation successor; how many items it removed. See
    /// [Consistency](self#consistency) for what the index can miss.
    async fn delete_user(&self, username: &str) -> Result<usize, StoreError> {
        self.delete_sessions_of(username).await
    }

    /// Finds the user's sessions through the username index and reads each one: see
    /// [Listing a user's sessions](self#listing-a-users-sessions) for what it costs.
    async fn list_user(&self, username: &str, now: u64) -> Result<Vec<SessionRecord>, StoreError> {
        self.sessions_of(username, now).await
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Region};

    use super::*;
    use crate::{Claims, CognitoTokens, Secret, TokenHash};

    pub(super) fn store() -> DynamoDbStore {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        DynamoDbStore::new(Client::from_conf(config), TableSettings::new("sessions")).unwrap()
    }

    pub(super) fn record(cognito: bool) -> SessionRecord {
        SessionRecord {
            key: TokenHash::of("token").to_hex(),
            username: "alice".into(),
            sub: None,
            token_hash: TokenHash::of("token"),
            previous: None,
            successor: None,
            cognito: cognito.then(|| CognitoTokens {
                access_token: Secret::new("access.jwt.value"),
                refresh_token: Secret::new("refresh-token-value"),
                access_expires_at: 1_700_003_600,
            }),
            claims: Claims::default(),
            created_at: 1_700_000_000,
            last_seen_at: 1_700_000_100,
            refreshed_at: 1_700_000_000,
            expires_at: 1_700_604_800,
            version: 3,
            id: None,
            method: None,
        }
    }

    pub(super) fn full_record() -> SessionRecord {
        SessionRecord {
            sub: Some("sub-1".into()),
            previous: Some(Box::new(crate::PreviousToken {
                hash: TokenHash::of("old"),
                valid_until: 1_700_000_030,
            })),
            successor: Some("next".into()),
            claims: Claims::new()
                .with_groups(["admins", "staff"])
                .with_scopes(["orders/read"])
                .with_claim("custom:tenant", serde_json::json!("acme"))
                .with_claim("custom:level", serde_json::json!({ "n": 3, "ok": true })),
            id: Some("AAECAwQFBgc".parse().unwrap()),
            method: Some(crate::store::LoginMethod::Srp),
            ..record(true)
        }
    }

    #[test]
    fn a_partition_key_named_like_an_attribute_is_refused() {
        let client = store().client;
        for name in attr::ALL {
            let mut table = TableSettings::new("sessions");
            table.partition_key = name.into();
            assert!(
                matches!(
                    DynamoDbStore::new(client.clone(), table),
                    Err(ConfigError::Setting {
                        setting: "partition_key",
                        ..
                    })
                ),
                "{name}"
            );
        }
        // `sub` is fine: `@sswahn/session`'s tables use it, and the record's sub is `user_sub`.
        let mut table = TableSettings::new("sessions");
        table.partition_key = "sub".into();
        let store = DynamoDbStore::new(client, table)
            .unwrap()
            .with_encryption_key([3; 32]);
        let item = store.encode(&full_record()).unwrap();
        assert_eq!(store.decode(&item).unwrap().unwrap(), full_record());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let store = store().with_encryption_key([0xAB; 32]);
        let debug = format!("{store:?}");
        assert!(debug.contains("AES-256-GCM"), "{debug}");
        assert!(!debug.to_lowercase().contains("ab, "), "{debug}");
        assert!(!debug.contains("171"), "{debug}");
    }
}
