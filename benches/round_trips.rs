//! Round trips per request against DynamoDB Local, counted by an SDK interceptor.
//!
//! Requests go through `SessionLayer` in process; the store is `DynamoDbStore` on DynamoDB
//! Local. Every request the SDK transmits is counted by operation (`GetItem`, `UpdateItem`,
//! `PutItem`, ...), and `GetItem`s by whether they asked for a consistent read.
//!
//! - steady state: one session, N authenticated requests;
//! - idle timeout on (touch interval 60 s): N requests one simulated second apart, so the
//!   touch is due N/60 times;
//! - read cache: the store behind a 5 s `CachedStore`, N requests one simulated second
//!   apart, so the table is read once per 5 requests;
//! - signed rows: what the row MAC costs. Two stores on the same table, one with a key (every
//!   row signed, every read checked) and one without (`with_unsigned_rows`), each with an
//!   opaque session; their `load`s are timed in interleaved batches, and so are the hits of
//!   a `CachedStore` in front of each. The ratios signed/unsigned are medians of per-round
//!   ratios;
//! - refresh storm (needs moto too): a Cognito session logged in through moto, then 100
//!   concurrent requests with its access token while it needs no refresh, then 100 with the
//!   manager's clock moved on so that the same token is due for refresh. Cognito calls and
//!   DynamoDB writes of the storm are counted, and the time until all 100 are answered is
//!   compared with the 100 that needed no refresh. Repeated `--storms` times, each time on a
//!   new log-in; the median is shown.
//!
//! Needs the emulators (`scripts/emulators.sh start`, then `source .emulators/env`); without
//! `COGNITO_SESSION_DYNAMODB_LOCAL_URL` it says so and does nothing, and without
//! `COGNITO_SESSION_MOTO_URL` it skips the storm.
//!
//! ```text
//! cargo bench --bench round_trips             # or: -- --requests 1000
//! ```

mod support;
use support::args::Args;
use support::sdk::{self, Calls};
use support::{median, runtime};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cognitoidentityprovider::types::{ExplicitAuthFlowsType, MessageActionType};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::routing::get;
use cognito_session::cognito::CognitoSettings;
use cognito_session::store::CachedStore;
use cognito_session::store::SessionStore;
use cognito_session::store::dynamodb::DynamoDbStore;
use cognito_session::store::dynamodb::TableSettings;
use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
use http::StatusCode;
use http::header::AUTHORIZATION;
use tower::ServiceExt;

/// The read cache's time to live in the cached scenario.
const CACHE_TTL: Duration = Duration::from_secs(5);

fn dynamodb_client(url: &str, calls: &Calls) -> aws_sdk_dynamodb::Client {
    let config = sdk::dynamodb(url, "test").interceptor(calls.clone());
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// The real clock plus an offset the bench moves by hand.
#[derive(Clone, Default)]
struct Clock(Arc<AtomicU64>);

impl Clock {
    fn new() -> Self {
        Self::default()
    }

    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::Relaxed);
    }

    fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }

    fn config(&self) -> SessionConfig {
        let offset = self.0.clone();
        SessionConfig::default().with_clock(move || {
            SystemTime::now() + Duration::from_secs(offset.load(Ordering::Relaxed))
        })
    }
}

async fn me(user: CurrentUser) -> String {
    user.username().to_owned()
}

struct Scenario {
    label: &'static str,
    requests: u64,
    calls: BTreeMap<String, u64>,
    took: Duration,
}

