//! Loopback HTTP throughput with and without the session layer, driven by `wrk`.
//!
//! A copy of the example server (this binary run with `--serve`, a process of its own on
//! 127.0.0.1 with a 2-worker tokio runtime) serves the example's `GET /sessions` route
//! twice: behind `SessionLayer` (opaque Bearer token, embedded `MemoryStore`) at `/sessions`,
//! and without the layer at `/open`, with the same handler body and answer. The example server
//! binary itself (`target/release/examples/server`, embedded mode) is run too, and its
//! `GET /sessions` measured the same way, as a check that the copy behaves like the original.
//!
//! With DynamoDB Local (`COGNITO_SESSION_DYNAMODB_LOCAL_URL`, as `scripts/emulators.sh` sets
//! it; `scripts/bench` starts it), the DynamoDB mode is measured too, on one table of DynamoDB
//! Local. The copy serves, with one shared SDK client: `GET /ddb/bare`, a route without the
//! layer that does the single consistent `GetItem` of a session and answers its user's name,
//! the floor of anything that reads the session per request; `GET /ddb/sessions`, the layer on
//! a `DynamoDbStore`; and `GET /ddb/cached`, the layer on a `CachedStore` (5 s) in front of it.
//! The example server binary runs in its DynamoDB mode (`SESSION_TABLE`, `AWS_ENDPOINT_URL`),
//! without and with `SESSION_CACHE_SECS=5`.
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
use support::sdk::{self, DYNAMODB_LOCAL_URL};
use support::{free_port, median, runtime, spawn_example_server, spawn_example_server_with};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use cognito_session::store::CachedStore;
use cognito_session::store::MemoryStore;
use cognito_session::store::dynamodb::DynamoDbStore;
use cognito_session::store::dynamodb::TableSettings;
use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
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

/// The table the DynamoDB routes use: `BENCH_HTTP_TABLE`, set by the bench for its copy.
const TABLE_VARIABLE: &str = "BENCH_HTTP_TABLE";

/// What `GET /ddb/bare` reads: the session's item, with the client the layer uses.
#[derive(Clone)]
struct BareRead {
    client: aws_sdk_dynamodb::Client,
    table: TableSettings,
    key: String,
}

