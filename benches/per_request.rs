//! What the session layer costs per request, in process (no network), measured against
//! baselines and peers in the same run.
//!
//! Every case is an axum 0.8 `Router` with one route, `GET /me`, whose handler answers the
//! user's name; only what sits in front of the handler differs. Each iteration builds a new
//! request (one header), calls the ready service and drops the response, on a single-threaded
//! tokio runtime.
//!
//! The cases run interleaved: every round runs each case for a fixed batch of iterations (in
//! a rotating order), and the table shows the median over the rounds of the time per request,
//! and the median over the rounds of the ratio of each case to the bare handler and to the
//! peers *of the same round*, so that a machine getting busier or quieter during the run
//! moves the numerator and the denominator together.
//!
//! ```text
//! cargo bench --bench per_request                              # the table
//! cargo bench --bench per_request -- --rounds 31 --batch-ms 30
//! cargo bench --bench per_request -- --instructions            # + callgrind instructions/request
//! cargo bench --bench per_request -- --case opaque_bearer --iterations 1000   # one case only
//! cargo bench --bench per_request -- --instructions-only --baseline benches/baseline/instructions.json
//! cargo bench --bench per_request -- --instructions-only --save-baseline benches/baseline/instructions.json
//! ```
//!
//! `--baseline FILE` compares this run's instruction counts with the ones committed in
//! `FILE` (written by `--save-baseline FILE`) and flags every case that grew by more than
//! 5 %; with `--check` as well, the bench then exits with status 1.
//!
//! `--instructions` runs each case under `valgrind --tool=callgrind` twice, with `I` and with
//! 0 timed iterations after the same set-up and warm-up, counting only inside `Case::run`
//! (the requests), and reports the difference over `I`: instruction counts don't depend on
//! what else the machine is doing.
//!
//! Without `--bench` (that is, when built as a test: `cargo test --benches`) it only runs each
//! case a few times and checks its answer.

mod support;
use support::args::Args;
use support::{free_port, keys, median, sdk};

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use cognito_session::store::MemoryStore;
use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager, TokenSource};
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use http::{HeaderName, HeaderValue, StatusCode, Uri};
use http_body_util::BodyExt;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use tower::{Service, ServiceExt};

/// The cases, in table order.
const CASES: &[(&str, &str)] = &[
    ("bare", "bare handler, no layer"),
    (
        "opaque_bearer",
        "SessionLayer, opaque token (Bearer), MemoryStore",
    ),
    (
        "opaque_cookie",
        "SessionLayer, opaque token (cookie), MemoryStore",
    ),
    (
        "tower_sessions",
        "peer: tower-sessions 0.15, MemoryStore, loads the session",
    ),
    (
        "floor",
        "the least a session layer does: Bearer token, SHA-256, map look-up, user as an extension",
    ),
    (
        "jwt_rs256",
        "peer: jsonwebtoken RS256 decode + claim checks per request",
    ),
    (
        "cognito_warm",
        "SessionLayer, Cognito RS256 access token (Bearer), MemoryStore, verified-token cache warm",
    ),
    (
        "cognito_cold",
        "SessionLayer, Cognito RS256 access token, MemoryStore, token cache off (RS256 verified every request)",
    ),
];

/// The key id of the test-only RSA key the JWT cases sign with, `support::keys::fixture()`
/// (see `benches/fixtures/README.md`).
const KID: &str = "bench-key-1";
const POOL_ID: &str = "us-east-1_bench";
const CLIENT_ID: &str = "bench-client";
const USERNAME: &str = "alice";

// ---------------------------------------------------------------------------------------
// Command line

#[derive(Clone)]
struct Options {
    bench: bool,
    case: Option<String>,
    cases: Option<Vec<String>>,
    iterations: u64,
    rounds: usize,
    batch: Duration,
    sessions: usize,
    instructions: bool,
    instruction_iterations: u64,
    /// Only the callgrind counts, no timed rounds.
    instructions_only: bool,
    /// The committed instruction counts to compare with.
    baseline: Option<String>,
    /// Where to write this run's instruction counts as the new baseline.
    save_baseline: Option<String>,
}

