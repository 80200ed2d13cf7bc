//! tonic gRPC services behind the layer, called with a real tonic client: in-process, in
//! front of `Server::builder()` and mounted in an axum `Router`; and `examples/grpc` as a
//! process, with tonic's client and with gRPC's own Python implementation (grpcio).
//!
//! Every refusal must reach the client as a gRPC status (16 no or invalid token, 7 a
//! guard, 14 an outage, 3 two tokens), never as a transport error.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use cognito_session::guard::RequireGroup;
use cognito_session::rejection::{GrpcOnRejection, Rejection};
use cognito_session::store::intercept::{Call, Intercepted, Interceptor};
use cognito_session::store::{MemoryStore, SessionStore, StoreError};
use cognito_session::{CurrentUser, SessionConfig, SessionLayer, SessionManager};
use common::private::Private;
use common::server::{ExampleServer, example_binary, free_port, log_in};
use tonic::Code;
use tonic::metadata::MetadataMap;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService};

/// tonic-health's service, keeping the name of every user its handler was called for.
#[derive(Clone)]
struct Seen {
    health: Arc<HealthService>,
    users: Arc<Mutex<Vec<String>>>,
}

impl Seen {
    fn new() -> Self {
        Self {
            health: Arc::new(HealthService::from_health_reporter(HealthReporter::new())),
            users: Arc::default(),
        }
    }

    fn users(&self) -> Vec<String> {
        self.users.lock().unwrap().clone()
    }
}

#[tonic::async_trait]
impl Health for Seen {
    async fn check(
        &self,
        request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, tonic::Status> {
        let user = request.extensions().get::<CurrentUser>().cloned();
        let name = user.map_or_else(|| "<none>".to_owned(), |u| u.username().to_owned());
        self.users.lock().unwrap().push(name);
        self.health.check(request).await
    }

    type WatchStream = <HealthService as Health>::WatchStream;

    async fn watch(
        &self,
        request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        self.health.watch(request).await
    }
}

/// A switch that takes the store down.
#[derive(Default)]
struct Outage(AtomicBool);

#[async_trait]
impl Interceptor for Outage {
    async fn before(&self, _call: Call<'_>) -> Result<(), StoreError> {
        if self.0.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the table is down (test)".into()));
        }
        Ok(())
    }
}

type Store = Arc<Intercepted<MemoryStore, Outage>>;

fn store() -> Store {
    Arc::new(Intercepted::new(MemoryStore::new(), Outage::default()))
}

async fn listener() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// `Server::builder()` with the layer in front of `service`, and a group guard behind it
/// when `guard` is set; its address.
async fn tonic_server(manager: SessionManager, service: Seen, guard: bool) -> SocketAddr {
    let (listener, addr) = listener().await;
    let mut builder =
        Server::builder().layer(SessionLayer::new(manager).with_rejection(GrpcOnRejection));
    let incoming = TcpIncoming::from(listener);
    let health = HealthServer::new(service);
    if guard {
        let router = builder
            .layer(RequireGroup::new("admins").with_rejection(GrpcOnRejection))
            .add_service(health);
        tokio::spawn(router.serve_with_incoming(incoming));
    } else {
        tokio::spawn(builder.add_service(health).serve_with_incoming(incoming));
    }
    addr
}

/// tonic's routes in an axum Router, `Watch` guarded on its own, the layer in front with
/// its default rejection; served by `axum::serve`. Its address.
async fn axum_server(manager: SessionManager, service: Seen) -> SocketAddr {
    let (listener, addr) = listener().await;
    let health = HealthServer::new(service);
    let watch = axum::Router::new()
        .route_service("/grpc.health.v1.Health/Watch", health.clone())
        .route_layer(RequireGroup::new("admins"));
    let app = tonic::service::Routes::new(health)
        .into_axum_router()
        .merge(watch)
        .route_layer(SessionLayer::new(manager));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn client(addr: SocketAddr) -> HealthClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connected");
    HealthClient::new(channel)
}

/// A request with one `authorization` entry per token.
fn request(tokens: &[&str]) -> tonic::Request<HealthCheckRequest> {
    let mut request = tonic::Request::new(HealthCheckRequest::default());
    for token in tokens {
        let value = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().append("authorization", value);
    }
    request
}

/// `Check` with `tokens`: the serving status and the response metadata, or the status the
/// call ended with.
async fn check(
    addr: SocketAddr,
    tokens: &[&str],
) -> Result<(ServingStatus, MetadataMap), tonic::Status> {
    let response = client(addr).await.check(request(tokens)).await?;
    Ok((response.get_ref().status(), response.metadata().clone()))
}

/// The code `Check` with `tokens` ended with, which must be a refusal; its message must
/// tell nothing about the token.
async fn refused(addr: SocketAddr, tokens: &[&str]) -> Code {
    let status = check(addr, tokens).await.expect_err("a refusal");
    assert_grpc_refusal(&status, tokens);
    status.code()
}

