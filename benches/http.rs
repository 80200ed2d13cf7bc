//! Loopback HTTP throughput with and without the session layer, driven by `wrk`.
//!
//! A copy of the example server (this binary run with `--serve`, a process of its own on
//! 127.0.0.1 with a 2-worker tokio runtime) serves the example's `GET /sessions` route
//! twice: behind `SessionLayer` (opaque Bearer token, embedded `MemoryStore`) at `/sessions`,
//! and without the layer at `/open`, with the same handler body and answer. The example server
//! binary itself (`target/release/examples/server`, embedded mode) is run too, and its
//! `GET /sessions` measured the same way, as a check that the copy behaves like the original.
//!
//! Each `wrk` run is bounded in time (`-d`) and in requests (a Lua script stops every wrk
//! thread after `--max-requests` answers). The runs are interleaved over `--rounds` rounds;
//! the table shows medians, and ratios are medians of the per-round ratios.
//!
//! ```text
//! apt-get install -y wrk && cargo build --release --example server
//! cargo bench --bench http                  # or: -- --duration 5 --connections 32 --rounds 3
//! ```

mod support;
use support::args::Args;
use support::{free_port, median, runtime, spawn_example_server};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use cognito_session::{CurrentUser, MemoryStore, SessionConfig, SessionLayer, SessionManager};
use serde_json::json;

struct Options {
    bench: bool,
    duration: u64,
    connections: u64,
    threads: u64,
    rounds: usize,
    max_requests: u64,
    server: PathBuf,
}

fn options() -> Options {
    let args = Args::from_env();
    Options {
        bench: args.flag("--bench"),
        duration: args.number("--duration", 5),
        connections: args.number("--connections", 32),
        threads: args.number("--threads", 1),
        rounds: args.number("--rounds", 3),
        max_requests: args.number("--max-requests", 2_000_000),
        server: args.example_server(),
    }
}

// ---------------------------------------------------------------------------------------
// The servers

/// The example server's `GET /sessions` handler.
async fn get_session(user: CurrentUser) -> Json<serde_json::Value> {
    Json(json!({ "username": user.username() }))
}

/// The same answer with no session layer in front.
async fn open() -> Json<serde_json::Value> {
    Json(json!({ "username": "alice" }))
}

async fn create_session(State(sessions): State<SessionManager>) -> Json<serde_json::Value> {
    let session = sessions.create("alice").await.unwrap();
    Json(json!({ "sessionId": session.token.expose() }))
}

/// `--serve`: serves the two routes on a 2-worker runtime (what `#[tokio::main]` gives on
/// this 2-core machine), and prints its address and a token of a live session as one line.
fn serve() {
    runtime().block_on(async move {
        let sessions = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
        let token = sessions.create("alice").await.unwrap().token;
        let app = Router::new()
            .route("/sessions", get(get_session))
            .route_layer(SessionLayer::new(sessions.clone()))
            .route("/sessions", post(create_session))
            .route("/open", get(open))
            .with_state(sessions);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{} {}", listener.local_addr().unwrap(), token.expose());
        axum::serve(listener, app).await.unwrap();
    });
}

