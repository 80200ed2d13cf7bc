//! Shared helpers of the integration tests. Each test binary uses a part of them.
#![allow(dead_code)]

use std::time::{Duration, SystemTime};

/// The value of an environment variable that `scripts/test` sets. Panics, naming the
/// command to run, when it is missing: an integration test never skips silently.
pub fn emulator_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the integration tests need the local emulators. \
             Run the whole suite with `scripts/test`, or `scripts/emulators.sh start` and \
             `source .emulators/env` first."
        )
    })
}

/// moto's base URL (`http://127.0.0.1:PORT`).
pub fn moto_url() -> String {
    emulator_env(sdk::MOTO_URL)
}

/// DynamoDB Local's base URL.
pub fn dynamodb_local_url() -> String {
    emulator_env(sdk::DYNAMODB_LOCAL_URL)
}

/// A name no other test uses, for tables, pools and users.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The session token a `Set-Cookie` line hands the client (`token=<value>; ...`), if it
/// sets one rather than removing it.
pub fn cookie_token(set_cookie: &str) -> Option<String> {
    let value = set_cookie.strip_prefix("token=")?.split(';').next()?;
    (!value.is_empty()).then(|| value.to_owned())
}

/// A clock tests can move: `clock.now()` is handed to `SessionConfig::with_clock`.
#[derive(Clone)]
pub struct TestClock(std::sync::Arc<std::sync::Mutex<SystemTime>>);

impl TestClock {
    pub fn new() -> Self {
        Self(std::sync::Arc::new(
            std::sync::Mutex::new(SystemTime::now()),
        ))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }

    pub fn get(&self) -> impl Fn() -> SystemTime + Send + Sync + 'static {
        let inner = self.0.clone();
        move || *inner.lock().unwrap()
    }
}
pub mod cognito;
pub mod dynamo;
pub mod hostile;
pub mod keys;
pub mod lambda;
pub mod oidc;
pub mod private;
pub mod proxy;
pub mod sdk;
pub mod server;
pub mod stores;
