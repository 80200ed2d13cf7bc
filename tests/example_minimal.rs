//! `examples/minimal.rs`, the newcomer's whole app, end to end: built and run as a process,
//! configured from the environment alone, against moto (the user pool's API and keys),
//! DynamoDB Local (the table) and oidc-provider (the pool's managed login domain, signing
//! with moto's key so that one key set vouches for both kinds of log-in, as a pool's does).

mod common;

use common::cognito::Pool;
use common::oidc::{Provider, SignInBrowser};
use common::server::{ExampleServer, aws_env, example_binary, free_port, json};
use reqwest::StatusCode;
use serde_json::json;

struct Running {
    provider: Provider,
    server: ExampleServer,
    /// A browser's cookie jar, following no redirects.
    browser: reqwest::Client,
    /// The password user in moto.
    user: (String, String),
}

async fn start() -> Running {
    let pool = Pool::new().await;
    let user = pool.user().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let redirect = format!("{base}/auth/callback");
    let moto_key = std::fs::read_to_string(common::emulator_env("COGNITO_SESSION_MOTO_KEY"))
        .expect("moto's key");
    let provider = Provider::start_with_config(
        &pool.pool_id,
        &json!({
            "port": 0,
            "poolId": pool.pool_id,
            "accessTtl": 3600,
            "idTtl": 3600,
            "signingKeyPem": moto_key,
            "signingKid": "dummy",
            "clients": [{
                "clientId": pool.client_id,
                "redirectUris": [redirect],
                "logoutUris": [format!("{base}/")],
                "scopes": "openid email profile",
            }],
            "users": { "alice": { "password": "Alice-Passw0rd!", "email": "alice@example.com", "groups": [] } },
        }),
    )
    .await;
    let env = aws_env(
        &pool,
        &[
            ("COGNITO_DOMAIN", provider.url().to_owned()),
            ("OAUTH_REDIRECT_URI", redirect),
            (
                "COGNITO_CHALLENGE_KEY",
                "a-minimal-key-for-log-in-states-32b".into(),
            ),
        ],
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = ExampleServer::start_binary_on(&example_binary("minimal"), port, &env);
    Running {
        provider,
        server,
        browser: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        user,
    }
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url)
    }

    /// `GET /me`, with the browser's cookie.
    async fn me(&self) -> (u16, serde_json::Value) {
        json(self.browser.get(self.url("/me")).send().await.unwrap()).await
    }

    /// `GET /me` with `token` as a Bearer token.
    async fn me_with(&self, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.url("/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `POST /logout` as this site's own page sends it.
    async fn log_out(&self) -> reqwest::Response {
        self.browser
            .post(self.url("/logout"))
            .header("origin", &self.server.url)
            .send()
            .await
            .unwrap()
    }
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()["location"].to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn password_log_in_and_out() {
    let app = start().await;
    let (username, password) = &app.user;
    assert_eq!(app.me().await.0, 401);

    let logged_in = app
        .browser
        .post(app.url("/sessions"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    let (status, body) = json(logged_in).await;
    assert_eq!(status, 200, "{body}");
    let token = body["sessionId"].as_str().unwrap().to_owned();
    assert_eq!(app.me().await, (200, json!({ "username": username })));
    assert_eq!(
        json(app.me_with(&token).await).await,
        (200, json!({ "username": username }))
    );

    let wrong = reqwest::Client::new()
        .post(app.url("/sessions"))
        .json(&json!({ "username": username, "password": "not-it-1A!" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(wrong).await,
        (401, json!({ "error": "Invalid username or password." }))
    );

    // A navigation to /logout, which another site can cause, ends nothing.
    let navigation = app.browser.get(app.url("/logout")).send().await.unwrap();
    assert_eq!(navigation.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(app.me().await.0, 200);

    let logged_out = app.log_out().await;
    assert_eq!(logged_out.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&logged_out).starts_with(&format!("{}/logout?", app.provider.url())),
        "{}",
        location(&logged_out)
    );
    assert_eq!(app.me().await.0, 401);
    let bearer = app.me_with(&token).await;
    assert_eq!(
        bearer.status(),
        StatusCode::UNAUTHORIZED,
        "the session is gone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn managed_log_in_and_out() {
    let app = start().await;
    let login = app
        .browser
        .get(app.url("/login?next=/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    let authorize = location(&login).to_owned();
    assert!(authorize.starts_with(&format!("{}/oauth2/authorize?", app.provider.url())));
    let callback = app
        .provider
        .sign_in(
            &SignInBrowser::new(),
            &authorize,
            "alice",
            "Alice-Passw0rd!",
        )
        .await;
    let landed = app.browser.get(&callback).send().await.unwrap();
    assert_eq!(landed.status(), StatusCode::FOUND);
    assert_eq!(location(&landed), "/me");
    assert_eq!(app.me().await, (200, json!({ "username": "alice" })));

    // Another site's form posting to /logout is refused.
    let forged = app
        .browser
        .post(app.url("/logout"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.me().await.0, 200);

    let logged_out = app.log_out().await;
    assert_eq!(logged_out.status(), StatusCode::SEE_OTHER);
    assert!(location(&logged_out).starts_with(&format!("{}/logout?", app.provider.url())));
    assert_eq!(
        app.provider.revocations().await,
        1,
        "the refresh token was revoked"
    );
    assert_eq!(app.me().await.0, 401);
}