/// Runs this binary with `--serve` as a separate process, like the example server.
fn start_copy() -> Server {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let (addr, token) = line.trim().split_once(' ').expect("address and token");
    Server {
        addr: addr.parse().unwrap(),
        token: token.to_owned(),
        child,
    }
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the example server binary and logs in once over HTTP.
fn start_example(o: &Options) -> Result<Server, String> {
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let child = spawn_example_server(&o.server, port)?;
    let mut example = Server {
        child,
        addr,
        token: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = Command::new("curl")
            .args([
                "-s",
                "-m",
                "2",
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
            ])
            .args(["--data", r#"{"username":"alice","password":"x"}"#])
            .arg(format!("http://{addr}/sessions"))
            .output()
            .map_err(|e| format!("curl: {e}"))?;
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&answer.stdout)
            && let Some(token) = value["sessionId"].as_str()
        {
            example.token = token.to_owned();
            return Ok(example);
        }
        if Instant::now() > deadline {
            return Err("the example server did not answer within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------
// wrk

/// Stops each wrk thread after a number of answers, so a run is bounded in requests too.
const LUA: &str = r#"
local limit = tonumber(os.getenv("WRK_MAX_REQUESTS_PER_THREAD") or "1000000")
local seen = 0
function response(status, headers, body)
  seen = seen + 1
  if seen >= limit then wrk.thread:stop() end
end
"#;

#[derive(Clone, Copy, Debug)]
struct Run {
    rps: f64,
    p99_ms: f64,
    p50_ms: f64,
}

fn wrk(
    o: &Options,
    url: &str,
    token: Option<&str>,
    script: &std::path::Path,
) -> Result<Run, String> {
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{}", o.threads))
        .arg(format!("-c{}", o.connections))
        .arg(format!("-d{}s", o.duration))
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .env(
            "WRK_MAX_REQUESTS_PER_THREAD",
            (o.max_requests / o.threads.max(1)).to_string(),
        );
    if let Some(token) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    cmd.arg(url);
    // wrk stops by itself after -d; `timeout` is the belt to its braces.
    let output = Command::new("timeout")
        .arg((o.duration + 30).to_string())
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .map_err(|e| format!("wrk could not be started ({e}): apt-get install -y wrk"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("wrk failed: {}\n{text}", output.status));
    }
    if text.contains("Non-2xx") || text.contains("Socket errors") {
        return Err(format!("wrk saw errors against {url}:\n{text}"));
    }
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk's output:\n{text}"))?;
    let percentile = |p: &str| {
        text.lines()
            .find_map(|l| {
                let mut words = l.split_whitespace();
                (words.next()? == p).then(|| words.next()).flatten()
            })
            .and_then(parse_latency)
            .ok_or_else(|| format!("no {p} latency in wrk's output:\n{text}"))
    };
    Ok(Run {
        rps,
        p99_ms: percentile("99%")?,
        p50_ms: percentile("50%")?,
    })
}

/// wrk's `1.23ms`, `456.78us`, `1.01s` as milliseconds.
fn parse_latency(v: &str) -> Option<f64> {
    let (number, factor) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    Some(number.parse::<f64>().ok()? * factor)
}

fn main() {
    if std::env::args().any(|a| a == "--serve") {
        serve();
        return;
    }
    let o = options();
    if !o.bench {
        // Built as a test: the JSON and the latency parser; no server, no wrk.
        assert_eq!(parse_latency("1.50ms"), Some(1.5));
        assert_eq!(parse_latency("250.00us"), Some(0.25));
        println!("http: checked");
        return;
    }
    let copy = start_copy();
    let local = copy.addr;
    let example = match start_example(&o) {
        Ok(example) => Some(example),
        Err(e) => {
            eprintln!("example server skipped: {e}");
            None
        }
    };
    let script = std::env::temp_dir().join(format!("bench-http-{}.lua", std::process::id()));
    std::fs::write(&script, LUA).unwrap();

    struct Target {
        label: String,
        url: String,
        token: Option<String>,
        runs: Vec<Run>,
    }
    let mut targets = vec![
        Target {
            label: "without the layer: `GET /open`, same handler and answer".into(),
            url: format!("http://{local}/open"),
            token: Some(copy.token.clone()),
            runs: Vec::new(),
        },
        Target {
            label: "with SessionLayer: `GET /sessions`, opaque Bearer token, MemoryStore".into(),
            url: format!("http://{local}/sessions"),
            token: Some(copy.token.clone()),
            runs: Vec::new(),
        },
    ];
    if let Some(example) = &example {
        targets.push(Target {
            label: "the example server binary: `GET /sessions` (with SessionLayer)".into(),
            url: format!("http://{}/sessions", example.addr),
            token: Some(example.token.clone()),
            runs: Vec::new(),
        });
    }
    for round in 0..o.rounds {
        for k in 0..targets.len() {
            let i = (k + round) % targets.len();
            let t = &mut targets[i];
            eprintln!("round {}/{}: {}", round + 1, o.rounds, t.url);
            match wrk(&o, &t.url, t.token.as_deref(), &script) {
                Ok(run) => t.runs.push(run),
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
        }
    }
    let _ = std::fs::remove_file(&script);
    drop(example);
    drop(copy);

    let base = &targets[0].runs;
    let mut out = format!(
        "Loopback HTTP/1.1 on 127.0.0.1: wrk -t{} -c{} -d{}s (at most {} requests per run), \
         {} rounds interleaved; server: axum 0.8 on a 2-worker tokio runtime. Medians; \
         ratios are medians of the per-round ratios.\n\n",
        o.threads, o.connections, o.duration, o.max_requests, o.rounds
    );
    out.push_str("| server | requests/s | p50 | p99 | requests/s × without | p99 × without |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|\n");
    for t in &targets {
        let rps_ratio = median(
            &mut t
                .runs
                .iter()
                .zip(base)
                .map(|(a, b)| a.rps / b.rps)
                .collect::<Vec<_>>(),
        );
        let p99_ratio = median(
            &mut t
                .runs
                .iter()
                .zip(base)
                .map(|(a, b)| a.p99_ms / b.p99_ms)
                .collect::<Vec<_>>(),
        );
        out.push_str(&format!(
            "| {} | {:.0} | {:.3} ms | {:.3} ms | {:.2} | {:.2} |\n",
            t.label,
            median(&mut t.runs.iter().map(|r| r.rps).collect::<Vec<_>>()),
            median(&mut t.runs.iter().map(|r| r.p50_ms).collect::<Vec<_>>()),
            median(&mut t.runs.iter().map(|r| r.p99_ms).collect::<Vec<_>>()),
            rps_ratio,
            p99_ratio
        ));
    }
    let layered = median(
        &mut targets[1]
            .runs
            .iter()
            .zip(base)
            .map(|(a, b)| a.rps / b.rps)
            .collect::<Vec<_>>(),
    );
    out.push_str(&format!(
        "\nGoal (issue #6): {} with the layer, {:.0}% of the requests/s without it (goal ≥ 80%).\n",
        if layered >= 0.8 { "✅" } else { "❌" },
        layered * 100.0
    ));
    println!("{out}");
}
