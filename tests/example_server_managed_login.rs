//! The example server's managed login routes (`GET /login`, `/auth/callback`, `POST /logout`)
//! over HTTP, against a real OAuth 2.0 server on 127.0.0.1 (`oidc-provider`, shaped like a
//! Cognito domain: `tests/oidc/server.mjs`), and in headless Chromium
//! (`tests/browser/managed_login.mjs`).

mod common;

use common::oidc::{Provider, ProviderClient, SignInBrowser, query_param};
use common::server::{ExampleServer, free_port, json};
use reqwest::StatusCode;
use serde_json::json;

const POOL: &str = "us-east-1_Example";
const CLIENT: &str = "example-web";

struct Running {
    provider: Provider,
    server: ExampleServer,
    /// The app's side of the browser: keeps cookies, doesn't follow redirects.
    browser: reqwest::Client,
}

async fn start() -> Running {
    start_with_access_ttl(3600).await
}

async fn start_with_access_ttl(access_ttl: u64) -> Running {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = ProviderClient::public(
        CLIENT,
        &format!("{base}/auth/callback"),
        &format!("{base}/"),
    );
    let users: &[(&str, &str, &[&str])] = &[("alice", "Alice-Passw0rd!", &[])];
    let provider = Provider::start(POOL, vec![client], users, access_ttl).await;
    let redirect = format!("{base}/auth/callback");
    let env = [
        ("USER_POOL_ID", POOL),
        ("CLIENT_ID", CLIENT),
        ("COGNITO_JWKS_URL", provider.jwks_url()),
        ("COGNITO_DOMAIN", provider.url()),
        ("OAUTH_REDIRECT_URI", redirect.as_str()),
        ("COOKIE_SECURE", "false"),
        (
            "COGNITO_CHALLENGE_KEY",
            "an-example-key-for-login-states-32b",
        ),
        ("AWS_REGION", "us-east-1"),
        // Nothing of managed login goes to Cognito's API; a closed port proves it.
        (
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            "http://127.0.0.1:9",
        ),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let server = ExampleServer::start_on(port, &env);
    Running {
        provider,
        server,
        browser: new_browser(),
    }
}

fn new_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    redirect(response, StatusCode::FOUND)
}

