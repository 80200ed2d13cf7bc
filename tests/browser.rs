//! The example server's HTML page in a real browser: headless Chromium, driven by
//! `tests/browser/login.mjs` (playwright-core), against the real example binary.
//!
//! `scripts/test` installs the browser and sets the variables; by hand:
//! `scripts/browser.sh install && source .emulators/browser-env`.

mod common;

use common::server::ExampleServer;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Longer than the script's own 60 s limit, so that one normally speaks first.
const NODE_TIMEOUT: Duration = Duration::from_secs(90);

/// A variable `scripts/browser.sh` sets; panics, naming the command to run, when missing.
fn browser_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the browser test needs Chromium and playwright-core. \
             Run the whole suite with `scripts/test`, or `scripts/browser.sh install` and \
             `source .emulators/browser-env` first."
        )
    })
}

/// Reads a child's pipe to the end on a thread, so a chatty child never blocks on it.
fn drain(pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = { pipe }.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child` up to `timeout`, killing it past that; `None` when it was killed.
fn wait_at_most(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs the browser script against `url`; panics with node's output unless it passes.
fn run_login_script(url: &str, args: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("node")
        .arg(root.join("tests/browser/login.mjs"))
        .arg(url)
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` (is Node.js installed?): {e}"));
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let status = wait_at_most(&mut child, NODE_TIMEOUT);
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    match status {
        Some(status) if status.success() => print!("{stdout}"),
        Some(status) => panic!(
            "the browser test failed ({status}).\n--- node stdout ---\n{stdout}\n--- node stderr ---\n{stderr}"
        ),
        None => panic!(
            "the browser test did not finish within {NODE_TIMEOUT:?}.\n--- node stdout ---\n{stdout}\n--- node stderr ---\n{stderr}"
        ),
    }
}

/// Log in, reload, check the cookie is HttpOnly, log out, ask again — in embedded mode,
/// where any password is accepted.
#[test]
fn log_in_reload_and_log_out_in_chromium() {
    // Checked first so a missing install fails with the command to run, not a node error.
    browser_env("COGNITO_SESSION_CHROMIUM");
    browser_env("COGNITO_SESSION_PLAYWRIGHT_DIR");
    let server = ExampleServer::start(&[("COOKIE_SECURE", "false")]);
    run_login_script(&server.url, &["alice", "anything"]);
}

/// The same in Cognito mode (`scripts/dev-aws`'s set-up: sessions in DynamoDB Local, moto as
/// Cognito), where the password is checked: a wrong one is refused on the page.
#[tokio::test(flavor = "multi_thread")]
async fn log_in_with_cognito_in_chromium() {
    browser_env("COGNITO_SESSION_CHROMIUM");
    browser_env("COGNITO_SESSION_PLAYWRIGHT_DIR");
    let pool = common::cognito::Pool::new().await;
    pool.add_user("carol", "C0gnito-Pass!").await;
    let server = common::server::start(&common::server::aws_env(&pool, &[]));
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || {
        run_login_script(&url, &["carol", "C0gnito-Pass!", "--check-wrong-password"]);
    })
    .await
    .unwrap();
}
