//! `scripts/dev-aws`, as a person runs it: it starts the emulators, the pool and the demo
//! user, serves the example in AWS mode, and Ctrl-C stops everything it started.

mod common;

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::server::{cookie_flow, curl_flow, free_port};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_aws_serves_the_demo_user_and_ctrl_c_stops_everything() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let port = free_port();
    let mut script = Command::new(root.join("scripts/dev-aws"))
        .current_dir(root)
        .env("BIND", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // A group of its own, so that SIGINT reaches it, the server and the emulators the
        // way Ctrl-C in a terminal does.
        .process_group(0)
        .spawn()
        .expect("scripts/dev-aws starts");
    let group = script.id();
    let deadline = Instant::now() + Duration::from_secs(240);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = script.try_wait().unwrap() {
            panic!("scripts/dev-aws exited before serving: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "scripts/dev-aws did not serve within 240 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let base = format!("http://127.0.0.1:{port}");
    let token = curl_flow(&base, "demo", "Demo-Passw0rd!").await;
    assert_eq!(token.split('.').count(), 3, "a Cognito access token");
    cookie_flow(&base, "demo", "Demo-Passw0rd!").await;

    let pids = std::fs::read_to_string(root.join(".emulators/dev/pids")).unwrap();
    // `--`: procps' kill would read a negative group id as an option.
    let sent = Command::new("kill")
        .args(["-INT", "--", &format!("-{group}")])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = script.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "scripts/dev-aws did not stop on Ctrl-C"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        !status.success(),
        "an interrupted run reports it ({status})"
    );
    for line in pids.lines() {
        let pid = line.split_whitespace().next().unwrap();
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.rsplit(") ").next().unwrap_or("").starts_with('Z'));
        assert!(!alive, "emulator {line} still runs after Ctrl-C");
    }
}
