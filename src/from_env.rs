//! [`SessionManager::from_env`]: the whole manager from environment variables, its AWS
//! resources checked at start.

use std::time::Duration;

use crate::env::Env;
use crate::error::ConfigError;
use crate::{MemoryStore, SessionConfig, SessionManager};

/// Why [`SessionManager::from_env`] could not build a manager. The message names the
/// variable at fault and, for an AWS resource, the resource.
///
/// ```
/// use cognito_session::{ConfigError, StartError};
///
/// let error = StartError::from(ConfigError::Env { variable: "SESSION_TABLE", message: "x".into() });
/// assert_eq!(error.to_string(), "SESSION_TABLE: x");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A variable is malformed, or needs another one.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An AWS resource the variables name can't be used: the table can't be reached or
    /// made, the pool's keys can't be fetched, the app client doesn't allow the log-in flow.
    #[error("{variable}: {message}")]
    Aws {
        /// The variable that names the resource (`SESSION_TABLE`, `USER_POOL_ID`,
        /// `CLIENT_ID`, `AWS_REGION`).
        variable: &'static str,
        /// What is wrong, naming the resource.
        message: String,
    },
}

impl StartError {
    #[cfg(any(feature = "dynamodb", feature = "cognito"))]
    fn aws(variable: &'static str, message: impl Into<String>) -> Self {
        Self::Aws {
            variable,
            message: message.into(),
        }
    }
}

/// Everything the environment says, read and checked before anything is called.
#[derive(Debug)]
pub(crate) struct EnvSettings {
    pub(crate) config: SessionConfig,
    #[cfg_attr(not(any(feature = "dynamodb", feature = "cognito")), allow(dead_code))]
    pub(crate) cache: Option<Duration>,
    #[cfg(feature = "dynamodb")]
    pub(crate) table: Option<crate::store::dynamodb::TableSettings>,
    #[cfg(feature = "dynamodb")]
    pub(crate) encryption: Option<crate::store::dynamodb::EncryptionKeys>,
    #[cfg(feature = "dynamodb")]
    pub(crate) allow_plaintext_tokens: bool,
    #[cfg(feature = "dynamodb")]
    pub(crate) allow_unsigned_rows: bool,
    #[cfg(feature = "cognito")]
    pub(crate) cognito: Option<crate::cognito::CognitoSettings>,
}

impl EnvSettings {
    pub(crate) fn read(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let config = SessionConfig::from_env_with(&var)?;
        let env = Env::new(&var);
        let cache = env.secs("SESSION_CACHE_SECS")?;
        #[cfg(not(feature = "dynamodb"))]
        if env.get("SESSION_TABLE").is_some() {
            return Err(ConfigError::env(
                "SESSION_TABLE",
                "set, but this build has no `dynamodb` feature",
            ));
        }
        #[cfg(not(feature = "cognito"))]
        if env.get("USER_POOL_ID").is_some() || env.get("CLIENT_ID").is_some() {
            return Err(ConfigError::env(
                "USER_POOL_ID",
                "set, but this build has no `cognito` feature",
            ));
        }
        let settings = Self {
            config,
            cache,
            #[cfg(feature = "dynamodb")]
            table: crate::store::dynamodb::TableSettings::from_env_with(&var),
            // Read even without a table, so that a malformed key is reported wherever it is set.
            #[cfg(feature = "dynamodb")]
            encryption: env
                .get("SESSION_ENCRYPTION_KEY")
                .map(|keys| keys.parse())
                .transpose()?,
            #[cfg(feature = "dynamodb")]
            allow_plaintext_tokens: env.flag("ALLOW_PLAINTEXT_TOKENS")?.unwrap_or(false),
            #[cfg(feature = "dynamodb")]
            allow_unsigned_rows: env.flag("ALLOW_UNSIGNED_ROWS")?.unwrap_or(false),
            #[cfg(feature = "cognito")]
            cognito: crate::cognito::CognitoSettings::from_env_with(&var)?,
        };
        // The newest key is a secret only this service holds, unlike the client secret.
        #[cfg(all(feature = "dynamodb", feature = "cognito"))]
        let settings = Self {
            cognito: match (settings.cognito, &settings.encryption) {
                (Some(cognito), Some(keys)) => Some(cognito.with_service_secret(&keys.keys()[0].1)),
                (cognito, _) => cognito,
            },
            ..settings
        };
        #[cfg(all(feature = "dynamodb", feature = "cognito"))]
        if settings.table.is_some()
            && settings.cognito.is_some()
            && settings.encryption.is_none()
            && !settings.allow_plaintext_tokens
        {
            return Err(ConfigError::env(
                "SESSION_ENCRYPTION_KEY",
                "not set, and Cognito sessions in SESSION_TABLE hold each user's access and \
                 refresh tokens: set it to the base64 of 32 random bytes (`openssl rand \
                 -base64 32`), or set ALLOW_PLAINTEXT_TOKENS=true to store them in plaintext",
            ));
        }
        #[cfg(feature = "dynamodb")]
        if settings.table.is_some()
            && settings.encryption.is_none()
            && !settings.allow_unsigned_rows
        {
            return Err(ConfigError::env(
                "SESSION_ENCRYPTION_KEY",
                "not set, and it signs every row of SESSION_TABLE, so that whoever can write \
                 the table but not read the key can't make or change a session: set it to the \
                 base64 of 32 random bytes (`openssl rand -base64 32`), or set \
                 ALLOW_UNSIGNED_ROWS=true to trust every row as it is",
            ));
        }
        Ok(settings)
    }

