//! The session manager the environment asks for, checked at start.

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use cognito_session::cognito::{AppClientCheck, CognitoOptions};
use cognito_session::store::CachedStore;
use cognito_session::store::dynamodb::DynamoDbStore;
use cognito_session::{
    CognitoSettings, MemoryStore, SessionConfig, SessionError, SessionManager, SessionStore,
    TableSettings,
};

/// The session manager the environment asks for: memory or DynamoDB, opaque or Cognito.
/// Anything unreachable or missing is reported here, at start, not at the first request.
pub async fn sessions(config: SessionConfig) -> Result<SessionManager, String> {
    if config.table().is_none() && config.cognito().is_none() {
        tracing::warn!(
            "embedded mode: sessions in memory, passwords are NOT checked \
             (set SESSION_TABLE for DynamoDB, USER_POOL_ID and CLIENT_ID for Cognito)"
        );
        return SessionManager::new(MemoryStore::new(), config).map_err(|e| e.to_string());
    }
    let aws = aws_config::defaults(BehaviorVersion::latest())
        // An outage should become a quick 503, not a request hanging on SDK retries.
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_timeout(Duration::from_secs(3))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .load()
        .await;
    if aws.region().is_none() {
        return Err("AWS_REGION: not set, and DynamoDB and Cognito need a region".into());
    }

    let store: Arc<dyn SessionStore> = match config.table() {
        Some(table) => {
            let store = dynamodb_store(aws_sdk_dynamodb::Client::new(&aws), table).await?;
            match table.cache {
                Some(ttl) => Arc::new(CachedStore::new(store, ttl)),
                None => Arc::new(store),
            }
        }
        None => Arc::new(MemoryStore::new()),
    };
    let Some(cognito) = config.cognito().cloned() else {
        tracing::warn!("no Cognito pool: opaque sessions in DynamoDB, passwords are NOT checked");
        return SessionManager::new(store, config).map_err(|e| e.to_string());
    };
    check_keys(&cognito.jwks_url()).await?;
    let global_sign_out = match std::env::var("COGNITO_GLOBAL_SIGN_OUT").as_deref() {
        Ok("true") => true,
        Ok("false") | Err(_) => false,
        Ok(other) => {
            return Err(format!(
                "COGNITO_GLOBAL_SIGN_OUT: expected true or false, got {other:?}"
            ));
        }
    };
    let mut options = CognitoOptions::default().with_global_sign_out(global_sign_out);
    match std::env::var("COGNITO_CHALLENGE_KEY") {
        Ok(key) if key.len() < 32 => {
            return Err("COGNITO_CHALLENGE_KEY: must be at least 32 bytes".into());
        }
        Ok(key) => options = options.with_challenge_key(key),
        Err(_) if cognito.client_secret.is_none() => tracing::info!(
            "challenge sessions are sealed with a key of this process: run one instance, \
             or set COGNITO_CHALLENGE_KEY on all of them"
        ),
        Err(_) => {}
    }
    let client = aws_sdk_cognitoidentityprovider::Client::new(&aws);
    tracing::info!(pool = %cognito.user_pool_id, client = %cognito.client_id, "Cognito mode");
    let sessions = SessionManager::with_cognito_options(store, config, client, options)
        .map_err(|e| e.to_string())?;
    check_app_client(&sessions, &cognito).await?;
    Ok(sessions)
}

/// Stops the start when the app client doesn't allow the log-in flow or refreshes, naming
/// the flag to enable; goes on with a warning when the AWS credentials can't tell.
async fn check_app_client(
    sessions: &SessionManager,
    cognito: &CognitoSettings,
) -> Result<(), String> {
    match sessions.check_app_client().await {
        Ok(AppClientCheck::Ready) => {
            tracing::info!(
                flow = cognito.auth_flow.client_flag(),
                "app client allows the log-in flow and refreshes"
            );
            Ok(())
        }
        Ok(AppClientCheck::Unknown { reason }) => {
            tracing::warn!(
                %reason,
                "could not check the app client's authentication flows; it must allow {} and ALLOW_REFRESH_TOKEN_AUTH",
                cognito.auth_flow.client_flag()
            );
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(SessionError::FlowNotEnabled { flag }) => {
            let or = if flag == cognito.auth_flow.client_flag() {
                ", or set COGNITO_AUTH_FLOW to a flow it allows (password or srp)"
            } else {
                ""
            };
            Err(format!(
                "CLIENT_ID: the app client {} does not allow {flag}: enable it (user pool → \
                 App clients → Authentication flows){or}",
                cognito.client_id
            ))
        }
        Err(SessionError::UnknownAppClient) => Err(format!(
            "CLIENT_ID: the user pool {} has no app client {}",
            cognito.user_pool_id, cognito.client_id
        )),
        Err(e) => {
            tracing::warn!(error = %e, "could not check the app client's authentication flows");
            Ok(())
        }
    }
}

/// The session table, created (with its index and TTL) if it is missing.
async fn dynamodb_store(
    client: aws_sdk_dynamodb::Client,
    table: &TableSettings,
) -> Result<DynamoDbStore, String> {
    let missing = match client.describe_table().table_name(&table.name).send().await {
        Ok(_) => false,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            true
        }
        Err(e) => {
            return Err(format!(
                "SESSION_TABLE: cannot reach DynamoDB to check table {:?}: {}",
                table.name,
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
            ));
        }
    };
    let store = DynamoDbStore::new(client, table.clone()).map_err(|e| e.to_string())?;
    // `DynamoDbStore::new` applies SESSION_ENCRYPTION_KEY and ALLOW_PLAINTEXT_TOKENS, which
    // `SessionConfig::from_env` has checked: a Cognito pool on a table needs one of them.
    match &table.encryption {
        Some(keys) => tracing::info!(
            key_id = keys.current_id(),
            keys = keys.ids().count(),
            "Cognito tokens in the table are encrypted"
        ),
        None if table.allow_plaintext_tokens => tracing::warn!(
            "ALLOW_PLAINTEXT_TOKENS: Cognito tokens are stored in the table in plaintext"
        ),
        None => {}
    }
    if missing {
        store.create_table().await.map_err(|e| {
            format!(
                "SESSION_TABLE: table {:?} is missing and could not be created: {e}",
                table.name
            )
        })?;
        tracing::info!(table = %table.name, "created the session table (with its username index and TTL)");
    } else {
        tracing::info!(table = %table.name, "using the session table");
    }
    Ok(store)
}

/// Fetches the pool's keys once, so a wrong pool or an unreachable endpoint stops the start.
async fn check_keys(url: &str) -> Result<(), String> {
    let fail =
        |why: String| format!("USER_POOL_ID: cannot fetch the pool's keys from {url}: {why}");
    let response = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !response.status().is_success() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    Ok(())
}