/// `status` came from the layer's `grpc-status`, not from a client mapping an HTTP error
/// status (tonic maps 401 to UNAUTHENTICATED, 503 to UNAVAILABLE, ... by itself, with a
/// message of its own): the message is one of the layer's, and names no token.
fn assert_grpc_refusal(status: &tonic::Status, tokens: &[&str]) {
    if status.code() == Code::NotFound {
        return; // a_rejection_of_ones_own_replaces_the_grpc_answer_too, which sends none
    }
    let ours = [
        Rejection::Missing,
        Rejection::Invalid(cognito_session::rejection::InvalidReason::Malformed),
        Rejection::Forbidden,
        Rejection::Unavailable,
        Rejection::BadRequest,
    ]
    .map(|r| r.message());
    assert!(ours.contains(&status.message()), "{status:?}");
    for token in tokens {
        assert!(!status.message().contains(token), "{status:?}");
    }
}

async fn watch_refused(addr: SocketAddr, token: &str) -> Code {
    let status = client(addr)
        .await
        .watch(request(&[token]))
        .await
        .expect_err("a refusal");
    assert_grpc_refusal(&status, &[token]);
    status.code()
}

/// A token that has the shape of the layer's opaque tokens and names no session.
const FORGED: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// The cases every shape of server must pass, on a session of `alice`.
async fn the_cases(
    addr: SocketAddr,
    guarded: SocketAddr,
    manager: &SessionManager,
    store: &Store,
    seen: &Seen,
) {
    let session = manager.create("alice").await.unwrap();
    let token = session.token.expose();

    assert_eq!(refused(addr, &[]).await, Code::Unauthenticated, "no token");
    assert_eq!(
        refused(addr, &[FORGED]).await,
        Code::Unauthenticated,
        "forged"
    );
    assert_eq!(
        refused(addr, &[token, token]).await,
        Code::InvalidArgument,
        "two entries"
    );
    assert!(
        seen.users().is_empty(),
        "no refused call reached the handler"
    );

    let (serving, _) = check(addr, &[token]).await.expect("a session gets through");
    assert_eq!(serving, ServingStatus::Serving);
    assert_eq!(seen.users(), ["alice"], "the handler saw the user");

    assert_eq!(
        watch_refused(guarded, token).await,
        Code::PermissionDenied,
        "a guard"
    );

    store.interceptor().0.store(true, Ordering::SeqCst);
    assert_eq!(
        refused(addr, &[token]).await,
        Code::Unavailable,
        "the store down"
    );
    store.interceptor().0.store(false, Ordering::SeqCst);
    let (serving, _) = check(addr, &[token])
        .await
        .expect("the session survived the outage");
    assert_eq!(serving, ServingStatus::Serving);

    assert_eq!(manager.delete_user("alice").await.unwrap(), 1);
    assert_eq!(
        refused(addr, &[token]).await,
        Code::Unauthenticated,
        "ended"
    );
    assert_eq!(seen.users(), ["alice", "alice"]);
}

#[tokio::test]
async fn in_front_of_a_tonic_server_builder() {
    let store = store();
    let manager = SessionManager::new(store.clone(), SessionConfig::default()).unwrap();
    let seen = Seen::new();
    let addr = tonic_server(manager.clone(), seen.clone(), false).await;
    let guarded = tonic_server(manager.clone(), Seen::new(), true).await;
    the_cases(addr, guarded, &manager, &store, &seen).await;
}

#[tokio::test]
async fn tonic_routes_in_an_axum_router_and_http_keeps_its_answers() {
    let store = store();
    let manager = SessionManager::new(store.clone(), SessionConfig::default()).unwrap();
    let seen = Seen::new();
    let addr = axum_server(manager.clone(), seen.clone()).await;
    the_cases(addr, addr, &manager, &store, &seen).await;

    // The same route asked over HTTP/1.1 without gRPC's content type: today's JSON 401.
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/grpc.health.v1.Health/Check"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("grpc-status").is_none());
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"Session does not exist."}"#
    );
}

#[tokio::test]
async fn a_rejection_of_ones_own_replaces_the_grpc_answer_too() {
    // An app that would rather not tell a gRPC client whether a session exists.
    let not_found = |_: &Rejection| {
        http::Response::builder()
            .header("content-type", "application/grpc")
            .header("grpc-status", "5")
            .body(tonic::body::Body::empty())
            .unwrap()
    };
    let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
    let (listener, addr) = listener().await;
    let server = Server::builder()
        .layer(SessionLayer::new(manager).with_rejection(not_found))
        .add_service(HealthServer::new(Seen::new()))
        .serve_with_incoming(TcpIncoming::from(listener));
    tokio::spawn(server);
    assert_eq!(refused(addr, &[]).await, Code::NotFound);
    assert_eq!(refused(addr, &[FORGED]).await, Code::NotFound);
}