fn options() -> Options {
    let args = Args::from_env();
    Options {
        bench: args.flag("--bench"),
        case: args.value("--case"),
        cases: args
            .value("--cases")
            .map(|list| list.split(',').map(str::to_owned).collect()),
        iterations: args.number("--iterations", 1000),
        rounds: args.number("--rounds", 21),
        batch: Duration::from_millis(args.number("--batch-ms", 20)),
        sessions: args.number("--sessions", 10_000),
        instructions: args.flag("--instructions") || args.flag("--instructions-only"),
        instruction_iterations: args.number("--instruction-iterations", 1000),
        instructions_only: args.flag("--instructions-only"),
        baseline: args.value("--baseline"),
        save_baseline: args.value("--save-baseline"),
    }
}

// ---------------------------------------------------------------------------------------
// A case: a router and the one header its requests carry

struct Case {
    name: &'static str,
    service: Router,
    header: (HeaderName, HeaderValue),
}

impl Case {
    fn request(&self) -> Request {
        let mut request = Request::new(Body::empty());
        *request.uri_mut() = Uri::from_static("/me");
        request
            .headers_mut()
            .insert(self.header.0.clone(), self.header.1.clone());
        request
    }

    /// `n` requests, one after the other.
    async fn run(&mut self, n: u64) {
        for _ in 0..n {
            let request = self.request();
            let response = ServiceExt::<Request>::ready(&mut self.service)
                .await
                .unwrap()
                .call(request)
                .await
                .unwrap();
            if response.status() != StatusCode::OK {
                panic!("{}: status {}", self.name, response.status());
            }
            black_box(response);
        }
    }

    /// One request whose whole answer is checked.
    async fn check(&mut self) {
        let response = self.service.clone().oneshot(self.request()).await.unwrap();
        let status = response.status();
        let cookies = response.headers().get_all(SET_COOKIE).iter().count();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            (status, &body[..], cookies),
            (StatusCode::OK, USERNAME.as_bytes(), 0),
            "{}: unexpected answer",
            self.name
        );
    }
}

async fn build(name: &str, o: &Options) -> Case {
    match name {
        "bare" => bare().await,
        "opaque_bearer" => opaque(false, o.sessions).await,
        "opaque_cookie" => opaque(true, o.sessions).await,
        "tower_sessions" => tower_sessions(o.sessions).await,
        "floor" => floor(o.sessions),
        "jwt_rs256" => jwt_rs256(),
        "cognito_warm" => cognito(true, o.sessions).await,
        "cognito_cold" => cognito(false, o.sessions).await,
        other => panic!("unknown case {other:?}; the cases are {:?}", case_names()),
    }
}

fn case_names() -> Vec<&'static str> {
    CASES.iter().map(|(name, _)| *name).collect()
}

fn bearer(token: &str) -> (HeaderName, HeaderValue) {
    (
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    )
}

// ---------------------------------------------------------------------------------------
// The cases

async fn bare() -> Case {
    async fn me() -> &'static str {
        USERNAME
    }
    // The same kind of header as the layered cases carry, so building the request costs
    // the same; nothing reads it.
    let header = bearer("ignored-by-the-bare-handler-ignored-by-the-bare");
    Case {
        name: "bare",
        service: Router::new().route("/me", get(me)),
        header,
    }
}

async fn opaque(cookie: bool, sessions: usize) -> Case {
    async fn me(user: CurrentUser) -> String {
        user.username().to_owned()
    }
    let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
    // Other users' sessions, so the store isn't a one-entry map.
    for i in 0..sessions {
        manager.create(&format!("user{i}")).await.unwrap();
    }
    let session = manager.create(USERNAME).await.unwrap();
    let token = session.token.expose();
    let header = if cookie {
        let name = manager.config().cookie_name();
        (
            COOKIE,
            HeaderValue::from_str(&format!("{name}={token}")).unwrap(),
        )
    } else {
        bearer(token)
    };
    Case {
        name: if cookie {
            "opaque_cookie"
        } else {
            "opaque_bearer"
        },
        service: Router::new()
            .route("/me", get(me))
            .layer(SessionLayer::new(manager)),
        header,
    }
}

