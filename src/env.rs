//! Reading settings from environment variables: [`SessionConfig::from_env`], and the reader
//! the other settings' `from_env` share.

use std::time::Duration;

use crate::SessionConfig;
use crate::error::ConfigError;

/// Variables read through a function, trimmed; an empty one counts as unset.
pub(crate) struct Env<F> {
    var: F,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub(crate) fn new(var: F) -> Self {
        Self { var }
    }

    pub(crate) fn get(&self, name: &str) -> Option<String> {
        (self.var)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A whole number of seconds.
    pub(crate) fn secs(&self, name: &'static str) -> Result<Option<Duration>, ConfigError> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>().map(Duration::from_secs).map_err(|_| {
                    ConfigError::env(
                        name,
                        format!("expected a whole number of seconds, got {v:?}"),
                    )
                })
            })
            .transpose()
    }

    /// `true`/`false` (or `1`/`0`, `yes`/`no`, any case).
    pub(crate) fn flag(&self, name: &'static str) -> Result<Option<bool>, ConfigError> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(ConfigError::env(
                    name,
                    format!("expected true or false, got {v:?}"),
                )),
            })
            .transpose()
    }

    /// A comma-separated list, without empty entries.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl SessionConfig {
    /// Reads the configuration from the process environment; see
    /// [`from_env_with`](Self::from_env_with) for the variables.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `var`, which returns a variable's value. Unset and
    /// empty variables keep the default. Only how sessions behave is read here: the table
    /// and the user pool are read by
    /// [`SessionManager::from_env`](crate::SessionManager::from_env).
    ///
    /// | variable | setting |
    /// |---|---|
    /// | `SESSION_COOKIE` | [`with_cookie_name`](Self::with_cookie_name) |
    /// | `COOKIE_SECURE` | `true`/`false`, [`with_cookie_secure`](Self::with_cookie_secure) |
    /// | `COOKIE_DOMAIN` | [`with_cookie_domain`](Self::with_cookie_domain) |
    /// | `SESSION_LIFETIME_SECS` | [`with_lifetime`](Self::with_lifetime) |
    /// | `SESSION_IDLE_TIMEOUT_SECS` | [`with_idle_timeout`](Self::with_idle_timeout) |
    /// | `SESSION_ROTATE_AFTER_SECS` | [`with_rotation`](Self::with_rotation) |
    /// | `ALLOWED_ORIGINS` | [`with_allowed_origins`](Self::with_allowed_origins), comma-separated; unset: the request's own origin |
    /// | `CSRF_PROTECTION` | `true`/`false`, [`with_csrf_protection`](Self::with_csrf_protection) |
    ///
    /// ```
    /// use cognito_session::SessionConfig;
    ///
    /// let env = |name: &str| match name {
    ///     "SESSION_LIFETIME_SECS" => Some("soon".to_owned()),
    ///     _ => None,
    /// };
    /// let err = SessionConfig::from_env_with(env).unwrap_err();
    /// assert!(err.to_string().starts_with("SESSION_LIFETIME_SECS:"));
    /// ```
    pub fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(var);
        let mut config = Self::default();
        if let Some(name) = env.get("SESSION_COOKIE") {
            config.cookie.name = name;
        }
        if let Some(secure) = env.flag("COOKIE_SECURE")? {
            config.cookie.secure = secure;
        }
        config.cookie.domain = env.get("COOKIE_DOMAIN");
        if let Some(lifetime) = env.secs("SESSION_LIFETIME_SECS")? {
            config.lifetime = lifetime;
        }
        config.idle_timeout = env.secs("SESSION_IDLE_TIMEOUT_SECS")?;
        config.rotate_after = env.secs("SESSION_ROTATE_AFTER_SECS")?;
        let origins = env.list("ALLOWED_ORIGINS");
        if !origins.is_empty() {
            config.allowed_origins = crate::csrf::AllowedOrigins::list(origins)
                .map_err(|e| ConfigError::env("ALLOWED_ORIGINS", e.to_string()))?;
        }
        if let Some(enabled) = env.flag("CSRF_PROTECTION")? {
            config.csrf_protection = enabled;
        }
        config
            .cookie
            .validate()
            .map_err(|message| ConfigError::env("SESSION_COOKIE", message))?;
        config.validate()?;
        Ok(config)
    }
}

/// An environment of `pairs`, for the `from_env_with` tests.
#[cfg(test)]
pub(crate) fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

/// The variable an [`ConfigError::Env`] names; panics on anything else.
#[cfg(test)]
pub(crate) fn variable<T: std::fmt::Debug>(result: Result<T, ConfigError>) -> &'static str {
    match result {
        Err(ConfigError::Env { variable, .. }) => variable,
        other => panic!("expected an Env error, got {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Result<SessionConfig, ConfigError> {
        SessionConfig::from_env_with(vars(pairs))
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
    fn empty_environment_is_the_default() {
        let config = env(&[]).unwrap();
        assert_eq!(config.cookie.name, "token");
        assert_eq!(config.lifetime, Duration::from_secs(604_800));
    }

    #[test]
    fn errors_name_the_variable() {
        assert_eq!(
            variable(env(&[("COOKIE_SECURE", "maybe")])),
            "COOKIE_SECURE"
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