/// Where `response`, which must have the redirect `status`, sends the browser.
fn redirect(response: &reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    response.headers()["location"].to_str().unwrap().to_owned()
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

impl Running {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.browser
            .get(format!("{}{path}", self.server.url))
            .send()
            .await
            .unwrap()
    }

    /// `POST {path}` from the app's own page.
    async fn post(&self, path: &str) -> reqwest::Response {
        self.browser
            .post(format!("{}{path}", self.server.url))
            .header("origin", &self.server.url)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap()
    }

    /// `GET /login{query}`, then alice signs in: the callback URL the domain sends back.
    async fn sign_in(&self, query: &str) -> String {
        let login = self.get(&format!("/login{query}")).await;
        let authorize = location(&login);
        assert!(authorize.starts_with(&format!("{}/oauth2/authorize?", self.provider.url())));
        self.provider
            .sign_in(
                &SignInBrowser::new(),
                &authorize,
                "alice",
                "Alice-Passw0rd!",
            )
            .await
    }

    async fn follow(&self, url: &str) -> reqwest::Response {
        self.browser.get(url).send().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_use_and_sign_out_through_the_example() {
    let app = start().await;
    let page = app.get("/").await.text().await.unwrap();
    assert!(
        page.contains(r#"<p id="managed">"#),
        "the page offers Sign in"
    );

    let callback = app.sign_in("?next=/sessions").await;
    let landed = app.follow(&callback).await;
    assert_eq!(location(&landed), "/sessions");
    let cookies = set_cookies(&landed);
    assert!(
        cookies.iter().any(|c| c.starts_with("token=ey")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("token-login=;")),
        "{cookies:?}"
    );
    assert_eq!(
        json(app.get("/sessions").await).await,
        (200, json!({"username": "alice"}))
    );

    // A top-level navigation from another site to `/logout` (a link, a redirect) ends
    // nothing: log-out is a POST.
    let navigation = app
        .browser
        .get(format!("{}/logout", app.server.url))
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document")
        .send()
        .await
        .unwrap();
    assert_eq!(navigation.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        json(app.get("/sessions").await).await,
        (200, json!({"username": "alice"})),
        "the session outlives a GET /logout"
    );
    // A log-out posted by another site's page is refused.
    let forged = app
        .browser
        .post(format!("{}/logout", app.server.url))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json(app.get("/sessions").await).await,
        (200, json!({"username": "alice"})),
        "the session outlives a cross-site POST /logout"
    );
    assert_eq!(app.provider.revocations().await, 0);

    let logout = app.post("/logout").await;
    let to = redirect(&logout, StatusCode::SEE_OTHER);
    assert!(
        to.starts_with(&format!("{}/logout?", app.provider.url())),
        "{to}"
    );
    assert_eq!(query_param(&to, "client_id").as_deref(), Some(CLIENT));
    assert_eq!(
        query_param(&to, "logout_uri").as_deref(),
        Some(format!("{}/", app.server.url).as_str())
    );
    assert_eq!(app.provider.revocations().await, 1);
    assert_eq!(
        app.get("/sessions").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Signing out twice is no error.
    assert_eq!(app.post("/logout").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_callbacks_get_clear_answers_and_no_session() {
    let app = start().await;

    // A state from another browser (this one has no log-in state cookie).
    let callback = app.sign_in("").await;
    let stranger = reqwest::Client::new().get(&callback).send().await.unwrap();
    // Every answer of the callback spends the log-in state cookie, refusals included.
    let removed = set_cookies(&stranger);
    assert!(
        removed.iter().any(|c| c.starts_with("token-login=;")),
        "{removed:?}"
    );
    assert_eq!(
        json(stranger).await,
        (400, json!({"error": "Invalid log-in state."}))
    );

    // Off-site targets land on /.
    for next in ["https://evil.example", "//evil.example", "/%5Cevil.example"] {
        let callback = app.sign_in(&format!("?next={next}")).await;
        assert_eq!(location(&app.follow(&callback).await), "/", "{next}");
    }

    // The user cancels at the domain.
    let login = app.get("/login").await;
    let cancelled = app
        .provider
        .cancel(&SignInBrowser::new(), &location(&login))
        .await;
    assert_eq!(
        json(app.follow(&cancelled).await).await,
        (401, json!({"error": "access_denied"}))
    );

    // The token endpoint is down: 503, and nothing is stored (a browser that has no
    // session yet).
    let app = Running {
        browser: new_browser(),
        ..app
    };
    let callback = app.sign_in("").await;
    let Running {
        provider,
        server,
        browser,
    } = app;
    drop(provider);
    let down = browser.get(&callback).send().await.unwrap();
    let (status, body) = json(down).await;
    assert_eq!(status, 503, "{body}");
    let me = browser
        .get(format!("{}/sessions", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_refreshes_at_the_token_endpoint() {
    // Access tokens of 60 s are always inside the 2-minute refresh window.
    let app = start_with_access_ttl(60).await;
    let callback = app.sign_in("").await;
    let landed = app.follow(&callback).await;
    let mut token = set_cookies(&landed)
        .iter()
        .find_map(|c| common::cookie_token(c))
        .expect("a session cookie");
    for _ in 0..2 {
        let me = app.get("/sessions").await;
        let renewed = set_cookies(&me)
            .iter()
            .find_map(|c| common::cookie_token(c))
            .expect("a refreshed token");
        assert_ne!(renewed, token);
        assert_eq!(json(me).await, (200, json!({"username": "alice"})));
        token = renewed;
    }
    let calls = app.provider.token_calls().await;
    let refreshes = calls
        .iter()
        .filter(|c| c["grant_type"] == "refresh_token" && c["ok"] == true);
    assert_eq!(refreshes.count(), 2, "{calls:?}");
}

/// The whole flow in a real browser: "Sign in" on the page, the domain's sign-in page, back
/// as the user, a refresh, "Sign out" through the domain's `/logout`.
#[tokio::test(flavor = "multi_thread")]
async fn sign_in_refresh_and_sign_out_in_chromium() {
    for name in ["COGNITO_SESSION_CHROMIUM", "COGNITO_SESSION_PLAYWRIGHT_DIR"] {
        assert!(
            std::env::var_os(name).is_some(),
            "{name} is not set: run `scripts/test`, or `scripts/browser.sh install` and \
             `source .emulators/browser-env` first"
        );
    }
    // Access tokens of 60 s are always inside the 2-minute refresh window.
    let app = start_with_access_ttl(60).await;
    let (base, domain) = (app.server.url.clone(), app.provider.url().to_owned());
    let output = tokio::task::spawn_blocking(move || {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        // The script stops itself after 60 s.
        std::process::Command::new("node")
            .arg(root.join("tests/browser/managed_login.mjs"))
            .args([&base, &domain, "alice", "Alice-Passw0rd!"])
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.matches("ok   ").count(), 4, "{stdout}");
    let calls = app.provider.token_calls().await;
    assert!(
        calls
            .iter()
            .any(|c| c["grant_type"] == "refresh_token" && c["ok"] == true),
        "{calls:?}"
    );
    assert_eq!(app.provider.revocations().await, 1);
}