    fn uses_aws(&self) -> bool {
        #[cfg(feature = "dynamodb")]
        if self.table.is_some() {
            return true;
        }
        #[cfg(feature = "cognito")]
        if self.cognito.is_some() {
            return true;
        }
        false
    }

    /// The manager, its resources checked: the table (made if missing), the pool's keys
    /// (kept) and the app client's flows, all at once.
    async fn build(self) -> Result<SessionManager, StartError> {
        if !self.uses_aws() {
            tracing::warn!(
                "embedded mode: sessions in memory, opaque tokens \
                 (set SESSION_TABLE for DynamoDB, USER_POOL_ID and CLIENT_ID for Cognito)"
            );
            return Ok(SessionManager::new(MemoryStore::new(), self.config)?);
        }
        #[cfg(any(feature = "dynamodb", feature = "cognito"))]
        return self.build_on_aws().await;
        #[cfg(not(any(feature = "dynamodb", feature = "cognito")))]
        unreachable!("no AWS settings can be read without the features")
    }

    #[cfg(any(feature = "dynamodb", feature = "cognito"))]
    async fn build_on_aws(self) -> Result<SessionManager, StartError> {
        use std::sync::Arc;

        use crate::SessionStore;

        let aws = aws::config().await;
        if aws.region().is_none() {
            return Err(StartError::aws(
                "AWS_REGION",
                "not set, and DynamoDB and Cognito need a region",
            ));
        }
        #[cfg(feature = "dynamodb")]
        let table = match &self.table {
            Some(table) => {
                let store = crate::store::dynamodb::DynamoDbStore::new(
                    aws_sdk_dynamodb::Client::new(&aws),
                    table.clone(),
                )?
                .with_encryption_keys(self.encryption.clone())
                .with_plaintext_tokens(self.allow_plaintext_tokens)
                .with_unsigned_rows(self.allow_unsigned_rows);
                Some(store)
            }
            None => None,
        };
        #[cfg(not(feature = "dynamodb"))]
        let table: Option<Arc<MemoryStore>> = None;

        let store: Arc<dyn SessionStore> = match (&table, self.cache) {
            (Some(table), Some(ttl)) => {
                Arc::new(crate::store::CachedStore::new(table.clone(), ttl))
            }
            (Some(table), None) => Arc::new(table.clone()),
            (None, _) => {
                tracing::warn!(
                    "sessions are kept in this process only (no SESSION_TABLE): they end when \
                     it stops, and other instances behind the same load balancer don't see them"
                );
                Arc::new(MemoryStore::new())
            }
        };
        #[cfg(feature = "cognito")]
        let manager = match self.cognito {
            Some(cognito) => {
                tracing::info!(
                    pool = cognito.user_pool_id(),
                    client = cognito.client_id(),
                    "Cognito mode"
                );
                SessionManager::with_cognito(
                    store,
                    self.config,
                    cognito,
                    aws_sdk_cognitoidentityprovider::Client::new(&aws),
                )?
            }
            None => SessionManager::new(store, self.config)?,
        };
        #[cfg(not(feature = "cognito"))]
        let manager = SessionManager::new(store, self.config)?;

        // One round trip's worth of start-up, not three. Each check's time is logged, as
        // a cold start's cost shows up in no request's span.
        let started = std::time::Instant::now();
        let ((table, table_ms), (keys, keys_ms), (client, client_ms)) = tokio::join!(
            aws::timed(aws::ready_table(table.as_ref())),
            aws::timed(aws::prefetch_keys(&manager)),
            aws::timed(aws::check_app_client(&manager)),
        );
        tracing::info!(
            table_ms,
            keys_ms,
            client_ms,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "start-up checks done"
        );
        table?;
        keys?;
        client?;
        Ok(manager)
    }
}

