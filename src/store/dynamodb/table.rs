//! Provisioning: [`DynamoDbStore::create_table`] makes the table, or checks that an existing
//! one fits.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableDescription, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};

use super::error::{backend, backend_msg, sdk_error};
use super::{DynamoDbStore, attr};
use crate::store::StoreError;

/// How long [`DynamoDbStore::create_table`] waits for the table and its index to become
/// `ACTIVE`. A new on-demand table usually takes seconds; an index backfill on a big existing
/// table can take far longer, and then it is better to fail and let the caller decide.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

impl DynamoDbStore {
    /// Creates the table if it doesn't exist: on-demand billing, the partition key, the
    /// `username` index (`KEYS_ONLY`), and time to live on `expires_at`. Waits until table
    /// and index are `ACTIVE` (at most two minutes, then [`StoreError::Unavailable`]).
    ///
    /// When the table exists it only checks that its keys fit ([`StoreError::Backend`] if
    /// not), waits, and turns time to live on if it is off, so it is safe to call at every
    /// start-up. Time to live already on another attribute is a `Backend` error: items would
    /// then never be deleted.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let pk = &self.table.partition_key;
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

    /// Whether the table exists (`DescribeTable`): the start-up check of
    /// [`SessionManager::from_env`](crate::SessionManager::from_env), which then makes a
    /// missing one with [`create_table`](Self::create_table).
    pub(crate) async fn table_exists(&self) -> Result<bool, StoreError> {
        match self
            .client
            .describe_table()
            .table_name(&self.table.name)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error("DescribeTable", e)),
        }
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
