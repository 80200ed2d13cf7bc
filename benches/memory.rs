//! Memory per session on the embedded store.
//!
//! 1. The example server (`target/release/examples/server`, embedded mode) is started on
//!    127.0.0.1, warmed up with requests that create nothing, and its resident size read
//!    from `/proc`; then 100,000 sessions are created through `POST /sessions` (each for
//!    another user) and the resident size read again.
//! 2. In this process, a counting allocator measures the heap that 100,000 sessions keep
//!    alive in `MemoryStore` (bytes asked of the allocator, without its own overhead), and
//!    the same for tower-sessions' `MemoryStore` holding a user name per session.
//!
//! ```text
//! cargo build --release --example server
//! cargo bench --bench memory                         # or: -- --sessions 100000 --server PATH
//! ```

mod support;
use support::args::Args;
use support::{free_port, runtime, spawn_example_server};

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::routing::get;
use cognito_session::store::MemoryStore;
use cognito_session::{SessionConfig, SessionManager};
use http::StatusCode;
use tower::ServiceExt;

/// Bytes currently allocated through the global allocator.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: every call is passed to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the system allocator's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

struct Options {
    bench: bool,
    sessions: u64,
    server: PathBuf,
}

fn options() -> Options {
    let args = Args::from_env();
    Options {
        bench: args.flag("--bench"),
        sessions: args.number("--sessions", 100_000),
        server: args.example_server(),
    }
}

// ---------------------------------------------------------------------------------------
// In process

/// Heap kept alive by `n` sessions in this crate's `MemoryStore`, made as `POST /sessions`
/// makes them.
async fn ours(n: u64) -> f64 {
    let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
    // The first session allocates what every later one shares.
    manager.create("warm-up").await.unwrap();
    let before = live();
    for i in 0..n {
        let session = manager.create(&format!("user{i}")).await.unwrap();
        drop(session);
    }
    let after = live();
    (after - before) as f64 / n as f64
}

/// The same for tower-sessions 0.15's `MemoryStore`, each session holding its user's name.
async fn tower_sessions(n: u64) -> f64 {
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    async fn login(session: Session, request: Request) -> StatusCode {
        let username = request.uri().query().unwrap_or_default().to_owned();
        session.insert("username", username).await.unwrap();
        StatusCode::OK
    }
    let router = Router::new()
        .route("/login", get(login))
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false));
    let login = |i: u64| {
        let request = Request::get(format!("/login?user{i}"))
            .body(Body::empty())
            .unwrap();
        router.clone().oneshot(request)
    };
    login(u64::MAX).await.unwrap();
    let before = live();
    for i in 0..n {
        let response = login(i).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let after = live();
    (after - before) as f64 / n as f64
}

// ---------------------------------------------------------------------------------------
// The example server

/// A field of `/proc/PID/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Rss {
    start_kib: u64,
    loaded_kib: u64,
    anon_start_kib: u64,
    anon_loaded_kib: u64,
    took: Duration,
}

async fn example_server(o: &Options) -> Result<Rss, String> {
    let port = free_port();
    let child = spawn_example_server(&o.server, port)?;
    let server = Server(child);
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/")).send().await.is_err() {
        if Instant::now() > deadline {
            return Err("the example server did not answer within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Warm up the HTTP path with requests that create no session (401s).
    let workers = 8u64;
    let run = |make: Arc<dyn Fn(u64) -> reqwest::RequestBuilder + Send + Sync>,
               total: u64,
               expect: StatusCode| {
        let next = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let (next, make) = (next.clone(), make.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total {
                            return Ok::<(), String>(());
                        }
                        let response = make(i).send().await.map_err(|e| e.to_string())?;
                        if response.status().as_u16() != expect.as_u16() {
                            return Err(format!("status {}", response.status()));
                        }
                        response.bytes().await.map_err(|e| e.to_string())?;
                    }
                })
            })
            .collect();
        async move {
            for task in tasks {
                task.await.map_err(|e| e.to_string())??;
            }
            Ok::<(), String>(())
        }
    };
    let (c, b) = (client.clone(), base.clone());
    run(
        Arc::new(move |_| c.get(format!("{b}/sessions"))),
        2000,
        StatusCode::UNAUTHORIZED,
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start_kib = status_kib(pid, "VmRSS");
    let anon_start_kib = status_kib(pid, "RssAnon");

    let started = Instant::now();
    let (c, b) = (client.clone(), base.clone());
    run(
        Arc::new(move |i| {
            c.post(format!("{b}/sessions"))
                .header("content-type", "application/json")
                .body(format!(r#"{{"username":"user{i}","password":"x"}}"#))
        }),
        o.sessions,
        StatusCode::OK,
    )
    .await?;
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(Rss {
        start_kib,
        loaded_kib: status_kib(pid, "VmRSS"),
        anon_start_kib,
        anon_loaded_kib: status_kib(pid, "RssAnon"),
        took,
    })
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn main() {
    let o = options();
    runtime().block_on(async {
        if !o.bench {
            // Built as a test: a quick check that the in-process measurements work.
            let (a, b) = (ours(100).await, tower_sessions(100).await);
            assert!(a > 0.0 && b > 0.0);
            println!("memory: checked");
            return;
        }
        let n = o.sessions;
        let mut out = format!("Memory with {n} sessions in MemoryStore (one per user).\n\n");
        out.push_str("| what | measured | per session |\n|---|---:|---:|\n");
        match example_server(&o).await {
            Ok(rss) => {
                let per = |a: u64, b: u64| (b as f64 - a as f64) * 1024.0 / n as f64;
                out.push_str(&format!(
                    "| example server, resident size (VmRSS): warm and empty → {n} sessions | {} → {} | {:.0} B |\n",
                    mib(rss.start_kib),
                    mib(rss.loaded_kib),
                    per(rss.start_kib, rss.loaded_kib)
                ));
                out.push_str(&format!(
                    "| example server, anonymous resident memory (RssAnon) | {} → {} | {:.0} B |\n",
                    mib(rss.anon_start_kib),
                    mib(rss.anon_loaded_kib),
                    per(rss.anon_start_kib, rss.anon_loaded_kib)
                ));
                eprintln!(
                    "{n} sessions created over HTTP in {:.1} s",
                    rss.took.as_secs_f64()
                );
            }
            Err(e) => out.push_str(&format!("| example server | skipped: {e} | – |\n")),
        }
        let mine = ours(n).await;
        let theirs = tower_sessions(n).await;
        out.push_str(&format!(
            "| in process: heap kept by cognito-session's MemoryStore | {} | {mine:.0} B |\n",
            mib((mine * n as f64 / 1024.0) as u64)
        ));
        out.push_str(&format!(
            "| in process: heap kept by tower-sessions 0.15's MemoryStore | {} | {theirs:.0} B |\n",
            mib((theirs * n as f64 / 1024.0) as u64)
        ));
        println!("{out}");
    });
}