/// `requests` authenticated requests through the layer, `step` simulated seconds apart.
async fn scenario(
    label: &'static str,
    store: Arc<dyn SessionStore>,
    calls: &Calls,
    clock: &Clock,
    config: SessionConfig,
    requests: u64,
    step: u64,
) -> Scenario {
    let manager = SessionManager::new(store, config).unwrap();
    let token = manager.create("alice").await.unwrap().token;
    let app = Router::new()
        .route("/me", get(me))
        .layer(SessionLayer::new(manager));
    let header = format!("Bearer {}", token.expose());
    // One request before counting, so the SDK's connection is open.
    let send = |app: Router| {
        let request = Request::get("/me")
            .header(AUTHORIZATION, &header)
            .body(Body::empty())
            .unwrap();
        async move {
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{label}");
        }
    };
    send(app.clone()).await;
    calls.take();
    let start = Instant::now();
    for _ in 0..requests {
        clock.advance(step);
        send(app.clone()).await;
    }
    Scenario {
        label,
        requests,
        took: start.elapsed(),
        calls: calls.take(),
    }
}

fn cognito_client(url: &str, calls: &Calls) -> aws_sdk_cognitoidentityprovider::Client {
    let config = sdk::cognito(url).interceptor(calls.clone());
    aws_sdk_cognitoidentityprovider::Client::from_conf(config.build())
}

/// A user pool in moto with an app client (password and refresh-token log-in) and one user.
async fn moto_pool(
    client: &aws_sdk_cognitoidentityprovider::Client,
    moto: &str,
) -> (CognitoSettings, String, String) {
    let name = format!("bench-{}", std::process::id());
    let pool = client
        .create_user_pool()
        .pool_name(&name)
        .send()
        .await
        .expect("CreateUserPool");
    let pool_id = pool.user_pool().and_then(|p| p.id()).unwrap().to_owned();
    let app = client
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("bench")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("CreateUserPoolClient");
    let client_id = app
        .user_pool_client()
        .and_then(|c| c.client_id())
        .unwrap()
        .to_owned();
    let (username, password) = ("storm-user".to_owned(), "Bench-Password-1".to_owned());
    client
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username(&username)
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .expect("AdminCreateUser");
    client
        .admin_set_user_password()
        .user_pool_id(&pool_id)
        .username(&username)
        .password(&password)
        .permanent(true)
        .send()
        .await
        .expect("AdminSetUserPassword");
    // moto serves the keys under the pool id; its tokens name the real issuer.
    let settings = CognitoSettings::new(&pool_id, client_id)
        .with_jwks_url(format!("{moto}/{pool_id}/.well-known/jwks.json"));
    (settings, username, password)
}

/// `n` requests with `token` at once; the time until all are answered, and how many
/// answers carried a new token: Bearer clients get it in the token header
/// (`x-session-token`, the default), or in `Set-Cookie` where the bearer cookie is on.
async fn burst(app: &Router, token: &str, n: usize) -> (Duration, usize) {
    let header = format!("Bearer {token}");
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let request = Request::get("/me")
                .header(AUTHORIZATION, &header)
                .body(Body::empty())
                .unwrap();
            tokio::spawn(app.clone().oneshot(request))
        })
        .collect();
    let mut renewed = 0;
    for task in tasks {
        let response = task.await.unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::OK, "a request of the burst");
        let headers = response.headers();
        renewed += usize::from(
            headers.contains_key("x-session-token")
                || headers.contains_key(http::header::SET_COOKIE),
        );
    }
    (start.elapsed(), renewed)
}

struct Storm {
    calm: Duration,
    storm: Duration,
    renewed: usize,
    cognito: BTreeMap<String, u64>,
    dynamodb: BTreeMap<String, u64>,
}

