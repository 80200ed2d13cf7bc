//! The soak under faults: two example-server instances sharing one DynamoDB Local table and
//! moto, a bounded load of log-ins, reads, refreshes and delete-alls over a few hundred
//! users, while DynamoDB Local is paused (SIGSTOP) for 2 s every 15 s and moto's answers are
//! throttled for 5 s every 20 s.
//!
//! It takes minutes, so it is ignored by the default run: `scripts/soak` runs it (with
//! `SOAK_SECS`, default 120). It fails on any 5xx but 503, any session lost (one never
//! logged out that stops working) and any session that outlived its log-out, and prints
//! the figures SECURITY.md quotes.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::cognito::Pool;
use common::proxy::{Fault, FaultProxy};
use common::server::{ExampleServer, aws_env};
use tokio::sync::Mutex;

const PASSWORD: &str = "Soak-Passw0rd!";
const USERS: usize = 200;
const WORKERS: usize = 16;
/// At most this many requests, whatever the time left.
const MAX_REQUESTS: usize = 200_000;

/// What a user's client believes about its sessions.
#[derive(Default)]
struct Client {
    /// Tokens of sessions it never logged out, by the instance they were last used on.
    live: Vec<String>,
    /// Tokens of sessions it logged out (a delete-all that answered 200).
    ended: Vec<String>,
}

#[derive(Default)]
struct Tally {
    by_status: HashMap<u16, usize>,
    lost: Vec<String>,
    outlived: usize,
}