impl SessionManager {
    /// The manager the environment asks for, with its AWS resources checked: what a service
    /// calls once at start.
    ///
    /// - Sessions live in memory, or in DynamoDB with `SESSION_TABLE` (the table is made,
    ///   with its index and TTL, if it is missing), read through a [`CachedStore`]
    ///   with `SESSION_CACHE_SECS`.
    /// - With `USER_POOL_ID` and `CLIENT_ID`, sessions are Cognito log-ins
    ///   ([`CognitoSettings::from_env_with`](crate::cognito::CognitoSettings::from_env_with)
    ///   lists the variables, managed login included); opaque tokens keep working.
    /// - The AWS clients come from the AWS SDK's own configuration (`AWS_REGION`,
    ///   credentials, `AWS_ENDPOINT_URL`), with a 1 s connect and 3 s operation timeout and
    ///   two attempts, so that an outage is a quick 503 rather than a hung request.
    ///
    /// Then, at once: the table is described (and made if missing), the pool's keys are
    /// fetched and kept (the first request fetches nothing), and the app client is asked
    /// whether it allows the log-in flow and refreshes (`DescribeUserPoolClient`; when
    /// the credentials may not ask, a warning, not an error).
    ///
    /// | variable | read by |
    /// |---|---|
    /// | `SESSION_COOKIE`, `COOKIE_*`, `SESSION_*_SECS`, `ALLOWED_ORIGINS`, `CSRF_PROTECTION` | [`SessionConfig::from_env_with`] |
    /// | `SESSION_TABLE`, `PARTITION_KEY`, `SESSION_USERNAME_INDEX` | `store::dynamodb::TableSettings::from_env_with` |
    /// | `SESSION_CACHE_SECS` | a [`CachedStore`] in front of the table |
    /// | `SESSION_ENCRYPTION_KEY`, `ALLOW_PLAINTEXT_TOKENS`, `ALLOW_UNSIGNED_ROWS` | the table's key ring (`store::dynamodb::EncryptionKeys`), which signs its rows and seals Cognito's tokens: needed with a table |
    /// | `USER_POOL_ID`, `CLIENT_ID`, `CLIENT_SECRET`, `COGNITO_*`, `OAUTH_*`, `REFRESH_*_SECS` | `cognito::CognitoSettings::from_env_with`; without `COGNITO_CHALLENGE_KEY`, the challenge and log-in state key is derived from the newest `SESSION_ENCRYPTION_KEY`, else `CLIENT_SECRET`, else random (a warning at start says which) |
    ///
    /// Errors name the variable at fault, and the AWS resource when one can't be used.
    ///
    /// [`CachedStore`]: crate::store::CachedStore
    ///
    /// ```no_run
    /// use axum::{Router, routing::get};
    /// use cognito_session::{CurrentUser, SessionLayer, SessionManager};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let sessions = SessionManager::from_env().await?;
    /// let app: Router = Router::new()
    ///     .route("/me", get(|user: CurrentUser| async move { user.username().to_owned() }))
    ///     .layer(SessionLayer::new(sessions));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn from_env() -> Result<Self, StartError> {
        EnvSettings::read(|name| std::env::var(name).ok())?
            .build()
            .await
    }
}