/// One log-in, 100 requests that need no refresh, then 100 whose token is due.
async fn storm(
    store: &DynamoDbStore,
    dynamodb_calls: &Calls,
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    cognito_calls: &Calls,
    pool: &(CognitoSettings, String, String),
    n: usize,
) -> Storm {
    let (settings, username, password) = pool;
    let clock = Clock::new();
    let manager = SessionManager::with_cognito(
        store.clone(),
        clock.config(),
        settings.clone(),
        cognito.clone(),
    )
    .unwrap();
    let token = manager
        .login(username, password)
        .await
        .expect("log-in through moto")
        .into_session()
        .expect("a session, not a challenge")
        .token;
    let app = Router::new()
        .route("/me", get(me))
        .layer(SessionLayer::new(manager));
    // Warm: the JWKS fetched, the token verified, as many connections open as the bursts
    // use.
    burst(&app, token.expose(), n).await;
    dynamodb_calls.take();
    cognito_calls.take();
    let (calm, _) = burst(&app, token.expose(), n).await;
    let calm_calls = (dynamodb_calls.take(), cognito_calls.take());
    assert!(
        calm_calls.1.is_empty(),
        "no Cognito call without a refresh: {calm_calls:?}"
    );
    // moto's access tokens live an hour; 70 s before the end the token is inside the
    // default refresh window (120 s), and not expired.
    clock.advance(3530);
    let (storm, renewed) = burst(&app, token.expose(), n).await;
    let result = Storm {
        calm,
        storm,
        renewed,
        cognito: cognito_calls.take(),
        dynamodb: dynamodb_calls.take(),
    };
    clock.reset();
    result
}

/// The row MAC's cost: `load` through a store that signs and checks rows against one that
/// doesn't, on the same table, and a `CachedStore` hit in front of each.
async fn mac_cost(
    signed: DynamoDbStore,
    unsigned: DynamoDbStore,
    rounds: usize,
    batch: u32,
) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let manager = |store: DynamoDbStore| {
        SessionManager::new(store, SessionConfig::default()).expect("the default config")
    };
    let (signed_key, unsigned_key) = (
        manager(signed.clone()).create("signed").await.unwrap(),
        manager(unsigned.clone()).create("unsigned").await.unwrap(),
    );
    let keys = [
        signed_key.user.session_key().to_owned(),
        unsigned_key.user.session_key().to_owned(),
    ];
    let stores = [signed, unsigned];
    let caches = stores
        .clone()
        .map(|store| CachedStore::new(store, Duration::from_secs(3600)));
    for (cache, key) in caches.iter().zip(&keys) {
        assert!(
            cache.load(key, now).await.unwrap().is_some(),
            "the session is there"
        );
    }
    let (mut load_ratio, mut hit_ratio) = (Vec::new(), Vec::new());
    let (mut load_us, mut hit_ns) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for _ in 0..rounds {
        let mut load = [0.0; 2];
        let mut hit = [0.0; 2];
        for i in 0..2 {
            let started = Instant::now();
            for _ in 0..batch {
                let record = stores[i].load(&keys[i], now).await.unwrap();
                assert!(record.is_some(), "a signed row reads back");
            }
            load[i] = started.elapsed().as_secs_f64() * 1e6 / f64::from(batch);
            let started = Instant::now();
            for _ in 0..batch * 100 {
                let found = caches[i].load_now(&keys[i], now);
                assert!(matches!(found, cognito_session::store::LoadNow::Found(_)));
            }
            hit[i] = started.elapsed().as_secs_f64() * 1e9 / f64::from(batch * 100);
        }
        load_ratio.push(load[0] / load[1]);
        hit_ratio.push(hit[0] / hit[1]);
        for i in 0..2 {
            load_us[i].push(load[i]);
            hit_ns[i].push(hit[i]);
        }
    }
    format!(
        "Signed rows: the row MAC's cost, a store with a key (every row signed and checked) \
         against one without (`with_unsigned_rows`), same table, {rounds} rounds of {batch} \
         loads and {} cache hits each, interleaved; medians.\n\n\
         | | signed | unsigned | signed / unsigned |\n|---|---:|---:|---:|\n\
         | `load` (GetItem on DynamoDB Local, decode, check) | {:.0} µs | {:.0} µs | {:.3} |\n\
         | `CachedStore` hit (`load_now`) | {:.0} ns | {:.0} ns | {:.3} |\n\n",
        batch * 100,
        median(&mut load_us[0]),
        median(&mut load_us[1]),
        median(&mut load_ratio),
        median(&mut hit_ns[0]),
        median(&mut hit_ns[1]),
        median(&mut hit_ratio),
    )
}