impl Tally {
    fn count(&mut self, status: u16) {
        *self.by_status.entry(status).or_default() += 1;
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn signal(pid: &str, signal: &str) {
    let sent = Command::new("kill").args([signal, pid]).status().unwrap();
    assert!(sent.success(), "kill {signal} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes long: scripts/soak runs it"]
async fn two_instances_under_faults_lose_nothing_and_end_what_was_ended() {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let ddb_pid = common::emulator_env("COGNITO_SESSION_DYNAMODB_LOCAL_PID");

    let pool = Pool::new().await;
    for i in 0..USERS {
        pool.add_user(&format!("soak{i}"), PASSWORD).await;
    }
    // Both instances reach Cognito (and its keys) through the proxy that throttles it.
    let proxy = FaultProxy::start(common::moto_url()).await;
    let table = common::unique("soak");
    let env = aws_env(
        &pool,
        &[
            (
                "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
                proxy.url.clone(),
            ),
            ("SESSION_TABLE", table),
            // moto's tokens live an hour: due for refresh five seconds after issue.
            ("REFRESH_BEFORE_SECS", "3595".into()),
            ("RUST_LOG", "warn".into()),
        ],
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let instances = [ExampleServer::start(&env), ExampleServer::start(&env)];
    let urls: Vec<String> = instances.iter().map(|s| s.url.clone()).collect();
    let rss_start: Vec<u64> = instances.iter().map(|s| rss_kib(s.pid())).collect();

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let clients: Arc<Vec<Mutex<Client>>> = Arc::new((0..USERS).map(|_| Mutex::default()).collect());
    let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let stop = Arc::new(AtomicBool::new(false));

    // The faults, on their own schedules until the load ends.
    let faults = {
        let stop = stop.clone();
        let ddb_pid = ddb_pid.clone();
        tokio::spawn(async move {
            let mut next_pause = started + Duration::from_secs(15);
            let mut next_throttle = started + Duration::from_secs(20);
            let (mut pauses, mut throttles) = (0, 0);
            while !stop.load(Ordering::SeqCst) {
                let now = Instant::now();
                if now >= next_pause {
                    signal(&ddb_pid, "-STOP");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    signal(&ddb_pid, "-CONT");
                    next_pause += Duration::from_secs(15);
                    pauses += 1;
                }
                if now >= next_throttle {
                    for op in ["InitiateAuth", "RevokeToken", "GetTokensFromRefreshToken"] {
                        proxy.fail(op, Fault::Throttle);
                    }
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    proxy.heal();
                    next_throttle += Duration::from_secs(20);
                    throttles += 1;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (pauses, throttles)
        })
    };

    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        let (http, urls, clients, tally) =
            (http.clone(), urls.clone(), clients.clone(), tally.clone());
        workers.push(tokio::spawn(async move {
            let mut n = worker as u64;
            let mut sent = 0;
            while Instant::now() < deadline && sent < MAX_REQUESTS / WORKERS {
                n = n
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let user = (n >> 33) as usize % USERS;
                let base = &urls[(n >> 20) as usize % urls.len()];
                let username = format!("soak{user}");
                // One request at a time per user, so what its client believes is exact.
                let mut client = clients[user].lock().await;
                let roll = (n >> 40) % 100;
                sent += 1;
                if client.live.is_empty() || roll < 10 {
                    let response = http
                        .post(format!("{base}/sessions"))
                        .json(&serde_json::json!({ "username": username, "password": PASSWORD }))
                        .send()
                        .await;
                    let Ok(response) = response else { continue };
                    let status = response.status().as_u16();
                    tally.lock().unwrap().count(status);
                    if status == 200 {
                        let body: serde_json::Value = response.json().await.unwrap();
                        client
                            .live
                            .push(body["sessionId"].as_str().unwrap().to_owned());
                    }
                } else if roll < 15 {
                    // Delete-all with one of the live sessions.
                    let token = client.live[0].clone();
                    let response = http
                        .delete(format!("{base}/sessions/{username}"))
                        .bearer_auth(&token)
                        .send()
                        .await;
                    let Ok(response) = response else { continue };
                    let status = response.status().as_u16();
                    tally.lock().unwrap().count(status);
                    match status {
                        200 => {
                            let ended = std::mem::take(&mut client.live);
                            client.ended.extend(ended);
                        }
                        // An outage: the delete may have landed in part. Those sessions
                        // are neither kept nor ended for the tally.
                        503 => client.live.clear(),
                        _ => tally
                            .lock()
                            .unwrap()
                            .lost
                            .push(format!("delete-all {status}")),
                    }
                } else if roll < 20 && !client.ended.is_empty() {
                    // A logged-out token must stay out, on either instance.
                    let token = client.ended[(n >> 12) as usize % client.ended.len()].clone();
                    let response = http
                        .get(format!("{base}/sessions"))
                        .bearer_auth(&token)
                        .send()
                        .await;
                    let Ok(response) = response else { continue };
                    let status = response.status().as_u16();
                    tally.lock().unwrap().count(status);
                    if status == 200 {
                        tally.lock().unwrap().outlived += 1;
                    }
                } else {
                    // A read (a refresh when the token is due).
                    let i = (n >> 12) as usize % client.live.len();
                    let response = http
                        .get(format!("{base}/sessions"))
                        .bearer_auth(&client.live[i])
                        .send()
                        .await;
                    let Ok(response) = response else { continue };
                    let status = response.status().as_u16();
                    tally.lock().unwrap().count(status);
                    match status {
                        200 => {
                            if let Some(new) = response.headers().get("x-session-token") {
                                client.live[i] = new.to_str().unwrap().to_owned();
                            }
                        }
                        503 => {}
                        other => {
                            let lost = client.live.remove(i);
                            tally
                                .lock()
                                .unwrap()
                                .lost
                                .push(format!("{other} for {lost:.12}…"));
                        }
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let (pauses, throttles) = faults.await.unwrap();
    signal(&ddb_pid, "-CONT");
    let rss_end: Vec<u64> = instances.iter().map(|s| rss_kib(s.pid())).collect();

    let tally = tally.lock().unwrap();
    let mut statuses: Vec<_> = tally.by_status.iter().collect();
    statuses.sort();
    let total: usize = tally.by_status.values().sum();
    println!(
        "soak: {:.0} s, {USERS} users, 2 instances, {pauses} DynamoDB pauses, {throttles} Cognito throttles",
        started.elapsed().as_secs_f64()
    );
    println!("soak: {total} requests by status: {statuses:?}");
    println!(
        "soak: 5xx other than 503: {}; sessions lost: {}; sessions that outlived their log-out: {}",
        tally
            .by_status
            .iter()
            .filter(|(s, _)| **s >= 500 && **s != 503)
            .map(|(_, n)| n)
            .sum::<usize>(),
        tally.lost.len(),
        tally.outlived
    );
    println!("soak: resident memory (KiB) at start {rss_start:?}, at end {rss_end:?}");

    assert!(total > 1000, "the load ran: {total} requests");
    assert!(pauses >= 1 && throttles >= 1, "the faults ran");
    assert!(
        tally.by_status.keys().all(|s| *s < 500 || *s == 503),
        "{statuses:?}"
    );
    assert!(tally.lost.is_empty(), "sessions lost: {:?}", tally.lost);
    assert_eq!(tally.outlived, 0, "sessions that outlived their log-out");
}