async fn tower_sessions(sessions: usize) -> Case {
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    async fn login(session: Session, request: Request) -> StatusCode {
        let username = request.uri().query().unwrap_or(USERNAME).to_owned();
        session.insert("username", username).await.unwrap();
        StatusCode::OK
    }
    async fn me(session: Session) -> String {
        session
            .get::<String>("username")
            .await
            .unwrap()
            .unwrap_or_default()
    }
    let service = Router::new()
        .route("/login", get(login))
        .route("/me", get(me))
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false));
    let login = |user: &str| {
        let request = Request::get(format!("/login?{user}"))
            .body(Body::empty())
            .unwrap();
        let service = service.clone();
        async move {
            let response = service.oneshot(request).await.unwrap();
            let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
            // `id=...; HttpOnly; ...` -> `id=...`
            cookie.split(';').next().unwrap().to_owned()
        }
    };
    for i in 0..sessions {
        login(&format!("user{i}")).await;
    }
    let cookie = login(USERNAME).await;
    Case {
        name: "tower_sessions",
        header: (COOKIE, HeaderValue::from_str(&cookie).unwrap()),
        service,
    }
}

/// The claims of a Cognito access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct AccessToken {
    sub: String,
    iss: String,
    client_id: String,
    origin_jti: String,
    event_id: String,
    token_use: String,
    scope: String,
    auth_time: u64,
    exp: u64,
    iat: u64,
    jti: String,
    username: String,
}

fn issuer() -> String {
    format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL_ID}")
}

fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An access token for `USERNAME` signed with the test key, as Cognito would issue it,
/// valid for an hour, and its claims.
fn access_token() -> (String, AccessToken) {
    let now = epoch_now();
    let claims = AccessToken {
        sub: "8c5b3e34-1111-4f1e-9a1c-2b7d1f0c0001".into(),
        iss: issuer(),
        client_id: CLIENT_ID.into(),
        origin_jti: "a1b2c3d4-2222-4e5f-8a9b-0c1d2e3f0002".into(),
        event_id: "e1f2a3b4-3333-4c5d-9e0f-1a2b3c4d0003".into(),
        token_use: "access".into(),
        scope: "aws.cognito.signin.user.admin".into(),
        auth_time: now,
        exp: now + 3600,
        iat: now,
        jti: "j1k2l3m4-4444-4n5o-8p9q-0r1s2t3u0004".into(),
        username: USERNAME.into(),
    };
    (keys::sign(&claims, &keys::fixture(), KID), claims)
}

/// The public half of the test key as a JWK with our key id.
fn public_jwk() -> Jwk {
    keys::jwk(&keys::fixture(), KID)
}

/// What a JWT-verifying layer (jwt-authorizer, aws-jwt-verify and the like) does per
/// request: find the key by `kid`, check the RS256 signature, `iss` and `exp`, then the
/// Cognito claims `token_use` and `client_id`.
struct JwtVerifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