fn storms_report(storms: &[Storm], n: usize) -> String {
    let count = |m: &BTreeMap<String, u64>, op: &str| m.get(op).copied().unwrap_or(0);
    let mut out = format!(
        "Refresh storm: {n} concurrent requests carrying one Cognito access token (moto), \
         session in DynamoDB Local; first while the token needs no refresh, then with the \
         manager's clock moved into the token's refresh window. {} storms, each on a new \
         log-in.\n\n| storm | Cognito calls | DynamoDB writes (UpdateItem / PutItem) | DynamoDB reads | answers with a new token | time, no refresh | time, refresh storm | ratio |\n|---:|---|---:|---:|---:|---:|---:|---:|\n",
        storms.len()
    );
    let mut exact = true;
    for (i, s) in storms.iter().enumerate() {
        let cognito: Vec<String> = s
            .cognito
            .iter()
            .map(|(op, k)| format!("{op} {k}"))
            .collect();
        let cognito_total: u64 = s.cognito.values().sum();
        let writes = count(&s.dynamodb, "UpdateItem") + count(&s.dynamodb, "PutItem");
        exact &= cognito_total == 1 && writes == 1;
        out.push_str(&format!(
            "| {} | {} | {} / {} | {} | {} | {:.1} ms | {:.1} ms | {:.2} |\n",
            i + 1,
            if cognito.is_empty() {
                "0".to_owned()
            } else {
                cognito.join(", ")
            },
            count(&s.dynamodb, "UpdateItem"),
            count(&s.dynamodb, "PutItem"),
            count(&s.dynamodb, "GetItem"),
            s.renewed,
            s.calm.as_secs_f64() * 1000.0,
            s.storm.as_secs_f64() * 1000.0,
            s.storm.as_secs_f64() / s.calm.as_secs_f64()
        ));
    }
    let ratio = median(
        &mut storms
            .iter()
            .map(|s| s.storm.as_secs_f64() / s.calm.as_secs_f64())
            .collect::<Vec<_>>(),
    );
    out.push_str(&format!(
        "\nMedian time ratio, storm / no refresh: {ratio:.2}.\n\nGoal (issue #6): {} exactly 1 Cognito call and 1 DynamoDB write per storm.\n",
        if exact { "✅" } else { "❌" }
    ));
    out
}