/// One consistent `GetItem`, and the user's name from the item: what the layer's store does
/// per request, without the layer.
async fn bare_get(State(read): State<BareRead>) -> Json<serde_json::Value> {
    let item = read
        .client
        .get_item()
        .table_name(&read.table.name)
        .key(
            &read.table.partition_key,
            AttributeValue::S(read.key.clone()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
    let username = item
        .item()
        .and_then(|item| item.get("username")?.as_s().ok())
        .expect("the session's item");
    Json(json!({ "username": username }))
}

/// `--serve`: serves the routes on a 2-worker runtime (what `#[tokio::main]` gives on this
/// 2-core machine), and prints its address and a token of a live session as one line, and
/// with a table (`BENCH_HTTP_TABLE` and DynamoDB Local), a token of a session in the table.
fn serve() {
    runtime().block_on(async move {
        let sessions = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
        let token = sessions.create("alice").await.unwrap().token;
        let mut app = Router::new()
            .route("/sessions", get(get_session))
            .route_layer(SessionLayer::new(sessions.clone()))
            .route("/sessions", post(create_session))
            .route("/open", get(open))
            .with_state(sessions);
        let mut line = token.expose().to_owned();
        if let (Ok(url), Ok(table)) = (
            std::env::var(DYNAMODB_LOCAL_URL),
            std::env::var(TABLE_VARIABLE),
        ) {
            let (routes, token) = dynamodb_routes(&url, &table).await;
            app = app.merge(routes);
            line = format!("{line} {token}");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{} {line}", listener.local_addr().unwrap());
        axum::serve(listener, app).await.unwrap();
    });
}

/// The DynamoDB routes, all on one SDK client, and the token of the session they read.
async fn dynamodb_routes(url: &str, table: &str) -> (Router, String) {
    let client = aws_sdk_dynamodb::Client::from_conf(sdk::dynamodb(url, "test").build());
    let settings = TableSettings::new(table);
    let store = || DynamoDbStore::new(client.clone(), settings.clone()).unwrap();
    store().create_table().await.expect("the bench's table");
    let direct = SessionManager::new(store(), SessionConfig::default()).unwrap();
    let cached = SessionManager::new(
        CachedStore::new(store(), Duration::from_secs(5)),
        SessionConfig::default(),
    )
    .unwrap();
    let session = direct.create("alice").await.unwrap();
    let bare = BareRead {
        client: client.clone(),
        table: settings.clone(),
        key: session.user.session_key().to_owned(),
    };
    let routes = Router::new()
        .route(
            "/ddb/sessions",
            get(get_session).layer(SessionLayer::new(direct)),
        )
        .route(
            "/ddb/cached",
            get(get_session).layer(SessionLayer::new(cached)),
        )
        .route("/ddb/bare", get(bare_get).with_state(bare));
    (routes, session.token.expose().to_owned())
}

/// Runs this binary with `--serve` as a separate process, like the example server; with
/// `table`, its DynamoDB routes on that table too.
fn start_copy(table: Option<&str>) -> Server {
    let mut command = Command::new(std::env::current_exe().unwrap());
    if let Some(table) = table {
        command.env(TABLE_VARIABLE, table);
    }
    let mut child = command
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
    let mut words = line.split_whitespace();
    let (addr, token) = (words.next(), words.next());
    Server {
        addr: addr.expect("an address").parse().unwrap(),
        token: token.expect("a token").to_owned(),
        table_token: words.next().map(str::to_owned),
        child,
    }
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    token: String,
    /// The copy's session in the table, if it has DynamoDB routes.
    table_token: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the example server binary (embedded mode, or with `env` for its DynamoDB mode)
/// and logs in once over HTTP.
fn start_example(o: &Options, env: &[(&str, String)]) -> Result<Server, String> {
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let child = if env.is_empty() {
        spawn_example_server(&o.server, port)?
    } else {
        spawn_example_server_with(&o.server, port, env)?
    };
    let mut example = Server {
        child,
        addr,
        token: String::new(),
        table_token: None,
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
    // With DynamoDB Local: one table for the copy and the example server, new for this run.
    let dynamodb = std::env::var(DYNAMODB_LOCAL_URL).ok();
    let table = format!("bench_http_{}", std::process::id());
    let copy = start_copy(dynamodb.as_ref().map(|_| table.as_str()));
    let local = copy.addr;
    let example_env = |cache: bool| -> Vec<(&str, String)> {
        let url = dynamodb.clone().unwrap_or_default();
        let mut env = vec![
            ("SESSION_TABLE", table.clone()),
            ("AWS_ENDPOINT_URL", url),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ];
        if cache {
            env.push(("SESSION_CACHE_SECS", "5".into()));
        }
        env
    };
    let start = |env: &[(&str, String)], what: &str| match start_example(&o, env) {
        Ok(example) => Some(example),
        Err(e) => {
            eprintln!("example server ({what}) skipped: {e}");
            None
        }
    };
    let example = start(&[], "embedded");
    let (example_table, example_cached) = match &dynamodb {
        Some(_) => (
            start(&example_env(false), "DynamoDB"),
            start(&example_env(true), "DynamoDB, SESSION_CACHE_SECS=5"),
        ),
        None => (None, None),
    };
    let script = std::env::temp_dir().join(format!("bench-http-{}.lua", std::process::id()));
    std::fs::write(&script, LUA).unwrap();

    struct Target {
        name: &'static str,
        label: String,
        url: String,
        token: Option<String>,
        runs: Vec<Run>,
    }
    let target = |name, label: &str, url: String, token: &str| Target {
        name,
        label: label.to_owned(),
        url,
        token: Some(token.to_owned()),
        runs: Vec::new(),
    };
    let mut targets = vec![
        target(
            "open",
            "without the layer: `GET /open`, same handler and answer",
            format!("http://{local}/open"),
            &copy.token,
        ),
        target(
            "memory",
            "with SessionLayer: `GET /sessions`, opaque Bearer token, MemoryStore",
            format!("http://{local}/sessions"),
            &copy.token,
        ),
    ];
    if let Some(example) = &example {
        targets.push(target(
            "example",
            "the example server binary, embedded: `GET /sessions` (with SessionLayer)",
            format!("http://{}/sessions", example.addr),
            &example.token,
        ));
    }
    if let Some(token) = &copy.table_token {
        targets.push(target(
            "ddb_bare",
            "DynamoDB, without the layer: `GET /ddb/bare`, one consistent `GetItem`, same client",
            format!("http://{local}/ddb/bare"),
            token,
        ));
        targets.push(target(
            "ddb_layer",
            "DynamoDB, with SessionLayer: `GET /ddb/sessions`, `DynamoDbStore`, same client",
            format!("http://{local}/ddb/sessions"),
            token,
        ));
        targets.push(target(
            "ddb_cached",
            "DynamoDB, with SessionLayer: `GET /ddb/cached`, `CachedStore` (5 s), same client",
            format!("http://{local}/ddb/cached"),
            token,
        ));
    }
    for (example, name, label) in [
        (
            &example_table,
            "example_ddb",
            "the example server binary, `SESSION_TABLE` (DynamoDB Local): `GET /sessions`",
        ),
        (
            &example_cached,
            "example_cached",
            "the example server binary, `SESSION_TABLE` and `SESSION_CACHE_SECS=5`: `GET /sessions`",
        ),
    ] {
        if let Some(example) = example {
            targets.push(target(
                name,
                label,
                format!("http://{}/sessions", example.addr),
                &example.token,
            ));
        }
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
    drop((example, example_table, example_cached));
    drop(copy);

    let find = |name: &str| targets.iter().find(|t| t.name == name);
    // The median over the rounds of a's requests/s (or p99) over b's.
    let ratio = |a: &Target, b: &Target, of: fn(&Run) -> f64| {
        median(
            &mut a
                .runs
                .iter()
                .zip(&b.runs)
                .map(|(x, y)| of(x) / of(y))
                .collect::<Vec<_>>(),
        )
    };
    let mut out = format!(
        "Loopback HTTP/1.1 on 127.0.0.1: wrk -t{} -c{} -d{}s (at most {} requests per run), \
         {} rounds interleaved; server: axum 0.8 on a 2-worker tokio runtime. Medians; \
         ratios are medians of the per-round ratios, against the row named in the last column.\n\n",
        o.threads, o.connections, o.duration, o.max_requests, o.rounds
    );
    out.push_str("| server | requests/s | p50 | p99 | requests/s × base | p99 × base | base |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---|\n");
    for t in &targets {
        let base_name = match t.name {
            "ddb_bare" | "ddb_layer" | "ddb_cached" | "example_ddb" => "ddb_bare",
            "example_cached" => "example",
            _ => "open",
        };
        let Some(base) = find(base_name) else {
            continue;
        };
        out.push_str(&format!(
            "| {} | {:.0} | {:.3} ms | {:.3} ms | {:.2} | {:.2} | `{}` |\n",
            t.label,
            median(&mut t.runs.iter().map(|r| r.rps).collect::<Vec<_>>()),
            median(&mut t.runs.iter().map(|r| r.p50_ms).collect::<Vec<_>>()),
            median(&mut t.runs.iter().map(|r| r.p99_ms).collect::<Vec<_>>()),
            ratio(t, base, |r| r.rps),
            ratio(t, base, |r| r.p99_ms),
            base_name,
        ));
    }
    let mark = |ok: bool| if ok { "✅" } else { "❌" };
    out.push_str("\nGoals:\n");
    let mut goal = |label: &str, a: &str, b: &str, limit: f64| {
        if let (Some(a), Some(b)) = (find(a), find(b)) {
            let r = ratio(a, b, |r| r.rps);
            out.push_str(&format!(
                "- {} {label}: {:.0} % (goal ≥ {:.0} %)\n",
                mark(r >= limit),
                r * 100.0,
                limit * 100.0
            ));
        }
    };
    goal(
        "(issue #6) with the layer, of the requests/s without it",
        "memory",
        "open",
        0.8,
    );
    goal(
        "(issue #15) the example server on DynamoDB Local, of the bare `GetItem` route's requests/s",
        "example_ddb",
        "ddb_bare",
        0.9,
    );
    goal(
        "(issue #15, same process and client) the layer on `DynamoDbStore`, of the bare `GetItem` route's",
        "ddb_layer",
        "ddb_bare",
        0.9,
    );
    goal(
        "(issue #15) the example server with `SESSION_CACHE_SECS=5`, of its embedded mode's requests/s",
        "example_cached",
        "example",
        0.8,
    );
    goal(
        "(issue #15, same process) the layer on `CachedStore`, of the layer on `MemoryStore`",
        "ddb_cached",
        "memory",
        0.8,
    );
    if dynamodb.is_none() {
        out.push_str(&format!(
            "\n(DynamoDB mode not measured: {DYNAMODB_LOCAL_URL} is not set; `scripts/bench` starts DynamoDB Local.)\n"
        ));
    }
    println!("{out}");
}
