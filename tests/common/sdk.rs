//! AWS SDK clients for the local emulators, and an interceptor that records what they send.
//! The tests (`tests/common`) and the benchmarks (`benches/support`, through `#[path]`) share
//! this file, which needs the `cognito` feature (as every one of them does). `Calls` counts
//! the calls of either client: both SDKs share the interceptor trait.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use aws_sdk_cognitoidentityprovider::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_cognitoidentityprovider::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_cognitoidentityprovider::error::BoxError;

/// The environment variable that holds DynamoDB Local's base URL (`http://127.0.0.1:PORT`),
/// set by `scripts/emulators.sh`.
pub const DYNAMODB_LOCAL_URL: &str = "COGNITO_SESSION_DYNAMODB_LOCAL_URL";
/// The environment variable that holds moto's base URL.
pub const MOTO_URL: &str = "COGNITO_SESSION_MOTO_URL";

/// The settings every DynamoDB client for an emulator at `url` has: us-east-1, and static
/// credentials with `access_key` (DynamoDB Local keeps one database per access key).
#[cfg(feature = "dynamodb")]
pub fn dynamodb(url: &str, access_key: &str) -> aws_sdk_dynamodb::config::Builder {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access_key, "test", None, None, "emulator"))
}

/// The settings every Cognito client for an emulator at `url` has: us-east-1, and static
/// credentials.
pub fn cognito(url: &str) -> aws_sdk_cognitoidentityprovider::config::Builder {
    use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
    aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "emulator"))
}

/// One request an SDK client transmitted.
#[derive(Debug)]
struct Sent {
    /// The operation (`GetItem`, `InitiateAuth`), from `X-Amz-Target`.
    operation: String,
    /// `amz-sdk-invocation-id`: one per execution, repeated by its retries.
    invocation: String,
    /// A `GetItem` that asked for a consistent read.
    consistent_read: bool,
}

/// Records the requests an SDK client transmits (`.interceptor(calls.clone())` on its
/// config), to count calls by operation.
#[derive(Clone, Debug, Default)]
pub struct Calls(Arc<Mutex<Vec<Sent>>>);

impl Calls {
    /// How many calls of `operation` were made: executions, however often the SDK retried
    /// each.
    pub fn get(&self, operation: &str) -> usize {
        let sent = self.0.lock().unwrap();
        let calls: HashSet<&str> = sent
            .iter()
            .filter(|s| s.operation == operation)
            .map(|s| s.invocation.as_str())
            .collect();
        calls.len()
    }

    /// The requests transmitted since the last `take`, by operation, retries included;
    /// consistent `GetItem`s are also counted as `GetItem (consistent)`.
    pub fn take(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for sent in std::mem::take(&mut *self.0.lock().unwrap()) {
            if sent.consistent_read {
                *counts.entry("GetItem (consistent)".to_owned()).or_default() += 1;
            }
            *counts.entry(sent.operation).or_default() += 1;
        }
        counts
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let headers = request.headers();
        // The JSON protocol names the operation in X-Amz-Target: "Service.Operation".
        let operation = headers
            .get("x-amz-target")
            .and_then(|target| target.rsplit('.').next())
            .unwrap_or("unknown")
            .to_owned();
        let consistent_read = operation == "GetItem"
            && request
                .body()
                .bytes()
                .is_some_and(|body| body.windows(21).any(|w| w == b"\"ConsistentRead\":true"));
        let invocation = headers
            .get("amz-sdk-invocation-id")
            .unwrap_or_default()
            .to_owned();
        self.0.lock().unwrap().push(Sent {
            operation,
            invocation,
            consistent_read,
        });
        Ok(())
    }
}