fn main() {
    let args = Args::from_env();
    let bench = args.flag("--bench");
    let mut requests: u64 = args.number("--requests", 600);
    let mut storms: usize = args.number("--storms", 5);
    let Ok(url) = std::env::var(sdk::DYNAMODB_LOCAL_URL) else {
        println!(
            "round_trips: skipped, COGNITO_SESSION_DYNAMODB_LOCAL_URL is not set \
             (scripts/emulators.sh start; source .emulators/env)"
        );
        return;
    };
    if !bench {
        requests = 5;
        storms = 1;
    }
    runtime().block_on(async move {
        let calls = Calls::default();
        let client = dynamodb_client(&url, &calls);
        let table = format!(
            "bench-sessions-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis()
        );
        // Cognito sessions in a table must be encrypted: a key made for this run (the refresh
        // storm stores Cognito tokens; it is the same work in every round trip counted).
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("a random key");
        let store = DynamoDbStore::new(client.clone(), TableSettings::new(&table))
            .expect("the default partition key is valid")
            .with_encryption_key(key);
        store.create_table().await.expect("create the table");
        calls.take();

        let clock = Clock::new();
        let uncached: Arc<dyn SessionStore> = Arc::new(store.clone());
        let steady = scenario(
            "steady state (no idle timeout)",
            uncached.clone(),
            &calls,
            &clock,
            clock.config(),
            requests,
            1,
        )
        .await;
        let idle = scenario(
            "idle timeout 30 min, touch interval 60 s, requests 1 s apart",
            uncached.clone(),
            &calls,
            &clock,
            clock
                .config()
                .with_idle_timeout(Some(Duration::from_secs(1800)))
                .with_touch_interval(Duration::from_secs(60)),
            requests,
            1,
        )
        .await;
        let cached = scenario(
            "read cache 5 s (`CachedStore`, `SESSION_CACHE_SECS=5`), requests 1 s apart",
            Arc::new(CachedStore::new(store.clone(), CACHE_TTL)),
            &calls,
            &clock,
            clock.config(),
            requests,
            1,
        )
        .await;
        let unsigned = DynamoDbStore::new(client.clone(), TableSettings::new(&table))
            .expect("the default partition key is valid")
            .with_unsigned_rows(true);
        let (rounds, batch) = if bench { (15, 40) } else { (1, 2) };
        let mac_report = mac_cost(store.clone(), unsigned, rounds, batch).await;
        calls.take();
        let storm_report = match std::env::var(sdk::MOTO_URL) {
            Ok(moto) => {
                let cognito_calls = Calls::default();
                let cognito = cognito_client(&moto, &cognito_calls);
                let pool = moto_pool(&cognito, &moto).await;
                let mut results = Vec::new();
                for _ in 0..storms {
                    results.push(storm(&store, &calls, &cognito, &cognito_calls, &pool, 100).await);
                }
                storms_report(&results, 100)
            }
            Err(_) => "Refresh storm: skipped, COGNITO_SESSION_MOTO_URL is not set.\n".to_owned(),
        };
        let _ = client.delete_table().table_name(&table).send().await;

        let mut out = String::from(
            "DynamoDB round trips per authenticated request (DynamoDB Local, counted by an SDK \
             interceptor; in-process requests through SessionLayer, opaque Bearer token).\n\n\
             | scenario | requests | GetItem | of which consistent | UpdateItem | PutItem | other | reads/request | writes/request | time/request (DynamoDB Local) |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        let mut goal = true;
        for s in [&steady, &idle, &cached] {
            let get = |op: &str| s.calls.get(op).copied().unwrap_or(0);
            let reads = get("GetItem") + get("Query") + get("BatchGetItem");
            let writes = get("UpdateItem") + get("PutItem") + get("DeleteItem")
                + get("BatchWriteItem");
            let other: u64 = s
                .calls
                .iter()
                .filter(|(op, _)| {
                    !matches!(
                        op.as_str(),
                        "GetItem" | "GetItem (consistent)" | "UpdateItem" | "PutItem"
                    )
                })
                .map(|(_, n)| n)
                .sum();
            let n = s.requests as f64;
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.4} | {:.2} ms |\n",
                s.label,
                s.requests,
                get("GetItem"),
                get("GetItem (consistent)"),
                get("UpdateItem"),
                get("PutItem"),
                other,
                reads as f64 / n,
                writes as f64 / n,
                s.took.as_secs_f64() * 1000.0 / n
            ));
            if std::ptr::eq(s, &steady) {
                goal &= reads <= s.requests && writes == 0;
            } else if std::ptr::eq(s, &cached) {
                // One read per cache interval (requests are 1 s apart).
                goal &= reads <= s.requests.div_ceil(CACHE_TTL.as_secs()) + 1 && writes == 0;
            } else {
                // At most one touch per started interval.
                goal &= reads <= s.requests && writes <= s.requests.div_ceil(60) + 1;
            }
        }
        let cached_reads = cached.calls.get("GetItem").copied().unwrap_or(0);
        let intervals = cached.requests as f64 / CACHE_TTL.as_secs() as f64;
        out.push_str(&format!(
            "\nWith the read cache: {:.2} reads per session per cache interval ({} reads over {} \
             requests, {} s apart, {} s cache).\n",
            cached_reads as f64 / intervals,
            cached_reads,
            cached.requests,
            1,
            CACHE_TTL.as_secs()
        ));
        out.push_str(&format!(
            "\nGoal (issue #6): {} at most 1 read and 0 writes per request in steady state; \
             touches at most once per touch interval; with the read cache, one read per \
             session per cache interval.\n",
            if goal { "✅" } else { "❌" }
        ));
        println!("{out}\n{mac_report}{storm_report}");
    });
}
