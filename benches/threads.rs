//! The layer on a multi-thread runtime, in process (no network): does it scale with the
//! workers like the bare handler does, and does one hot session slow many threads down?
//!
//! Every case is the `GET /me` router of `per_request` (an axum 0.8 `Router` whose handler
//! answers the user's name), called by tasks on a multi-thread tokio runtime, each task
//! sending requests one after the other for `--ms` milliseconds; the result is requests
//! per second over all tasks. Two comparisons, each as a ratio within one round:
//!
//! - **scaling**: 2 workers (2 tasks) over 1 worker (1 task), for the layer (opaque Bearer
//!   token, `MemoryStore` with 10,000 other sessions) and for the bare handler. The goal
//!   (issue #15) is the layer's ratio within 5 % of the bare handler's: what the layer adds
//!   scales as well as the rest of the request does.
//! - **contention**: 8 workers, 8 tasks all on one session (the same token, so the same
//!   shard, the same record and its reference count) over 8 tasks on 8 sessions, for the
//!   layer on `MemoryStore`, on `CachedStore` (the read cache of the DynamoDB mode) and
//!   with a Cognito access token (the verified-token cache). Goal: ≥ 90 %.
//!
//! The runs are interleaved, a run of each case per round in a rotating order, and the table
//! shows medians over the rounds, the ratios being medians of the per-round ratios: on a
//! machine shared with other work, load that comes and goes moves both sides of a ratio.
//!
//! ```text
//! cargo bench --bench threads                       # or: -- --rounds 15 --ms 300
//! ```

mod support;
use support::args::Args;
use support::median;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::routing::get;
use cognito_session::store::CachedStore;
use cognito_session::store::MemoryStore;
use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
use http::header::AUTHORIZATION;
use http::{HeaderValue, StatusCode, Uri};
use tower::{Service, ServiceExt};

struct Options {
    bench: bool,
    rounds: usize,
    run: Duration,
    sessions: usize,
}

fn options() -> Options {
    let args = Args::from_env();
    Options {
        bench: args.flag("--bench"),
        rounds: args.number("--rounds", 11),
        run: Duration::from_millis(args.number("--ms", 250)),
        sessions: args.number("--sessions", 10_000),
    }
}

/// A router, and the `Authorization` values its tasks send: task `i` sends `headers[i %
/// len]`.
#[derive(Clone)]
struct Target {
    router: Router,
    headers: Vec<HeaderValue>,
}

/// One measured configuration.
struct Case {
    name: &'static str,
    workers: usize,
    target: Target,
}

async fn me(user: CurrentUser) -> String {
    user.username().to_owned()
}

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
}

fn bare() -> Target {
    async fn me() -> &'static str {
        "alice"
    }
    Target {
        router: Router::new().route("/me", get(me)),
        headers: vec![bearer("ignored-by-the-bare-handler-ignored-by-the-bare")],
    }
}

/// The layer on `manager`, with `others` other sessions, and `users` sessions the tasks
/// use.
async fn layered(manager: SessionManager, others: usize, users: usize) -> Target {
    for i in 0..others {
        manager.create(&format!("other{i}")).await.unwrap();
    }
    let mut headers = Vec::new();
    for i in 0..users {
        let token = manager.create(&format!("user{i}")).await.unwrap().token;
        headers.push(bearer(token.expose()));
    }
    Target {
        router: Router::new()
            .route("/me", get(me))
            .layer(SessionLayer::new(manager)),
        headers,
    }
}

fn memory() -> SessionManager {
    SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap()
}

/// The read cache in front of a store (here a `MemoryStore` standing for the table).
fn cached() -> SessionManager {
    let store = CachedStore::new(MemoryStore::new(), Duration::from_secs(3600));
    SessionManager::new(store, SessionConfig::default()).unwrap()
}