async fn verify_jwt(
    State(verifier): State<Arc<JwtVerifier>>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let claims = token.and_then(|token| {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let key = verifier.keys.get(&kid)?;
        let claims = jsonwebtoken::decode::<AccessToken>(token, key, &verifier.validation)
            .ok()?
            .claims;
        (claims.token_use == "access" && claims.client_id == CLIENT_ID).then_some(claims)
    });
    match claims {
        Some(claims) => {
            request.extensions_mut().insert(claims);
            next.run(request).await
        }
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// What any layer that checks opaque tokens against a table of their hashes must do, and
/// nothing else: no expiry, no rotation, no cookie, no tracing, no CSRF check, one map
/// behind no lock. What `SessionLayer` adds on top of this is what it costs for all that.
fn floor(sessions: usize) -> Case {
    use std::convert::Infallible;
    use std::future::{Ready, ready};
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use sha2::{Digest, Sha256};

    #[derive(Clone)]
    struct User(Arc<str>);

    type Table = HashMap<[u8; 32], User, foldhash::fast::RandomState>;

    #[derive(Clone)]
    struct Floor<S> {
        inner: S,
        table: Arc<Table>,
    }

    pin_project_lite::pin_project! {
        #[project = EitherProj]
        enum Either<A, B> {
            Inner { #[pin] future: A },
            Refused { #[pin] future: B },
        }
    }

    impl<A: Future, B: Future<Output = A::Output>> Future for Either<A, B> {
        type Output = A::Output;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<A::Output> {
            match self.project() {
                EitherProj::Inner { future } => future.poll(cx),
                EitherProj::Refused { future } => future.poll(cx),
            }
        }
    }

    impl<S> Service<Request> for Floor<S>
    where
        S: Service<Request, Response = Response, Error = Infallible>,
    {
        type Response = Response;
        type Error = Infallible;
        type Future = Either<S::Future, Ready<Result<Response, Infallible>>>;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            self.inner.poll_ready(cx)
        }

        fn call(&mut self, mut request: Request) -> Self::Future {
            let user = request
                .headers()
                .get(AUTHORIZATION)
                .and_then(|value| value.to_str().ok()?.strip_prefix("Bearer "))
                .and_then(|token| self.table.get(&<[u8; 32]>::from(Sha256::digest(token))))
                .cloned();
            match user {
                Some(user) => {
                    request.extensions_mut().insert(user);
                    Either::Inner {
                        future: self.inner.call(request),
                    }
                }
                None => Either::Refused {
                    future: ready(Ok(StatusCode::UNAUTHORIZED.into_response())),
                },
            }
        }
    }

    async fn me(Extension(user): Extension<User>) -> String {
        user.0.to_string()
    }

    let token = |i: usize| format!("{i:0>43}");
    let mut table = Table::default();
    for i in 0..=sessions {
        let name = if i == sessions {
            USERNAME.to_owned()
        } else {
            format!("user{i}")
        };
        table.insert(Sha256::digest(token(i)).into(), User(name.into()));
    }
    let table = Arc::new(table);
    Case {
        name: "floor",
        service: Router::new()
            .route("/me", get(me))
            .layer(tower::layer::layer_fn(move |inner| Floor {
                inner,
                table: table.clone(),
            })),
        header: bearer(&token(sessions)),
    }
}

fn jwt_rs256() -> Case {
    async fn me(Extension(claims): Extension<AccessToken>) -> String {
        claims.username
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer()]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.validate_aud = false;
    let verifier = Arc::new(JwtVerifier {
        keys: HashMap::from([(
            KID.to_owned(),
            DecodingKey::from_jwk(&public_jwk()).unwrap(),
        )]),
        validation,
    });
    Case {
        name: "jwt_rs256",
        service: Router::new()
            .route("/me", get(me))
            .layer(middleware::from_fn_with_state(verifier, verify_jwt)),
        header: bearer(&access_token().0),
    }
}

/// Serves `{"keys": [the test key]}` at `http://127.0.0.1:PORT/jwks.json` from a thread of
/// its own, for the rest of the process; returns the URL.
fn serve_jwks() -> String {
    let body = serde_json::json!({ "keys": [public_jwk()] }).to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app =
                Router::new().route(
                    "/jwks.json",
                    get(move || async move {
                        ([(http::header::CONTENT_TYPE, "application/json")], body)
                    }),
                );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
            tx.send(url).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// A Cognito SDK client aimed at a local port nothing listens on: in steady state no
/// request needs Cognito itself.
fn unused_cognito_client() -> aws_sdk_cognitoidentityprovider::Client {
    let url = format!("http://127.0.0.1:{}", free_port());
    aws_sdk_cognitoidentityprovider::Client::from_conf(sdk::cognito(&url).build())
}

/// A Cognito session whose record is put straight into the store (what a log-in would have
/// written), and requests carrying its access token as `Bearer`. With `warm` the manager
/// keeps verified tokens (the default); without, it verifies RS256 on every request.
async fn cognito(warm: bool, sessions: usize) -> Case {
    use cognito_session::Secret;
    use cognito_session::cognito::CognitoSettings;
    use cognito_session::store::{CognitoTokens, SessionRecord, TokenHash};

    async fn me(user: CurrentUser) -> String {
        user.username().to_owned()
    }
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let settings = CognitoSettings::new(POOL_ID, CLIENT_ID)
        .with_jwks_url(serve_jwks())
        .with_http_client(http)
        .with_token_cache_capacity(if warm { 10_000 } else { 0 });
    let manager = SessionManager::with_cognito(
        MemoryStore::new(),
        SessionConfig::default(),
        settings,
        unused_cognito_client(),
    )
    .unwrap();
    // Other users' (opaque) sessions, so the store isn't a one-entry map.
    for i in 0..sessions {
        manager.create(&format!("user{i}")).await.unwrap();
    }
    let (token, claims) = access_token();
    let now = epoch_now();
    let record = SessionRecord {
        sub: Some(claims.sub.clone()),
        cognito: Some(CognitoTokens {
            access_token: Secret::new(token.clone()),
            refresh_token: Secret::new("not-used-in-steady-state"),
            access_expires_at: claims.exp,
        }),
        ..SessionRecord::new(
            claims.origin_jti.clone(),
            claims.username.clone(),
            TokenHash::of(&token),
            now,
            now + 7 * 24 * 3600,
        )
    };
    manager.store().create(&record, now).await.unwrap();
    Case {
        name: if warm { "cognito_warm" } else { "cognito_cold" },
        service: Router::new()
            .route("/me", get(me))
            .layer(SessionLayer::new(manager)),
        header: bearer(&token),
    }
}

/// Bytes of the future `SessionManager::authenticate_from` returns: `SessionLayer` builds
/// (and boxes) one per request, whatever kind of token the request carries, so its size is a
/// per-request cost (moved, and copied into the heap).
async fn authenticate_future_size() -> usize {
    let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
    let token = manager.create(USERNAME).await.unwrap().token;
    let future = manager.authenticate_from(token.expose(), TokenSource::Bearer);
    let size = std::mem::size_of_val(&future);
    future.await.unwrap();
    size
}

// ---------------------------------------------------------------------------------------
// Measuring

/// Runs `case` in growing batches until one takes long enough to time, then returns the
/// batch size that takes about `target`.
async fn calibrate(case: &mut Case, target: Duration) -> u64 {
    case.run(64).await;
    let mut n = 16u64;
    loop {
        let start = Instant::now();
        case.run(n).await;
        let took = start.elapsed();
        if took >= Duration::from_millis(5) || n >= 1 << 24 {
            let per = took.as_secs_f64() / n as f64;
            return ((target.as_secs_f64() / per) as u64).max(16);
        }
        n *= 4;
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

struct Measured {
    name: &'static str,
    /// ns per request, one per round.
    per_round: Vec<f64>,
}

async fn measure(cases: &mut [Case], o: &Options) -> Vec<Measured> {
    let mut batches = Vec::new();
    for case in cases.iter_mut() {
        batches.push(calibrate(case, o.batch).await);
    }
    let mut results: Vec<Measured> = cases
        .iter()
        .map(|c| Measured {
            name: c.name,
            per_round: Vec::with_capacity(o.rounds),
        })
        .collect();
    for round in 0..o.rounds {
        // Rotate the order so no case always runs right after the same other one.
        for k in 0..cases.len() {
            let i = (k + round) % cases.len();
            let n = batches[i];
            let start = Instant::now();
            cases[i].run(n).await;
            let ns = start.elapsed().as_nanos() as f64 / n as f64;
            results[i].per_round.push(ns);
        }
    }
    results
}

/// Median over the rounds of `a / b`.
fn ratio(a: &Measured, b: &Measured) -> f64 {
    let mut ratios: Vec<f64> = a
        .per_round
        .iter()
        .zip(&b.per_round)
        .map(|(x, y)| x / y)
        .collect();
    median(&mut ratios)
}

// ---------------------------------------------------------------------------------------
// Instructions, with callgrind

/// Instructions per request of each case: callgrind's total with `iterations` timed requests
/// minus its total with none, over `iterations`.
fn instructions(names: &[&str], o: &Options) -> HashMap<String, f64> {
    let exe = std::env::current_exe().expect("the bench's own path");
    let dir = std::env::temp_dir().join(format!("per_request-callgrind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut out = HashMap::new();
    for name in names {
        let total = |iterations: u64| -> Option<u64> {
            let file = dir.join(format!("{name}-{iterations}.out"));
            let status = Command::new("valgrind")
                .arg("--tool=callgrind")
                // Counted only inside `Case::run` (the warm-up and the timed requests): the
                // set-up makes random tokens and hash seeds, and its count moves by a few
                // million instructions from one run to the next.
                .arg("--toggle-collect=*Case::run*")
                .arg(format!("--callgrind-out-file={}", file.display()))
                .arg(&exe)
                .args(["--bench", "--case", name, "--iterations"])
                .arg(iterations.to_string())
                .args(["--sessions", &o.sessions.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            match status {
                Ok(s) if s.success() => callgrind_total(&file),
                Ok(s) => {
                    eprintln!("callgrind run of {name} failed: {s}");
                    None
                }
                Err(e) => {
                    eprintln!("valgrind could not be started: {e}");
                    None
                }
            }
        };
        let n = o.instruction_iterations;
        eprintln!("callgrind: {name} ({n} requests, then 0)");
        if let (Some(with), Some(without)) = (total(n), total(0)) {
            out.insert(
                (*name).to_owned(),
                (with as f64 - without as f64) / n as f64,
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// The `summary:` (or `totals:`) line of a callgrind output file: instructions executed.
fn callgrind_total(file: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .filter_map(|line| {
            line.strip_prefix("summary:")
                .or_else(|| line.strip_prefix("totals:"))
        })
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .next_back()
}

// ---------------------------------------------------------------------------------------
// The committed instruction counts

/// How much a case may grow over the committed count before it is flagged.
const ALLOWED_GROWTH: f64 = 0.05;

/// Writes `counts` as the baseline file: the counts, and how they were made.
fn save_baseline(path: &str, counts: &HashMap<String, f64>, o: &Options) {
    let cases: serde_json::Map<String, serde_json::Value> = case_names()
        .into_iter()
        .filter_map(|name| Some((name.to_owned(), counts.get(name)?.round().into())))
        .collect();
    let file = serde_json::json!({
        "what": "callgrind instructions per request of each per_request case",
        "command": format!(
            "cargo bench --bench per_request -- \
             --instructions-only --instruction-iterations {} --sessions {} --save-baseline {path}",
            o.instruction_iterations, o.sessions
        ),
        "rustc": rustc_version(),
        "cases": cases,
    });
    std::fs::write(path, serde_json::to_string_pretty(&file).unwrap() + "\n")
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    eprintln!("baseline written to {path}");
}

fn rustc_version() -> String {
    Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |v| v.trim().to_owned())
}

/// The comparison of `counts` with the baseline file, as a Markdown table; and whether
/// every case stayed within [`ALLOWED_GROWTH`].
fn compare_baseline(path: &str, counts: &HashMap<String, f64>) -> (String, bool) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => return (format!("(no baseline: {path}: {e})\n"), true),
    };
    let file: serde_json::Value = serde_json::from_str(&text).expect("the baseline is JSON");
    let committed = |name: &str| file["cases"][name].as_f64();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Instructions per request against the committed baseline (`{path}`, {}); a case \
         more than {:.0} % above it is flagged.\n",
        file["rustc"].as_str().unwrap_or("rustc unknown"),
        ALLOWED_GROWTH * 100.0
    );
    let _ = writeln!(
        t,
        "| case | committed | now | change | |\n|---|---:|---:|---:|---|"
    );
    let mut ok = true;
    for name in case_names() {
        let (Some(now), Some(before)) = (counts.get(name), committed(name)) else {
            continue;
        };
        let change = now / before - 1.0;
        let grew = change > ALLOWED_GROWTH;
        ok &= !grew;
        let _ = writeln!(
            t,
            "| `{name}` | {} | {} | {:+.1} % | {} |",
            fmt_count(before),
            fmt_count(*now),
            change * 100.0,
            if grew { "❌ grew" } else { "✅" }
        );
    }
    (t, ok)
}

// ---------------------------------------------------------------------------------------
// Report

fn fmt_ns(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

fn fmt_count(n: f64) -> String {
    let n = n.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn report(results: &[Measured], instructions: &HashMap<String, f64>, o: &Options) -> String {
    let find = |name: &str| results.iter().find(|m| m.name == name);
    let bare = find("bare");
    let tower = find("tower_sessions");
    let jwt = find("jwt_rs256");
    let mut t = String::new();
    let _ = writeln!(
        t,
        "In-process cost per request: axum 0.8 Router, current-thread tokio runtime, {} rounds \
         interleaved, ~{} ms per case per round; MemoryStores hold {} other sessions. \
         Times are medians over the rounds; ratios are medians of the per-round ratios.\n",
        o.rounds,
        o.batch.as_millis(),
        o.sessions
    );
    let with_instr = !instructions.is_empty();
    let _ = write!(
        t,
        "| case | what | time/request | ±IQR/2 | × bare | × tower-sessions | × RS256 decode |"
    );
    if with_instr {
        let _ = write!(
            t,
            " instructions/request | instr. × tower-sessions | instr. × RS256 decode |"
        );
    }
    let _ = writeln!(t);
    let _ = write!(t, "|---|---|---:|---:|---:|---:|---:|");
    if with_instr {
        let _ = write!(t, "---:|---:|---:|");
    }
    let _ = writeln!(t);
    for m in results {
        let what = CASES
            .iter()
            .find(|(n, _)| *n == m.name)
            .map_or("", |(_, w)| w);
        let mut sorted = m.per_round.clone();
        let med = median(&mut sorted);
        let iqr = quantile(&sorted, 0.75) - quantile(&sorted, 0.25);
        let vs = |peer: Option<&Measured>| {
            peer.map_or_else(|| "–".to_owned(), |p| format!("{:.2}", ratio(m, p)))
        };
        let _ = write!(
            t,
            "| `{}` | {} | {} | ±{} | {} | {} | {} |",
            m.name,
            what,
            fmt_ns(med),
            fmt_ns(iqr / 2.0),
            vs(bare),
            vs(tower),
            vs(jwt)
        );
        if with_instr {
            let mine = instructions.get(m.name);
            let vs_i = |peer: &str| match (mine, instructions.get(peer)) {
                (Some(a), Some(b)) => format!("{:.2}", a / b),
                _ => "–".to_owned(),
            };
            let _ = write!(
                t,
                " {} | {} | {} |",
                mine.map_or_else(|| "–".to_owned(), |n| fmt_count(*n)),
                vs_i("tower_sessions"),
                vs_i("jwt_rs256")
            );
        }
        let _ = writeln!(t);
    }

    // The goals of issues #6 and #15 that this table can decide.
    let goal = |label: &str, case: &str, peer: &str, limit: f64| {
        let (a, b) = (find(case)?, find(peer)?);
        let r = ratio(a, b);
        let by_instr = match (instructions.get(case), instructions.get(peer)) {
            (Some(x), Some(y)) => format!(", instructions {:.2}×", x / y),
            _ => String::new(),
        };
        let ok = r <= limit;
        Some(format!(
            "- {} {label}: time {r:.2}× (goal ≤ {limit}×){by_instr}",
            if ok { "✅" } else { "❌" }
        ))
    };
    let opaque = "opaque token vs tower-sessions";
    let cookie = "opaque token in a cookie vs tower-sessions";
    let warm = "Cognito token, warm cache, vs tower-sessions";
    let issues = [
        (
            6,
            [
                goal(opaque, "opaque_bearer", "tower_sessions", 0.6),
                goal(cookie, "opaque_cookie", "tower_sessions", 0.6),
                goal(warm, "cognito_warm", "tower_sessions", 0.8),
                goal(
                    "Cognito token, warm cache, vs RS256 decode",
                    "cognito_warm",
                    "jwt_rs256",
                    0.1,
                ),
            ],
        ),
        (
            15,
            [
                goal(opaque, "opaque_bearer", "tower_sessions", 0.45),
                goal(cookie, "opaque_cookie", "tower_sessions", 0.45),
                goal(warm, "cognito_warm", "tower_sessions", 0.5),
                None,
            ],
        ),
    ];
    for (issue, goals) in issues {
        let goals: Vec<String> = goals.into_iter().flatten().collect();
        if !goals.is_empty() {
            let _ = writeln!(t, "\nGoals (issue #{issue}):\n{}", goals.join("\n"));
        }
    }
    if let (Some(layer), Some(floor), Some(tower)) =
        (find("opaque_bearer"), find("floor"), find("tower_sessions"))
    {
        let _ = writeln!(
            t,
            "\nThe floor (`floor`) is {:.2}× tower-sessions; `SessionLayer` with an opaque \
             token is {:.2}× the floor.",
            ratio(floor, tower),
            ratio(layer, floor)
        );
    }
    t
}

// ---------------------------------------------------------------------------------------

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if let Some(name) = &o.case {
            // One case, for callgrind: set-up and warm-up, then `--iterations` requests.
            let mut case = build(name, &o).await;
            case.check().await;
            case.run(64).await;
            case.run(o.iterations).await;
            return;
        }
        let names: Vec<&str> = match &o.cases {
            Some(list) => case_names()
                .into_iter()
                .filter(|n| list.iter().any(|l| l == n))
                .collect(),
            None => case_names(),
        };
        if !o.bench {
            // Built as a test: check every case answers right, quickly.
            let small = Options {
                sessions: 10,
                ..o.clone()
            };
            for name in &names {
                let mut case = build(name, &small).await;
                case.check().await;
                case.run(3).await;
            }
            println!("per_request: {} cases checked", names.len());
            return;
        }
        if o.instructions_only {
            let counts = instructions(&names, &o);
            finish_instructions(&counts, &o);
            return;
        }
        let mut cases = Vec::new();
        for name in &names {
            eprintln!("setting up {name}");
            let mut case = build(name, &o).await;
            case.check().await;
            cases.push(case);
        }
        eprintln!("measuring {} cases, {} rounds", cases.len(), o.rounds);
        let results = measure(&mut cases, &o).await;
        drop(cases);
        let instructions = if o.instructions {
            instructions(&names, &o)
        } else {
            HashMap::new()
        };
        println!("{}", report(&results, &instructions, &o));
        println!(
            "Size of the future `SessionManager::authenticate_from` returns (built and boxed once \
             per request by SessionLayer): {} bytes.",
            authenticate_future_size().await
        );
        finish_instructions(&instructions, &o);
    });
}

/// What `--instructions-only`, `--baseline` and `--save-baseline` ask for, once the counts
/// are in; exits with status 1 under `--check` when a case grew too much.
fn finish_instructions(counts: &HashMap<String, f64>, o: &Options) {
    if counts.is_empty() {
        return;
    }
    if o.instructions_only {
        let mut t = String::from("| case | instructions/request |\n|---|---:|\n");
        for name in case_names() {
            if let Some(n) = counts.get(name) {
                let _ = writeln!(t, "| `{name}` | {} |", fmt_count(*n));
            }
        }
        println!("{t}");
    }
    if let Some(path) = &o.baseline {
        let (table, ok) = compare_baseline(path, counts);
        println!("{table}");
        if !ok && Args::from_env().flag("--check") {
            eprintln!("per_request: a case grew by more than 5 % over {path}");
            std::process::exit(1);
        }
    }
    if let Some(path) = &o.save_baseline {
        save_baseline(path, counts, o);
    }
}
