//! DynamoDB clients and fresh tables on the emulators.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use cognito_session::store::dynamodb::DynamoDbStore;
use cognito_session::store::dynamodb::TableSettings;

/// A client for an emulator at `url`: static credentials, and a short operation timeout as
/// the store's docs tell users to set, so an outage is a quick error.
pub fn client(url: &str, access_key: &str, operation_timeout: Duration) -> Client {
    let config = super::sdk::dynamodb(url, access_key)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_timeout(operation_timeout)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .build();
    Client::from_conf(config)
}

/// The encryption key of the tests' stores, and of the example server they start.
pub const TEST_KEY: [u8; 32] = [0x5E; 32];

/// [`TEST_KEY`] as `SESSION_ENCRYPTION_KEY` spells it.
#[allow(dead_code)]
pub const TEST_KEY_BASE64: &str = "Xl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl4=";

/// A store on `table` through `client`, encrypting with [`TEST_KEY`] (a store without a
/// key refuses Cognito tokens): the tests make every `DynamoDbStore` here.
pub fn store(client: Client, table: TableSettings) -> DynamoDbStore {
    DynamoDbStore::new(client, table)
        .expect("the tests' partition keys are valid")
        .with_encryption_key(TEST_KEY)
}

/// A store on a new table at `url`, its client giving up after `operation_timeout`.
pub async fn fresh_store(url: &str, operation_timeout: Duration) -> DynamoDbStore {
    let table = TableSettings::new(super::unique("sessions"));
    // A freshly started DynamoDB Local may take seconds over its first requests.
    store(client(url, "test", Duration::from_secs(30)), table.clone())
        .create_table()
        .await
        .expect("create the session table");
    store(client(url, "test", operation_timeout), table)
}
