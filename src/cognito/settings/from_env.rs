//! [`CognitoSettings::from_env`]: the pool's variables.

use super::{AuthFlow, CognitoSettings, KeyClaim};
use crate::Secret;
use crate::cognito::ManagedLoginSettings;
use crate::env::Env;
use crate::error::ConfigError;

impl CognitoSettings {
    /// Reads the settings from the process environment; see
    /// [`from_env_with`](Self::from_env_with) for the variables.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `var`, which returns a variable's value; `None` when
    /// neither `USER_POOL_ID` nor `CLIENT_ID` is set. Unset and empty variables keep the
    /// default.
    ///
    /// | variable | setting |
    /// |---|---|
    /// | `USER_POOL_ID` | the pool; needs `CLIENT_ID` |
    /// | `CLIENT_ID` | the app client; needs `USER_POOL_ID` |
    /// | `CLIENT_SECRET` | [`with_client_secret`](Self::with_client_secret) |
    /// | `COGNITO_JWKS_URL` | [`with_jwks_url`](Self::with_jwks_url); default `{endpoint}/{pool}/.well-known/jwks.json` when `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` or `AWS_ENDPOINT_URL` is set, else the issuer's |
    /// | `SESSION_KEY_CLAIM` | `origin_jti` or `sub`, [`with_key_claim`](Self::with_key_claim) |
    /// | `COGNITO_AUTH_FLOW` | `password` or `srp`, [`with_auth_flow`](Self::with_auth_flow) |
    /// | `COGNITO_EXTRA_REGIONS` | [`with_extra_regions`](Self::with_extra_regions), comma-separated |
    /// | `COGNITO_DOMAIN` | [`with_managed_login`](Self::with_managed_login): the managed login domain's base URL |
    /// | `OAUTH_REDIRECT_URI` | [`ManagedLoginSettings::redirect_uri`]; default `http://127.0.0.1:3000/auth/callback` |
    /// | `OAUTH_SCOPES` | [`ManagedLoginSettings::with_scopes`], space-separated; default `openid email` |
    /// | `OAUTH_LOGOUT_URI` | [`ManagedLoginSettings::with_logout_uri`] |
    /// | `REFRESH_BEFORE_SECS` | [`with_refresh_before`](Self::with_refresh_before) |
    /// | `REFRESH_AFTER_EXPIRY_SECS` | [`with_refresh_after_expiry`](Self::with_refresh_after_expiry) |
    /// | `COGNITO_CHALLENGE_KEY` | [`with_challenge_key`](Self::with_challenge_key), 32 bytes or more; unset, [`SessionManager::from_env`](crate::SessionManager::from_env) derives it from the newest `SESSION_ENCRYPTION_KEY`, else from `CLIENT_SECRET`, else makes a random one, and warns at start |
    /// | `COGNITO_GLOBAL_SIGN_OUT` | `true`/`false`, [`with_global_sign_out`](Self::with_global_sign_out) |
    ///
    /// ```
    /// use cognito_session::cognito::CognitoSettings;
    ///
    /// let env = |name: &str| match name {
    ///     "USER_POOL_ID" => Some("eu-west-1_AbC".to_owned()),
    ///     "CLIENT_ID" => Some("client".to_owned()),
    ///     "COGNITO_CHALLENGE_KEY" => Some("too short".to_owned()),
    ///     _ => None,
    /// };
    /// let err = CognitoSettings::from_env_with(env).unwrap_err();
    /// assert!(err.to_string().starts_with("COGNITO_CHALLENGE_KEY:"));
    /// assert!(CognitoSettings::from_env_with(|_| None)?.is_none());
    /// # Ok::<(), cognito_session::ConfigError>(())
    /// ```
    pub fn from_env_with(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let env = Env::new(var);
        let (pool, client) = match (env.get("USER_POOL_ID"), env.get("CLIENT_ID")) {
            (Some(pool), Some(client)) => (pool, client),
            (None, None) => return Ok(None),
            (Some(_), None) => {
                return Err(ConfigError::env(
                    "CLIENT_ID",
                    "USER_POOL_ID is set, so CLIENT_ID is needed too",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::env(
                    "USER_POOL_ID",
                    "CLIENT_ID is set, so USER_POOL_ID is needed too",
                ));
            }
        };
        if !pool.contains('_') {
            return Err(ConfigError::env(
                "USER_POOL_ID",
                format!("expected {{region}}_{{id}}, got {pool:?}"),
            ));
        }
        let mut cognito = Self::new(pool, client);
        cognito.client_secret = env.get("CLIENT_SECRET").map(Secret::new);
        // Behind an endpoint override (an emulator, a VPC endpoint) the keys are served
        // there, while `iss` still names the real Cognito host.
        cognito.jwks_url = env.get("COGNITO_JWKS_URL").or_else(|| {
            env.get("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
                .or_else(|| env.get("AWS_ENDPOINT_URL"))
                .map(|endpoint| {
                    format!(
                        "{}/{}/.well-known/jwks.json",
                        endpoint.trim_end_matches('/'),
                        cognito.user_pool_id
                    )
                })
        });
        cognito.key_claim = match env.get("SESSION_KEY_CLAIM").as_deref() {
            None | Some("origin_jti") => KeyClaim::OriginJti,
            Some("sub") => KeyClaim::Sub,
            Some(other) => {
                return Err(ConfigError::env(
                    "SESSION_KEY_CLAIM",
                    format!("expected origin_jti or sub, got {other:?}"),
                ));
            }
        };
        let flow = env.get("COGNITO_AUTH_FLOW");
        cognito.auth_flow = match flow.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("password" | "user_password_auth") => AuthFlow::Password,
            Some("srp" | "user_srp_auth") => AuthFlow::Srp,
            Some(_) => {
                return Err(ConfigError::env(
                    "COGNITO_AUTH_FLOW",
                    format!(
                        "expected password or srp, got {:?}",
                        flow.unwrap_or_default()
                    ),
                ));
            }
        };
        cognito.extra_regions = env.list("COGNITO_EXTRA_REGIONS");
        if let Some(domain) = env.get("COGNITO_DOMAIN") {
            let redirect = env
                .get("OAUTH_REDIRECT_URI")
                .unwrap_or_else(|| "http://127.0.0.1:3000/auth/callback".to_owned());
            let mut login = ManagedLoginSettings::new(domain, redirect);
            if let Some(scopes) = env.get("OAUTH_SCOPES") {
                login = login.with_scopes(scopes.split_ascii_whitespace());
            }
            if let Some(logout) = env.get("OAUTH_LOGOUT_URI") {
                login = login.with_logout_uri(logout);
            }
            login
                .validate()
                .map_err(|message| ConfigError::env("COGNITO_DOMAIN", message))?;
            cognito.managed_login = Some(login);
        }
        if let Some(window) = env.secs("REFRESH_BEFORE_SECS")? {
            cognito.refresh_before = window;
        }
        if let Some(window) = env.secs("REFRESH_AFTER_EXPIRY_SECS")? {
            cognito.refresh_after_expiry = window;
        }
        if let Some(key) = env.get("COGNITO_CHALLENGE_KEY") {
            if key.len() < 32 {
                return Err(ConfigError::env(
                    "COGNITO_CHALLENGE_KEY",
                    "must be at least 32 bytes",
                ));
            }
            cognito = cognito.with_challenge_key(key);
        }
        cognito.global_sign_out = env.flag("COGNITO_GLOBAL_SIGN_OUT")?.unwrap_or(false);
        Ok(Some(cognito))
    }
}
