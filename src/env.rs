//! [`SessionConfig::from_env`]: the settings read from environment variables.

use std::time::Duration;

use crate::{
    AuthFlow, CognitoSettings, ConfigError, EncryptionKeys, KeyClaim, ManagedLoginSettings, Secret,
    SessionConfig, TableSettings,
};

impl SessionConfig {
    /// Reads the configuration from the process environment; see
    /// [`from_env_with`](Self::from_env_with) for the variables.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `var`, which returns a variable's value. Unset and
    /// empty variables keep the default.
    ///
    /// | variable | setting |
    /// |---|---|
    /// | `SESSION_TABLE` | [`TableSettings::name`]; unset: sessions in memory |
    /// | `PARTITION_KEY` | [`TableSettings::partition_key`] |
    /// | `SESSION_USERNAME_INDEX` | [`TableSettings::username_index`] |
    /// | `SESSION_CACHE_SECS` | [`TableSettings::cache`] |
    /// | `SESSION_ENCRYPTION_KEY` | [`TableSettings::encryption`], see [`EncryptionKeys`] for the format; needed with a table and a Cognito pool |
    /// | `ALLOW_PLAINTEXT_TOKENS` | `true`/`false`, [`TableSettings::allow_plaintext_tokens`] |
    /// | `USER_POOL_ID` | [`CognitoSettings::user_pool_id`]; needs `CLIENT_ID` |
    /// | `CLIENT_ID` | [`CognitoSettings::client_id`]; needs `USER_POOL_ID` |
    /// | `CLIENT_SECRET` | [`CognitoSettings::client_secret`] |
    /// | `COGNITO_JWKS_URL` | [`CognitoSettings::jwks_url`]; default `{endpoint}/{pool}/.well-known/jwks.json` when `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` or `AWS_ENDPOINT_URL` is set, else the issuer's |
    /// | `SESSION_KEY_CLAIM` | `origin_jti` or `sub`, [`KeyClaim`] |
    /// | `COGNITO_AUTH_FLOW` | `password` or `srp`, [`AuthFlow`]; the app client needs `ALLOW_USER_PASSWORD_AUTH` or `ALLOW_USER_SRP_AUTH` |
    /// | `COGNITO_EXTRA_REGIONS` | [`CognitoSettings::extra_regions`], comma-separated |
    /// | `COGNITO_DOMAIN` | [`CognitoSettings::managed_login`]: the managed login domain's base URL |
    /// | `OAUTH_REDIRECT_URI` | [`ManagedLoginSettings::redirect_uri`](crate::ManagedLoginSettings::redirect_uri); default `http://127.0.0.1:3000/auth/callback` |
    /// | `OAUTH_SCOPES` | [`ManagedLoginSettings::with_scopes`](crate::ManagedLoginSettings::with_scopes), space-separated; default `openid email` |
    /// | `OAUTH_LOGOUT_URI` | [`ManagedLoginSettings::with_logout_uri`](crate::ManagedLoginSettings::with_logout_uri) |
    /// | `SESSION_COOKIE` | [`with_cookie_name`](Self::with_cookie_name) |
    /// | `COOKIE_SECURE` | `true`/`false`, [`with_cookie_secure`](Self::with_cookie_secure) |
    /// | `COOKIE_DOMAIN` | [`with_cookie_domain`](Self::with_cookie_domain) |
    /// | `SESSION_LIFETIME_SECS` | [`with_lifetime`](Self::with_lifetime) |
    /// | `SESSION_IDLE_TIMEOUT_SECS` | [`with_idle_timeout`](Self::with_idle_timeout) |
    /// | `SESSION_ROTATE_AFTER_SECS` | [`with_rotation`](Self::with_rotation) |
    /// | `REFRESH_BEFORE_SECS` | [`with_refresh_before`](Self::with_refresh_before) |
    /// | `REFRESH_AFTER_EXPIRY_SECS` | [`with_refresh_after_expiry`](Self::with_refresh_after_expiry) |
    /// | `ALLOWED_ORIGINS` | [`with_allowed_origins`](Self::with_allowed_origins), comma-separated; unset: the request's own origin |
    /// | `CSRF_PROTECTION` | `true`/`false`, [`with_csrf_protection`](Self::with_csrf_protection) |
    ///
    /// ```
    /// use cognito_session::{ConfigError, SessionConfig};
    ///
    /// let env = |name: &str| match name {
    ///     "SESSION_TABLE" => Some("sessions".to_owned()),
    ///     "SESSION_LIFETIME_SECS" => Some("soon".to_owned()),
    ///     _ => None,
    /// };
    /// let err = SessionConfig::from_env_with(env).unwrap_err();
    /// assert!(err.to_string().starts_with("SESSION_LIFETIME_SECS:"));
    /// ```
    pub fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let secs = |name: &'static str| -> Result<Option<Duration>, ConfigError> {
            get(name)
                .map(|v| {
                    v.parse::<u64>()
                        .map(Duration::from_secs)
                        .map_err(|_| ConfigError::Env {
                            variable: name,
                            message: format!("expected a whole number of seconds, got {v:?}"),
                        })
                })
                .transpose()
        };
        let flag = |name: &'static str| -> Result<Option<bool>, ConfigError> {
            get(name).map(|v| boolean(name, &v)).transpose()
        };
        let mut config = Self::default();

        // Read even without a table, so that a malformed key is reported wherever it is set.
        let encryption = get("SESSION_ENCRYPTION_KEY")
            .map(|keys| keys.parse::<EncryptionKeys>())
            .transpose()?;
        let allow_plaintext_tokens = flag("ALLOW_PLAINTEXT_TOKENS")?.unwrap_or(false);
        if let Some(name) = get("SESSION_TABLE") {
            let mut table = TableSettings::new(name);
            if let Some(pk) = get("PARTITION_KEY") {
                table.partition_key = pk;
            }
            if let Some(index) = get("SESSION_USERNAME_INDEX") {
                table.username_index = index;
            }
            table.cache = secs("SESSION_CACHE_SECS")?;
            table.encryption = encryption;
            table.allow_plaintext_tokens = allow_plaintext_tokens;
            config.table = Some(table);
        }

        match (get("USER_POOL_ID"), get("CLIENT_ID")) {
            (Some(pool), Some(client)) => {
                if !pool.contains('_') {
                    return Err(ConfigError::Env {
                        variable: "USER_POOL_ID",
                        message: format!("expected {{region}}_{{id}}, got {pool:?}"),
                    });
                }
                let mut cognito = CognitoSettings::new(pool, client);
                cognito.client_secret = get("CLIENT_SECRET").map(Secret::new);
                // Behind an endpoint override (an emulator, a VPC endpoint) the keys are
                // served there, while `iss` still names the real Cognito host.
                cognito.jwks_url = get("COGNITO_JWKS_URL").or_else(|| {
                    get("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
                        .or_else(|| get("AWS_ENDPOINT_URL"))
                        .map(|endpoint| {
                            format!(
                                "{}/{}/.well-known/jwks.json",
                                endpoint.trim_end_matches('/'),
                                cognito.user_pool_id
                            )
                        })
                });
                cognito.key_claim = match get("SESSION_KEY_CLAIM").as_deref() {
                    None | Some("origin_jti") => KeyClaim::OriginJti,
                    Some("sub") => KeyClaim::Sub,
                    Some(other) => {
                        return Err(ConfigError::Env {
                            variable: "SESSION_KEY_CLAIM",
                            message: format!("expected origin_jti or sub, got {other:?}"),
                        });
                    }
                };
                let flow = get("COGNITO_AUTH_FLOW");
                cognito.auth_flow = match flow.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    None | Some("password" | "user_password_auth") => AuthFlow::Password,
                    Some("srp" | "user_srp_auth") => AuthFlow::Srp,
                    Some(_) => {
                        return Err(ConfigError::Env {
                            variable: "COGNITO_AUTH_FLOW",
                            message: format!(
                                "expected password or srp, got {:?}",
                                flow.unwrap_or_default()
                            ),
                        });
                    }
                };
                cognito.extra_regions = get("COGNITO_EXTRA_REGIONS")
                    .map(|regions| {
                        regions
                            .split(',')
                            .map(str::trim)
                            .filter(|r| !r.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(domain) = get("COGNITO_DOMAIN") {
                    let redirect = get("OAUTH_REDIRECT_URI")
                        .unwrap_or_else(|| "http://127.0.0.1:3000/auth/callback".to_owned());
                    let mut login = ManagedLoginSettings::new(domain, redirect);
                    if let Some(scopes) = get("OAUTH_SCOPES") {
                        login = login.with_scopes(scopes.split_ascii_whitespace());
                    }
                    if let Some(logout) = get("OAUTH_LOGOUT_URI") {
                        login = login.with_logout_uri(logout);
                    }
                    login.validate().map_err(|message| ConfigError::Env {
                        variable: "COGNITO_DOMAIN",
                        message,
                    })?;
                    cognito.managed_login = Some(login);
                }
                config.cognito = Some(cognito);
            }
            (Some(_), None) => {
                return Err(ConfigError::Env {
                    variable: "CLIENT_ID",
                    message: "USER_POOL_ID is set, so CLIENT_ID is needed too".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Env {
                    variable: "USER_POOL_ID",
                    message: "CLIENT_ID is set, so USER_POOL_ID is needed too".into(),
                });
            }
            (None, None) => {}
        }
        if let (Some(table), Some(_)) = (&config.table, &config.cognito)
            && table.encryption.is_none()
            && !table.allow_plaintext_tokens
        {
            return Err(ConfigError::Env {
                variable: "SESSION_ENCRYPTION_KEY",
                message: "not set, and Cognito sessions in SESSION_TABLE hold each user's \
                          access and refresh tokens: set it to the base64 of 32 random bytes \
                          (`openssl rand -base64 32`), or set ALLOW_PLAINTEXT_TOKENS=true to \
                          store them in plaintext"
                    .into(),
            });
        }

        if let Some(name) = get("SESSION_COOKIE") {
            config.cookie.name = name;
        }
        if let Some(secure) = flag("COOKIE_SECURE")? {
            config.cookie.secure = secure;
        }
        config.cookie.domain = get("COOKIE_DOMAIN");
        if let Some(lifetime) = secs("SESSION_LIFETIME_SECS")? {
            config.lifetime = lifetime;
        }
        config.idle_timeout = secs("SESSION_IDLE_TIMEOUT_SECS")?;
        config.rotate_after = secs("SESSION_ROTATE_AFTER_SECS")?;
        if let Some(window) = secs("REFRESH_BEFORE_SECS")? {
            config.refresh_before = window;
        }
        if let Some(window) = secs("REFRESH_AFTER_EXPIRY_SECS")? {
            config.refresh_after_expiry = window;
        }
        if let Some(origins) = get("ALLOWED_ORIGINS") {
            let list = origins.split(',').map(str::trim).filter(|o| !o.is_empty());
            config.allowed_origins =
                crate::csrf::AllowedOrigins::list(list).map_err(|e| ConfigError::Env {
                    variable: "ALLOWED_ORIGINS",
                    message: e.to_string(),
                })?;
        }
        if let Some(enabled) = flag("CSRF_PROTECTION")? {
            config.csrf_protection = enabled;
        }
        config
            .cookie
            .validate()
            .map_err(|message| ConfigError::Env {
                variable: "SESSION_COOKIE",
                message,
            })?;
        config.validate()?;
        Ok(config)
    }
}

/// `true`/`false` (or `1`/`0`, `yes`/`no`, any case) in `variable`.
fn boolean(variable: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::Env {
            variable,
            message: format!("expected true or false, got {value:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Result<SessionConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SessionConfig::from_env_with(|name| map.get(name).cloned())
    }

    fn variable(result: Result<SessionConfig, ConfigError>) -> &'static str {
        match result {
            Err(ConfigError::Env { variable, .. }) => variable,
            other => panic!("expected an Env error, got {other:?}"),
        }
    }

    #[test]
    fn allowed_origins_and_csrf_protection() {
        let default = env(&[]).unwrap();
        assert!(default.allowed_origins().is_same_origin());
        assert!(default.csrf_protection());
        let config = env(&[
            (
                "ALLOWED_ORIGINS",
                " https://a.example , http://127.0.0.1:8080,",
            ),
            ("CSRF_PROTECTION", "false"),
        ])
        .unwrap();
        assert_eq!(
            config.allowed_origins(),
            &crate::csrf::AllowedOrigins::list(["https://a.example", "http://127.0.0.1:8080"])
                .unwrap()
        );
        assert!(!config.csrf_protection());
        assert_eq!(
            variable(env(&[("ALLOWED_ORIGINS", "https://a.example/")])),
            "ALLOWED_ORIGINS"
        );
        assert_eq!(
            variable(env(&[("CSRF_PROTECTION", "maybe")])),
            "CSRF_PROTECTION"
        );
    }

    #[test]
    fn empty_environment_is_the_embedded_default() {
        let config = env(&[]).unwrap();
        assert!(config.table.is_none());
        assert!(config.cognito.is_none());
        assert_eq!(config.cookie.name, "token");
        assert_eq!(config.lifetime, Duration::from_secs(604_800));
    }

    #[test]
    fn reads_the_sswahn_variables() {
        let config = env(&[
            ("SESSION_TABLE", "sessions"),
            ("PARTITION_KEY", "sub"),
            ("USER_POOL_ID", "eu-west-1_abc"),
            ("CLIENT_ID", "client"),
            ("CLIENT_SECRET", "shh"),
            ("SESSION_KEY_CLAIM", "sub"),
            ("SESSION_ENCRYPTION_KEY", KEY_ONES),
            ("COOKIE_SECURE", "false"),
            ("REFRESH_BEFORE_SECS", "3595"),
            ("REFRESH_AFTER_EXPIRY_SECS", "7200"),
        ])
        .unwrap();
        let table = config.table.unwrap();
        assert_eq!(
            (table.name.as_str(), table.partition_key.as_str()),
            ("sessions", "sub")
        );
        assert_eq!(table.cache, None);
        let cached = env(&[("SESSION_TABLE", "s"), ("SESSION_CACHE_SECS", "5")]).unwrap();
        assert_eq!(cached.table.unwrap().cache, Some(Duration::from_secs(5)));
        let cognito = config.cognito.unwrap();
        assert_eq!(cognito.client_id, "client");
        assert_eq!(cognito.key_claim, KeyClaim::Sub);
        assert_eq!(
            cognito.issuer(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
        );
        assert_eq!(
            cognito.jwks_url(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json"
        );
        assert_eq!(cognito.client_secret.unwrap().expose(), "shh");
        assert!(!config.cookie.secure);
        assert_eq!(config.refresh_before, Duration::from_secs(3595));
        assert_eq!(config.refresh_after_expiry, Duration::from_secs(7200));
    }

    /// The base64 of 32 bytes of 1.
    const KEY_ONES: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    #[test]
    fn cognito_on_a_table_needs_a_key_or_an_explicit_plaintext_opt_in() {
        let base = [
            ("SESSION_TABLE", "sessions"),
            ("USER_POOL_ID", "us-east-1_p"),
            ("CLIENT_ID", "c"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            env(&vars)
        };
        match with(&[]) {
            Err(ConfigError::Env { variable, message }) => {
                assert_eq!(variable, "SESSION_ENCRYPTION_KEY");
                assert!(message.contains("ALLOW_PLAINTEXT_TOKENS"), "{message}");
            }
            other => panic!("expected an Env error, got {other:?}"),
        }
        assert_eq!(
            variable(with(&[("ALLOW_PLAINTEXT_TOKENS", "false")])),
            "SESSION_ENCRYPTION_KEY"
        );

        let keyed = with(&[("SESSION_ENCRYPTION_KEY", KEY_ONES)]).unwrap();
        let table = keyed.table.unwrap();
        assert_eq!(table.encryption, Some(EncryptionKeys::single([1; 32])));
        assert!(
            !table.allow_plaintext_tokens,
            "plaintext is refused by default"
        );

        let plain = with(&[("ALLOW_PLAINTEXT_TOKENS", "true")]).unwrap();
        let table = plain.table.unwrap();
        assert_eq!(table.encryption, None);
        assert!(table.allow_plaintext_tokens);

        let migrating = with(&[
            ("SESSION_ENCRYPTION_KEY", KEY_ONES),
            ("ALLOW_PLAINTEXT_TOKENS", "true"),
        ])
        .unwrap();
        let table = migrating.table.unwrap();
        assert!(table.encryption.is_some() && table.allow_plaintext_tokens);

        // Opaque sessions keep only hashes: a table alone needs no key, nor does Cognito
        // with sessions in memory.
        assert!(env(&[("SESSION_TABLE", "sessions")]).is_ok());
        assert!(env(&[("USER_POOL_ID", "us-east-1_p"), ("CLIENT_ID", "c")]).is_ok());
    }

    #[test]
    fn encryption_variables_are_checked_wherever_they_are_set() {
        let rotated = format!(
            "2:{},1:{KEY_ONES}",
            "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
        );
        let config = env(&[
            ("SESSION_TABLE", "s"),
            ("SESSION_ENCRYPTION_KEY", rotated.as_str()),
        ])
        .unwrap();
        let keys = config.table.unwrap().encryption.unwrap();
        assert_eq!(keys.ids().collect::<Vec<_>>(), [2, 1]);

        assert_eq!(
            variable(env(&[("SESSION_ENCRYPTION_KEY", "c2hvcnQ=")])),
            "SESSION_ENCRYPTION_KEY"
        );
        assert_eq!(
            variable(env(&[
                ("SESSION_TABLE", "s"),
                ("SESSION_ENCRYPTION_KEY", "1:abc,")
            ])),
            "SESSION_ENCRYPTION_KEY"
        );
        assert_eq!(
            variable(env(&[("ALLOW_PLAINTEXT_TOKENS", "sure")])),
            "ALLOW_PLAINTEXT_TOKENS"
        );
    }

    #[test]
    fn auth_flow_is_password_unless_srp_is_asked_for() {
        let pool = ("USER_POOL_ID", "us-east-1_p");
        let client = ("CLIENT_ID", "c");
        let flow = |value: Option<&str>| {
            let mut vars = vec![pool, client];
            vars.extend(value.map(|v| ("COGNITO_AUTH_FLOW", v)));
            env(&vars).map(|config| config.cognito.unwrap().auth_flow)
        };
        assert_eq!(flow(None).unwrap(), AuthFlow::Password);
        assert_eq!(flow(Some("")).unwrap(), AuthFlow::Password);
        assert_eq!(flow(Some("password")).unwrap(), AuthFlow::Password);
        assert_eq!(flow(Some("srp")).unwrap(), AuthFlow::Srp);
        assert_eq!(flow(Some(" SRP ")).unwrap(), AuthFlow::Srp);
        // Cognito's own names for the flows work too.
        assert_eq!(flow(Some("USER_SRP_AUTH")).unwrap(), AuthFlow::Srp);
        assert_eq!(
            flow(Some("USER_PASSWORD_AUTH")).unwrap(),
            AuthFlow::Password
        );
        match flow(Some("custom")) {
            Err(ConfigError::Env { variable, message }) => {
                assert_eq!(variable, "COGNITO_AUTH_FLOW");
                assert!(message.contains("\"custom\""), "{message}");
            }
            other => panic!("expected an Env error, got {other:?}"),
        }
        assert_eq!(AuthFlow::Password.client_flag(), "ALLOW_USER_PASSWORD_AUTH");
        assert_eq!(AuthFlow::Srp.client_flag(), "ALLOW_USER_SRP_AUTH");
    }

    #[test]
    fn jwks_url_follows_the_endpoint_override_but_the_issuer_does_not() {
        let pool = ("USER_POOL_ID", "us-east-1_p");
        let client = ("CLIENT_ID", "c");
        let via = |endpoint: (&str, &str)| env(&[pool, client, endpoint]).unwrap().cognito.unwrap();
        let moto = via(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/"));
        assert_eq!(
            moto.jwks_url(),
            "http://127.0.0.1:5000/us-east-1_p/.well-known/jwks.json"
        );
        assert_eq!(
            moto.issuer(),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_p"
        );
        let specific = via((
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            "http://127.0.0.1:1",
        ));
        assert_eq!(
            specific.jwks_url(),
            "http://127.0.0.1:1/us-east-1_p/.well-known/jwks.json"
        );
        let explicit = via(("COGNITO_JWKS_URL", "https://keys.example/jwks.json"));
        assert_eq!(explicit.jwks_url(), "https://keys.example/jwks.json");
    }

    #[test]
    fn extra_regions_are_a_comma_separated_list() {
        let pool = ("USER_POOL_ID", "us-east-1_p");
        let client = ("CLIENT_ID", "c");
        let none = env(&[pool, client]).unwrap().cognito.unwrap();
        assert!(none.extra_regions.is_empty());
        let regions = ("COGNITO_EXTRA_REGIONS", " eu-west-1, ,us-west-2 ");
        let some = env(&[pool, client, regions]).unwrap().cognito.unwrap();
        assert_eq!(some.extra_regions, ["eu-west-1", "us-west-2"]);
        assert_eq!(some.issuers().len(), 6);
        let home = ("COGNITO_EXTRA_REGIONS", "us-east-1,eu-west-1");
        let with_home = env(&[pool, client, home]).unwrap().cognito.unwrap();
        assert_eq!(with_home.issuers().len(), 4, "the pool's own region once");
    }

    #[test]
    fn managed_login_comes_from_cognito_domain() {
        let pool = ("USER_POOL_ID", "us-east-1_p");
        let client = ("CLIENT_ID", "c");
        assert!(
            env(&[pool, client])
                .unwrap()
                .cognito
                .unwrap()
                .managed_login
                .is_none()
        );

        let domain = (
            "COGNITO_DOMAIN",
            "https://app.auth.us-east-1.amazoncognito.com/",
        );
        let cognito = env(&[pool, client, domain]).unwrap().cognito.unwrap();
        let login = cognito.managed_login.unwrap();
        assert_eq!(
            login.domain(),
            "https://app.auth.us-east-1.amazoncognito.com"
        );
        assert_eq!(login.redirect_uri(), "http://127.0.0.1:3000/auth/callback");
        assert_eq!(login.scopes(), ["openid", "email"]);

        let scopes = ("OAUTH_SCOPES", "openid  profile");
        let redirect = ("OAUTH_REDIRECT_URI", "https://a.example/cb");
        let logout = ("OAUTH_LOGOUT_URI", "https://a.example/bye");
        let cognito = env(&[pool, client, domain, scopes, redirect, logout]).unwrap();
        let login = cognito.cognito.unwrap().managed_login.unwrap();
        assert_eq!(login.scopes(), ["openid", "profile"]);
        assert_eq!(login.redirect_uri(), "https://a.example/cb");
        assert_eq!(login.logout_uri(), "https://a.example/bye");

        let plain = ("COGNITO_DOMAIN", "http://auth.example");
        let err = env(&[pool, client, plain]).unwrap_err().to_string();
        assert!(err.starts_with("COGNITO_DOMAIN:"), "{err}");
    }

    #[test]
    fn errors_name_the_variable() {
        assert_eq!(
            variable(env(&[("USER_POOL_ID", "us-east-1_x")])),
            "CLIENT_ID"
        );
        assert_eq!(variable(env(&[("CLIENT_ID", "c")])), "USER_POOL_ID");
        assert_eq!(
            variable(env(&[("USER_POOL_ID", "nounderscore"), ("CLIENT_ID", "c")])),
            "USER_POOL_ID"
        );
        assert_eq!(
            variable(env(&[("COOKIE_SECURE", "maybe")])),
            "COOKIE_SECURE"
        );
        assert_eq!(
            variable(env(&[("REFRESH_BEFORE_SECS", "-1")])),
            "REFRESH_BEFORE_SECS"
        );
        assert_eq!(
            variable(env(&[("SESSION_IDLE_TIMEOUT_SECS", "1h")])),
            "SESSION_IDLE_TIMEOUT_SECS"
        );
        assert_eq!(
            variable(env(&[("SESSION_COOKIE", "a;b")])),
            "SESSION_COOKIE"
        );
        assert_eq!(
            variable(env(&[
                ("SESSION_COOKIE", "__Host-t"),
                ("COOKIE_SECURE", "false")
            ])),
            "SESSION_COOKIE"
        );
    }
}