/// Requests per second of `case`: `workers` tasks on a runtime of as many workers, each
/// sending requests for `run`.
fn measure(case: &Case, run: Duration) -> f64 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(case.workers)
        .enable_all()
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (count, took) = runtime.block_on(async {
        let tasks: Vec<_> = (0..case.workers)
            .map(|i| {
                let mut router = case.target.router.clone();
                let header = case.target.headers[i % case.target.headers.len()].clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let mut request = Request::new(Body::empty());
                        *request.uri_mut() = Uri::from_static("/me");
                        request.headers_mut().insert(AUTHORIZATION, header.clone());
                        let response = ServiceExt::<Request>::ready(&mut router)
                            .await
                            .unwrap()
                            .call(request)
                            .await
                            .unwrap();
                        assert_eq!(response.status(), StatusCode::OK);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let start = Instant::now();
        // Slept on a thread of its own, so the workers stay the tasks'.
        let stop = stop.clone();
        tokio::task::spawn_blocking(move || {
            std::thread::sleep(run);
            stop.store(true, Ordering::Relaxed);
        })
        .await
        .unwrap();
        let mut count = 0;
        for task in tasks {
            count += task.await.unwrap();
        }
        (count, start.elapsed())
    });
    count as f64 / took.as_secs_f64()
}

fn main() {
    let o = options();
    let setup = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (others, run, rounds) = if o.bench {
        (o.sessions, o.run, o.rounds)
    } else {
        // Built as a test: every case once, briefly.
        (10, Duration::from_millis(20), 1)
    };
    let cases = setup.block_on(async {
        let opaque = layered(memory(), others, 1).await;
        let opaque_8 = layered(memory(), others, 8).await;
        let cached_1 = layered(cached(), others, 1).await;
        let cached_8 = layered(cached(), others, 8).await;
        let case = |name, workers, target: &Target| Case {
            name,
            workers,
            target: target.clone(),
        };
        vec![
            case("bare, 1 worker", 1, &bare()),
            case("bare, 2 workers", 2, &bare()),
            case("layer, 1 worker", 1, &opaque),
            case("layer, 2 workers", 2, &opaque),
            case("MemoryStore, 8 threads, 1 session", 8, &opaque),
            case("MemoryStore, 8 threads, 8 sessions", 8, &opaque_8),
            case("CachedStore, 8 threads, 1 session", 8, &cached_1),
            case("CachedStore, 8 threads, 8 sessions", 8, &cached_8),
        ]
    });
    // Each target's routers are warmed by a first run that is not counted.
    for case in &cases {
        measure(case, Duration::from_millis(20));
    }
    let mut rps: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for round in 0..rounds {
        for k in 0..cases.len() {
            let i = (k + round) % cases.len();
            rps[i].push(measure(&cases[i], run));
        }
        if o.bench {
            eprintln!("round {} of {rounds}", round + 1);
        }
    }
    let at = |name: &str| cases.iter().position(|c| c.name == name).unwrap();
    let ratio = |a: &str, b: &str| {
        let mut r: Vec<f64> = rps[at(a)]
            .iter()
            .zip(&rps[at(b)])
            .map(|(x, y)| x / y)
            .collect();
        median(&mut r)
    };
    if !o.bench {
        assert!(rps.iter().all(|r| r[0] > 0.0));
        println!("threads: {} cases checked", cases.len());
        return;
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Requests/s on a multi-thread tokio runtime, in process: axum 0.8 Router, each task \
         sending requests one after the other for {} ms; {rounds} rounds interleaved; \
         MemoryStores hold {others} other sessions. Medians; ratios are medians of the \
         per-round ratios.\n",
        run.as_millis()
    );
    let _ = writeln!(
        t,
        "| case | workers = tasks | requests/s |\n|---|---:|---:|"
    );
    for (case, r) in cases.iter().zip(&rps) {
        let _ = writeln!(
            t,
            "| {} | {} | {:.0} |",
            case.name,
            case.workers,
            median(&mut r.clone())
        );
    }
    let bare = ratio("bare, 2 workers", "bare, 1 worker");
    let layer = ratio("layer, 2 workers", "layer, 1 worker");
    // Within 5 % of the bare handler's scaling, measured as the ratio of the two ratios in
    // each round.
    let relative = {
        let (b2, b1, l2, l1) = (
            &rps[at("bare, 2 workers")],
            &rps[at("bare, 1 worker")],
            &rps[at("layer, 2 workers")],
            &rps[at("layer, 1 worker")],
        );
        let mut r: Vec<f64> = (0..rounds)
            .map(|i| (l2[i] / l1[i]) / (b2[i] / b1[i]))
            .collect();
        median(&mut r)
    };
    let hot = ratio(
        "MemoryStore, 8 threads, 1 session",
        "MemoryStore, 8 threads, 8 sessions",
    );
    let hot_cached = ratio(
        "CachedStore, 8 threads, 1 session",
        "CachedStore, 8 threads, 8 sessions",
    );
    let mark = |ok: bool| if ok { "✅" } else { "❌" };
    let _ = writeln!(
        t,
        "\n| ratio | value | goal (issue #15) |\n|---|---:|---|\n\
         | bare handler: 2 workers / 1 worker | {bare:.2} | |\n\
         | layer: 2 workers / 1 worker | {layer:.2} | |\n\
         | layer's scaling / bare handler's | {relative:.2} | {} within 5 % |\n\
         | MemoryStore: 1 hot session / 8 sessions, 8 threads | {hot:.2} | {} ≥ 0.90 |\n\
         | CachedStore: 1 hot session / 8 sessions, 8 threads | {hot_cached:.2} | {} ≥ 0.90 |",
        mark(relative >= 0.95),
        mark(hot >= 0.9),
        mark(hot_cached >= 0.9),
    );
    let _ = writeln!(
        t,
        "\nLoad average at the end: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("{t}");
}
