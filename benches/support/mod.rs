//! What the benchmarks share. (A folder without `main.rs`, so cargo doesn't take it for a
//! benchmark of its own.) Each benchmark uses a part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};

pub mod args;
#[path = "../../tests/common/keys.rs"]
pub mod keys;
#[path = "../../tests/common/sdk.rs"]
pub mod sdk;

/// The median of `values`, which it leaves sorted; the mean of the middle two for an even
/// count.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// A multi-thread tokio runtime with two workers: what `#[tokio::main]` gives on the
/// 2-core machine the benchmarks' reports come from.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A loopback port nothing listens on (at the moment of asking).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Starts the example server binary at `path` in embedded mode (no table, no user pool: a
/// `MemoryStore`), listening on 127.0.0.1:`port`, quiet.
pub fn spawn_example_server(path: &Path, port: u16) -> Result<Child, String> {
    if !path.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release --example server`",
            path.display()
        ));
    }
    Command::new(path)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .env_remove("SESSION_TABLE")
        .env_remove("USER_POOL_ID")
        .env_remove("CLIENT_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Starts the example server binary at `path` listening on 127.0.0.1:`port`, quiet, with
/// `env` on top of the embedded mode's environment (for its DynamoDB mode: `SESSION_TABLE`,
/// `AWS_ENDPOINT_URL`, ...).
pub fn spawn_example_server_with(
    path: &Path,
    port: u16,
    env: &[(&str, String)],
) -> Result<Child, String> {
    if !path.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release --example server`",
            path.display()
        ));
    }
    Command::new(path)
        .env_remove("USER_POOL_ID")
        .env_remove("CLIENT_ID")
        .env_remove("SESSION_CACHE_SECS")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", path.display()))
}