/// The calls to AWS at start.
#[cfg(any(feature = "dynamodb", feature = "cognito"))]
mod aws {
    use std::time::Duration;

    use aws_config::BehaviorVersion;
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;

    use super::StartError;
    use crate::SessionManager;

    /// `check`'s outcome, and how long it took in milliseconds.
    pub(super) async fn timed<T>(check: impl Future<Output = T>) -> (T, f64) {
        let started = std::time::Instant::now();
        let outcome = check.await;
        (outcome, started.elapsed().as_secs_f64() * 1e3)
    }

    pub(super) async fn config() -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(1))
                    .operation_timeout(Duration::from_secs(3))
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .load()
            .await
    }

    /// The session table, made (with its index and TTL) if it is missing.
    #[cfg(feature = "dynamodb")]
    pub(super) async fn ready_table(
        store: Option<&crate::store::dynamodb::DynamoDbStore>,
    ) -> Result<(), StartError> {
        let Some(store) = store else { return Ok(()) };
        let name = &store.table().name;
        match store.table_exists().await {
            Ok(true) => {
                tracing::info!(table = %name, "using the session table");
                Ok(())
            }
            Ok(false) => {
                store.create_table().await.map_err(|e| {
                    StartError::aws(
                        "SESSION_TABLE",
                        format!("table {name:?} is missing and could not be created: {e}"),
                    )
                })?;
                tracing::info!(table = %name, "created the session table (with its username index and TTL)");
                Ok(())
            }
            Err(e) => Err(StartError::aws(
                "SESSION_TABLE",
                format!("cannot reach DynamoDB to check table {name:?}: {e}"),
            )),
        }
    }

    #[cfg(not(feature = "dynamodb"))]
    pub(super) async fn ready_table(
        _: Option<&std::sync::Arc<crate::MemoryStore>>,
    ) -> Result<(), StartError> {
        Ok(())
    }

    /// The pool's keys, fetched into the manager's cache.
    pub(super) async fn prefetch_keys(manager: &SessionManager) -> Result<(), StartError> {
        #[cfg(feature = "cognito")]
        if let Some(cognito) = manager.cognito_side() {
            cognito
                .prefetch_keys()
                .await
                .map_err(|e| StartError::aws("USER_POOL_ID", e))?;
        }
        let _ = manager;
        Ok(())
    }

    /// Stops the start when the app client doesn't allow the log-in flow or refreshes,
    /// naming the flag to enable; goes on with a warning when the credentials can't tell.
    pub(super) async fn check_app_client(manager: &SessionManager) -> Result<(), StartError> {
        #[cfg(feature = "cognito")]
        if let Some(cognito) = manager.cognito_settings() {
            use crate::SessionError;
            use crate::cognito::AppClientCheck;

            let flag = cognito.auth_flow().client_flag();
            return match manager.check_app_client().await {
                Ok(AppClientCheck::Unknown { reason }) => {
                    tracing::warn!(%reason, "could not check the app client's authentication flows; it must allow {flag} and ALLOW_REFRESH_TOKEN_AUTH");
                    Ok(())
                }
                Ok(_) => {
                    tracing::info!(
                        flow = flag,
                        "app client allows the log-in flow and refreshes"
                    );
                    Ok(())
                }
                Err(SessionError::FlowNotEnabled { flag: missing }) => {
                    let or = if missing == flag {
                        ", or set COGNITO_AUTH_FLOW to a flow it allows (password or srp)"
                    } else {
                        ""
                    };
                    Err(StartError::aws(
                        "CLIENT_ID",
                        format!(
                            "the app client {} does not allow {missing}: enable it (user pool → \
                             App clients → Authentication flows){or}",
                            cognito.client_id()
                        ),
                    ))
                }
                Err(SessionError::UnknownAppClient) => Err(StartError::aws(
                    "CLIENT_ID",
                    format!(
                        "the user pool {} has no app client {}",
                        cognito.user_pool_id(),
                        cognito.client_id()
                    ),
                )),
                Err(e) => {
                    tracing::warn!(error = %e, "could not check the app client's authentication flows");
                    Ok(())
                }
            };
        }
        let _ = manager;
        Ok(())
    }
}

#[cfg(all(test, feature = "dynamodb", feature = "cognito"))]
mod tests;
