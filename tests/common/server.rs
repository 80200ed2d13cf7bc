//! Runs the real example server binary for end-to-end tests.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::cognito::Pool;

/// Builds `examples/server` once per test process, and returns the binary's path.
pub fn server_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| example_binary("server")).clone()
}

/// Builds the example `name` (all features) and returns its binary's path.
pub fn example_binary(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--example", name, "--all-features"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the example {name} failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("debug").join("examples").join(name)
}

/// A free port on 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running example server; killed when dropped.
pub struct ExampleServer {
    pub url: String,
    child: Child,
}

impl ExampleServer {
    /// Starts the server with `env` (on top of a clean AWS-free environment) and waits until
    /// it accepts connections.
    pub fn start(env: &[(&str, &str)]) -> Self {
        Self::start_on(free_port(), env)
    }

    /// [`start`](Self::start) on a port chosen beforehand (for URLs that must name it, such
    /// as a managed login's callback).
    pub fn start_on(port: u16, env: &[(&str, &str)]) -> Self {
        Self::start_binary_on(&server_binary(), port, env)
    }

    /// [`start_on`](Self::start_on) for another binary that listens on `BIND`.
    pub fn start_binary_on(binary: &std::path::Path, port: u16, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("the example server starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the example server exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the example server did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

impl ExampleServer {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT (what Ctrl-C sends) and waits for the exit, at most `within`.
    pub fn interrupt(mut self, within: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit within {within:?} of SIGINT"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the server with `env` expecting it to refuse to start; its output.
pub fn start_failure(env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(server_binary());
    command
        .env_clear()
        .env("BIND", format!("127.0.0.1:{}", free_port()))
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not stop on a bad configuration");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Runs the server with `env` expecting it to refuse to start, with an `error:` line on
/// stderr that names `variable`.
pub fn assert_refused_naming(env: &[(&str, &str)], variable: &str) {
    let output = start_failure(env);
    assert!(!output.status.success(), "{env:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains(variable), "{variable}: {line}");
}

/// The environment `scripts/dev-aws` gives the server.
pub fn aws_env(pool: &Pool, extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("AWS_ENDPOINT_URL_DYNAMODB", super::dynamodb_local_url()),
        (
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            super::moto_url(),
        ),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("SESSION_TABLE", super::unique("sessions")),
        ("USER_POOL_ID", pool.pool_id.clone()),
        ("CLIENT_ID", pool.client_id.clone()),
        ("COOKIE_SECURE", "false".into()),
        (
            "SESSION_ENCRYPTION_KEY",
            super::dynamo::TEST_KEY_BASE64.into(),
        ),
    ];
    if let Some(secret) = &pool.client_secret {
        env.push(("CLIENT_SECRET", secret.clone()));
    }
    env.extend(extra.iter().cloned());
    env
}

pub fn start(env: &[(&'static str, String)]) -> ExampleServer {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ExampleServer::start(&env)
}

/// A response's status and JSON body.
pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    (status, value)
}

/// Logs `username` in with `POST {base}/sessions`, which must answer 200; the `sessionId`.
pub async fn log_in(base: &str, username: &str, password: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/sessions"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body["sessionId"].as_str().unwrap().to_owned()
}

/// The curl sequence of the DynamoDB Book's session store README against `base`, step by
/// step, with `Authorization: Bearer`: create, get, delete all, get again. Returns the token.
pub async fn curl_flow(base: &str, username: &str, password: &str) -> String {
    use serde_json::json;
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/sessions"))
        .header("Content-Type", "application/json")
        .body(format!(
            r#"{{ "username": "{username}", "password": "{password}" }}"#
        ))
        .send()
        .await
        .unwrap();
    let (status, created) = json(created).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created.as_object().unwrap().len(), 1, "{created}");
    let token = created["sessionId"].as_str().unwrap().to_owned();

    let get = || {
        client
            .get(format!("{base}/sessions"))
            .header("Content-Type", "application/json")
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(
        json(get().await.unwrap()).await,
        (200, json!({ "username": username }))
    );
    let deleted = client
        .delete(format!("{base}/sessions/{username}"))
        .header("Content-Type", "application/json")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(json(deleted).await, (200, json!({ "username": username })));
    assert_eq!(
        json(get().await.unwrap()).await,
        (401, json!({"error": "Session does not exist."}))
    );
    token
}

/// The same flow as a browser does it: a cookie-aware client and no `Authorization`.
pub async fn cookie_flow(base: &str, username: &str, password: &str) {
    use serde_json::json;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client
        .post(format!("{base}/sessions"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let set_cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.starts_with("token=") && set_cookie.contains("HttpOnly"),
        "{set_cookie}"
    );
    let me = client.get(format!("{base}/sessions")).send().await.unwrap();
    assert_eq!(json(me).await, (200, json!({ "username": username })));
    let bye = client
        .delete(format!("{base}/sessions/{username}"))
        .send()
        .await
        .unwrap();
    assert_eq!(json(bye).await, (200, json!({ "username": username })));
    let after = client.get(format!("{base}/sessions")).send().await.unwrap();
    assert_eq!(
        json(after).await,
        (401, json!({"error": "Session does not exist."}))
    );
}

/// The user's list of sessions on the example at `base` (#21): `GET /me/sessions`, ending one
/// by its id (`DELETE /me/sessions/{id}`, 404 for another user's id) and the others
/// (`POST /me/sessions/end-others`). Both users log in with `password`; `method` is what
/// their log-ins are listed as.
pub async fn my_sessions_flow(
    base: &str,
    (alice, bob): (&str, &str),
    password: &str,
    method: &str,
) {
    use serde_json::json;
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(log_in(base, alice, password).await);
    }
    let bobs = log_in(base, bob, password).await;
    let list = |token: &str| {
        client
            .get(format!("{base}/me/sessions"))
            .bearer_auth(token.to_owned())
            .send()
    };
    let end = |token: &str, id: &str| {
        client
            .delete(format!("{base}/me/sessions/{id}"))
            .bearer_auth(token.to_owned())
            .send()
    };
    let me = |token: &str| {
        client
            .get(format!("{base}/sessions"))
            .bearer_auth(token.to_owned())
            .send()
    };

    let (status, body) = json(list(&tokens[0]).await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let sessions = body["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 3, "{body}");
    for session in &sessions {
        assert_eq!(session["id"].as_str().unwrap().len(), 11, "{session}");
        assert_eq!(session["method"], method, "{session}");
        assert!(session["createdAt"].as_u64().unwrap() > 1_700_000_000);
        assert!(session["lastSeenAt"].as_u64().unwrap() >= session["createdAt"].as_u64().unwrap());
        let body = session.to_string();
        assert!(
            tokens.iter().all(|t| !body.contains(t.as_str())),
            "a token is listed"
        );
    }
    let ids = |current: bool| -> Vec<String> {
        sessions
            .iter()
            .filter(|s| s["current"] == current)
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (own, others) = (ids(true), ids(false));
    assert_eq!((own.len(), others.len()), (1, 2));

    // Another user's id, or no id at all, is not found; nothing ends.
    for id in [others[0].as_str(), "not-an-id", "AAAAAAAAAAA"] {
        let (status, body) = json(end(&bobs, id).await.unwrap()).await;
        assert_eq!(
            (status, body),
            (404, json!({ "error": "No such session." }))
        );
    }
    let (_, body) = json(list(&bobs).await.unwrap()).await;
    assert_eq!(body["sessions"].as_array().unwrap().len(), 1, "{body}");
    let (_, body) = json(list(&tokens[0]).await.unwrap()).await;
    assert_eq!(body["sessions"].as_array().unwrap().len(), 3, "{body}");

    // One of Alice's other sessions, by its id: exactly one of the two ends.
    let ended = end(&tokens[0], &others[0]).await.unwrap();
    assert_eq!(ended.status(), 204);
    let mut statuses = Vec::new();
    for token in &tokens[1..] {
        statuses.push(me(token).await.unwrap().status().as_u16());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401]);

    // The rest but this one.
    let (status, body) = json(
        client
            .post(format!("{base}/me/sessions/end-others"))
            .bearer_auth(&tokens[0])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body), (200, json!({ "ended": 1 })));
    for token in &tokens[1..] {
        assert_eq!(me(token).await.unwrap().status(), 401);
    }
    assert_eq!(me(&tokens[0]).await.unwrap().status(), 200);
    assert_eq!(
        me(&bobs).await.unwrap().status(),
        200,
        "Bob's session is untouched"
    );

    // Its own id ends the current session, and removes its cookie.
    let ended = end(&tokens[0], &own[0]).await.unwrap();
    assert_eq!(ended.status(), 204);
    let cookie = ended.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    assert_eq!(me(&tokens[0]).await.unwrap().status(), 401);
}