#[tokio::test]
async fn a_refreshed_cognito_token_reaches_the_grpc_client_in_the_response_metadata() {
    use common::cognito::{Pool, age, epoch, logged_in};

    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let store = Arc::new(MemoryStore::new());
    let manager = pool.manager(store.clone(), pool.config());
    let session = logged_in(&manager, &username, &password).await;
    let seen = Seen::new();
    let addr = tonic_server(manager.clone(), seen.clone(), false).await;

    let due = age(
        &*store,
        session.user.session_key(),
        epoch(&SystemTime::now) + 60,
    )
    .await;
    let (serving, metadata) = check(addr, &[&due]).await.expect("refreshed, then through");
    assert_eq!(serving, ServingStatus::Serving);
    let new = metadata
        .get("x-session-token")
        .expect("the new token as response metadata")
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(new, due);
    let (serving, metadata) = check(addr, &[&new]).await.expect("the new token works");
    assert_eq!(serving, ServingStatus::Serving);
    assert!(
        metadata.get("x-session-token").is_none(),
        "no refresh due now"
    );
    assert_eq!(seen.users(), [username.clone(), username]);
    let key = session.user.session_key();
    assert!(store.load(key, 0).await.unwrap().is_some());
}

/// `examples/grpc` on the embedded default, with `env` on top.
fn example(env: &[(&str, &str)]) -> (ExampleServer, SocketAddr) {
    let port = free_port();
    let server = ExampleServer::start_binary_on(&example_binary("grpc"), port, env);
    (server, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[tokio::test]
async fn the_example_with_a_tonic_client() {
    let (server, addr) = example(&[]);
    let token = log_in(&server.url, "alice", "any").await;

    assert_eq!(refused(addr, &[]).await, Code::Unauthenticated, "no token");
    assert_eq!(
        refused(addr, &[FORGED]).await,
        Code::Unauthenticated,
        "forged"
    );
    assert_eq!(
        refused(addr, &[&token, &token]).await,
        Code::InvalidArgument
    );
    let (serving, metadata) = check(addr, &[&token]).await.expect("a session");
    assert_eq!(serving, ServingStatus::Serving);
    assert_eq!(
        metadata.get("x-username").unwrap(),
        "alice",
        "the handler saw the user"
    );
    assert_eq!(
        watch_refused(addr, &token).await,
        Code::PermissionDenied,
        "Watch's guard"
    );

    let deleted = reqwest::Client::new()
        .delete(format!("{}/sessions/alice", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(
        refused(addr, &[&token]).await,
        Code::Unauthenticated,
        "after DELETE"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_on_dynamodb_answers_unavailable_while_the_table_is_down() {
    let dynamodb = Private::dynamodb_local().await;
    let table = common::unique("grpc");
    let (server, addr) = example(&[
        ("SESSION_TABLE", &table),
        ("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb.url),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("SESSION_ENCRYPTION_KEY", common::dynamo::TEST_KEY_BASE64),
    ]);
    let token = log_in(&server.url, "alice", "any").await;
    let (serving, _) = check(addr, &[&token]).await.expect("a session");
    assert_eq!(serving, ServingStatus::Serving);

    dynamodb.pause();
    let started = std::time::Instant::now();
    let outcome = check(addr, &[&token]).await;
    dynamodb.resume();
    let status = outcome.expect_err("refused while the table is down");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_grpc_refusal(&status, &[&token]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    let (serving, metadata) = check(addr, &[&token]).await.expect("the session survived");
    assert_eq!(serving, ServingStatus::Serving);
    assert_eq!(metadata.get("x-username").unwrap(), "alice");
}

#[tokio::test]
async fn the_example_with_grpcs_own_python_client() {
    let (server, addr) = example(&[]);
    let token = log_in(&server.url, "alice", "any").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/grpc/health_check.py");
    let output = std::process::Command::new(common::emulator_env("COGNITO_SESSION_PYTHON"))
        .args([script, &addr.to_string(), &token])
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let results: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    for (case, code) in [
        ("no_token", 16),
        ("forged", 16),
        ("two_tokens", 3),
        ("guarded", 7),
    ] {
        assert_eq!(results[case]["code"], code, "{case}: {results}");
    }
    // The layer's messages, not ones grpcio would make up from an HTTP status.
    assert_eq!(results["no_token"]["details"], "Session does not exist.");
    assert_eq!(results["forged"]["details"], "Session does not exist.");
    assert_eq!(results["guarded"]["details"], "Insufficient permissions.");
    assert_eq!(results["valid"]["code"], 0, "{results}");
    assert_eq!(results["valid"]["serving"], "SERVING");
    assert_eq!(results["valid"]["metadata"]["x-username"], "alice");
}
