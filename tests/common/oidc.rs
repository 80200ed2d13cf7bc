//! A Cognito user pool domain's managed login, for the tests: `tests/oidc/server.mjs`, a
//! real OAuth 2.0 / OpenID Connect server (the npm package `oidc-provider`) on 127.0.0.1
//! with Cognito's paths (`/oauth2/authorize`, `/oauth2/token`, `/oauth2/revoke`, `/logout`,
//! `/.well-known/jwks.json`), the pool's issuer and Cognito-shaped tokens; and a
//! [`SignInBrowser`] that fills in its sign-in page without a browser.
//!
//! PKCE (S256, required), single-use codes, exact `redirect_uri` matching and client
//! authentication are enforced by oidc-provider itself; `tests/oidc_provider.rs` shows each.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use reqwest::{StatusCode, Url, header::LOCATION};
use serde_json::{Value, json};

/// How long the server may take to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed on the provider before giving up.
const MAX_HOPS: usize = 10;

/// An app client of the provider, as in the user pool: a public one when `client_secret` is
/// `None` (`token_endpoint_auth_method=none`), else one that authenticates with HTTP Basic.
#[derive(Clone, Debug)]
pub struct ProviderClient {
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Callback URLs: `redirect_uri` must be one of them exactly.
    pub redirect_uris: Vec<String>,
    /// Sign-out URLs: `/logout`'s `logout_uri` must be one of them exactly.
    pub logout_uris: Vec<String>,
}

impl ProviderClient {
    /// A public client (no secret) with one callback and one sign-out URL.
    pub fn public(client_id: &str, redirect_uri: &str, logout_uri: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret: None,
            redirect_uris: vec![redirect_uri.to_owned()],
            logout_uris: vec![logout_uri.to_owned()],
        }
    }

    /// The same client with a secret.
    pub fn with_secret(mut self, secret: &str) -> Self {
        self.client_secret = Some(secret.to_owned());
        self
    }
}

/// The running provider; the node process is killed when this is dropped (and exits by
/// itself when the test process dies, as its stdin closes).
pub struct Provider {
    child: Child,
    url: String,
    issuer: String,
    jwks_url: String,
    pool_id: String,
    http: reqwest::Client,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn oidc_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc"))
}

impl Provider {
    /// Starts `node tests/oidc/server.mjs` for the pool `pool_id` (`REGION_ID`), with these
    /// app clients (scopes `openid email profile`) and users (`username`, `password`,
    /// groups; email `username@example.com`), access tokens living `access_ttl_secs`.
    ///
    /// Panics, naming the command to run, when Node.js or the npm packages are missing.
    pub async fn start(
        pool_id: &str,
        clients: Vec<ProviderClient>,
        users: &[(&str, &str, &[&str])],
        access_ttl_secs: u64,
    ) -> Provider {
        let config = json!({
            "port": 0,
            "poolId": pool_id,
            "accessTtl": access_ttl_secs,
            "idTtl": 3600,
            "clients": clients.iter().map(|c| json!({
                "clientId": c.client_id,
                "clientSecret": c.client_secret,
                "redirectUris": c.redirect_uris,
                "logoutUris": c.logout_uris,
                "scopes": "openid email profile",
            })).collect::<Vec<_>>(),
            "users": users.iter().map(|(name, password, groups)| {
                ((*name).to_owned(), json!({
                    "password": password,
                    "email": format!("{name}@example.com"),
                    "groups": groups,
                }))
            }).collect::<serde_json::Map<_, _>>(),
        });
        Self::start_with_config(pool_id, &config).await
    }

    /// Starts the server with a config in `server.mjs`'s own JSON form (for what
    /// [`start`](Self::start) doesn't set: other scopes, `idTtl`, emails).
    pub async fn start_with_config(pool_id: &str, config: &Value) -> Provider {
        let dir = oidc_dir();
        assert!(
            dir.join("node_modules/oidc-provider/package.json").exists(),
            "the npm packages of tests/oidc are not installed: run the tests with `scripts/test`, \
             or `scripts/emulators.sh install` (or `npm ci --prefix tests/oidc`) first"
        );
        // A start that hangs (seen once in ~250 on a loaded 2-core CI machine, stuck before
        // its ready line for 30 s) is tried once more: the server is test infrastructure, and
        // its start has nothing to do with what the tests check.
        let mut attempts = 0;
        let (child, ready) = loop {
            attempts += 1;
            match start_server(dir, config).await {
                Ok(started) => break started,
                Err(mut child) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    assert!(
                        attempts < 2,
                        "tests/oidc/server.mjs was not ready within {START_TIMEOUT:?}, twice"
                    );
                    eprintln!(
                        "tests/oidc/server.mjs was not ready within {START_TIMEOUT:?}; starting it again"
                    );
                }
            }
        };
        assert_eq!(ready["ready"], true, "unexpected ready line {ready}");
        let text = |name: &str| {
            ready[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} in the ready line {ready}"))
                .to_owned()
        };
        Provider {
            url: text("url"),
            issuer: text("issuer"),
            jwks_url: text("jwksUrl"),
            pool_id: pool_id.to_owned(),
            http: reqwest::Client::new(),
            child,
        }
    }

    /// `http://127.0.0.1:PORT`: the domain's base URL (`COGNITO_DOMAIN`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `https://cognito-idp.REGION.amazonaws.com/POOL_ID`, the `iss` of its tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `{url}/.well-known/jwks.json`: the keys its tokens are signed with.
    pub fn jwks_url(&self) -> &str {
        &self.jwks_url
    }

    pub fn pool_id(&self) -> &str {
        &self.pool_id
    }

    /// Signs in on the provider's page as `username`/`password`: GETs `authorize_url`
    /// (following the provider's own redirects), submits the form, and returns where the
    /// provider finally redirects (the app's `redirect_uri` with `code` and `state`, or with
    /// `error`) without going there. When `browser` is still signed in from an earlier
    /// log-in, no form is shown and that redirect comes at once.
    ///
    /// Panics when the form comes back (wrong password): see [`try_sign_in`](Self::try_sign_in).
    pub async fn sign_in(
        &self,
        browser: &SignInBrowser,
        authorize_url: &str,
        username: &str,
        password: &str,
    ) -> String {
        self.try_sign_in(browser, authorize_url, username, password)
            .await
            .unwrap_or_else(|page| panic!("the sign-in was refused; the page:\n{page}"))
    }

    /// [`sign_in`](Self::sign_in), but the page shown again (e.g. "Incorrect username or
    /// password.") is `Err(html)` rather than a panic.
    pub async fn try_sign_in(
        &self,
        browser: &SignInBrowser,
        authorize_url: &str,
        username: &str,
        password: &str,
    ) -> Result<String, String> {
        let form = match browser.visit(authorize_url, &self.url).await {
            Stop::Left(location) => return Ok(location),
            Stop::Page(page) => page,
        };
        let submitted = browser
            .submit(
                &form,
                &[
                    ("username", username),
                    ("password", password),
                    ("action", "signin"),
                ],
            )
            .await;
        match browser.follow(submitted, &self.url).await {
            Stop::Left(location) => Ok(location),
            Stop::Page(page) => Err(page.html),
        }
    }

    /// Signs in through the external identity provider named by the authorize URL's
    /// `identity_provider` (the page shows "Continue with NAME"): a new user named
    /// `NAME_<20 digits>`, in no group. Returns the redirect as [`sign_in`](Self::sign_in).
    pub async fn sign_in_federated(&self, browser: &SignInBrowser, authorize_url: &str) -> String {
        let form = match browser.visit(authorize_url, &self.url).await {
            Stop::Left(location) => return location,
            Stop::Page(page) => page,
        };
        assert!(
            form.html.contains(r#"id="federated""#),
            "no \"Continue with\" button (was identity_provider in the authorize URL?):\n{}",
            form.html
        );
        let submitted = browser.submit(&form, &[("action", "federated")]).await;
        self.left(browser, submitted).await
    }

    /// Presses "Cancel" on the sign-in page: returns the redirect, with
    /// `error=access_denied` and the `state`.
    pub async fn cancel(&self, browser: &SignInBrowser, authorize_url: &str) -> String {
        let form = match browser.visit(authorize_url, &self.url).await {
            Stop::Left(location) => panic!("no sign-in page to cancel: redirected to {location}"),
            Stop::Page(page) => page,
        };
        let submitted = browser.submit(&form, &[("action", "cancel")]).await;
        self.left(browser, submitted).await
    }

    async fn left(&self, browser: &SignInBrowser, response: reqwest::Response) -> String {
        match browser.follow(response, &self.url).await {
            Stop::Left(location) => location,
            Stop::Page(page) => panic!(
                "expected a redirect to the app, got the page:\n{}",
                page.html
            ),
        }
    }

    /// How many tokens `/oauth2/revoke` has revoked so far (a token of another client, an
    /// unknown or already revoked one doesn't count).
    pub async fn revocations(&self) -> u64 {
        let body: Value = self.test_get("/_test/revocations").await;
        body.as_u64()
            .unwrap_or_else(|| panic!("revocations: {body}"))
    }

    /// The token endpoint's calls so far, oldest first: `{"grant_type", "ok", "error"}`.
    pub async fn token_calls(&self) -> Vec<Value> {
        let body: Value = self.test_get("/_test/log").await;
        body.as_array()
            .unwrap_or_else(|| panic!("token calls: {body}"))
            .clone()
    }

    async fn test_get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }
}

/// A browser for the provider's pages: its own cookie jar (the provider's sign-in session
/// lives there, as in a real browser), redirects not followed by themselves. Use one per
/// simulated user; [`client`](Self::client) can also visit the app with the same cookies.
pub struct SignInBrowser {
    client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
}

impl Default for SignInBrowser {
    fn default() -> Self {
        Self::new()
    }
}

/// A page of the provider that was shown (not redirected from).
struct Page {
    url: Url,
    html: String,
}

/// Where following redirects on the provider ended.
enum Stop {
    /// A redirect to somewhere else than the provider: its absolute `Location`.
    Left(String),
    /// A page of the provider.
    Page(Page),
}

impl SignInBrowser {
    pub fn new() -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { client, jar }
    }

    /// The HTTP client, with this browser's cookies and no automatic redirects.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The cookie jar (for reading what a server set).
    pub fn jar(&self) -> &Arc<reqwest::cookie::Jar> {
        &self.jar
    }

    async fn visit(&self, url: &str, provider: &str) -> Stop {
        let response = self.client.get(url).send().await.unwrap();
        self.follow(response, provider).await
    }

    /// Follows redirects while they stay on `provider`; stops at the first one that leaves
    /// it, or at a page. Panics on an error page.
    async fn follow(&self, mut response: reqwest::Response, provider: &str) -> Stop {
        let provider = Url::parse(provider).unwrap();
        for _ in 0..MAX_HOPS {
            let url = response.url().clone();
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_else(|| panic!("{status} from {url} without a Location"));
                let next = url
                    .join(location)
                    .unwrap_or_else(|e| panic!("bad Location {location:?} from {url}: {e}"));
                if next.origin() != provider.origin() {
                    return Stop::Left(next.to_string());
                }
                response = self.client.get(next).send().await.unwrap();
                continue;
            }
            let html = response.text().await.unwrap();
            assert!(
                status.is_success(),
                "the provider answered {status} at {url}:\n{html}"
            );
            return Stop::Page(Page { url, html });
        }
        panic!("more than {MAX_HOPS} redirects on the provider")
    }

    /// Posts `fields` to the page's form (its `action`, relative to the page).
    async fn submit(&self, page: &Page, fields: &[(&str, &str)]) -> reqwest::Response {
        let action = form_action(&page.html)
            .unwrap_or_else(|| panic!("no form on the page at {}:\n{}", page.url, page.html));
        let target = page.url.join(&action).unwrap();
        self.client
            .post(target)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(fields))
            .send()
            .await
            .unwrap()
    }
}

/// The `action` of the page's (first) form, with HTML's `&amp;` undone.
fn form_action(html: &str) -> Option<String> {
    let form = &html[html.find("<form")?..];
    let form = &form[..form.find('>')?];
    let start = form.find("action=\"")? + "action=\"".len();
    let end = start + form[start..].find('"')?;
    Some(form[start..end].replace("&amp;", "&"))
}

/// `fields` as an `application/x-www-form-urlencoded` body.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    let mut url = Url::parse("http://form.invalid/").unwrap();
    url.query_pairs_mut().extend_pairs(fields);
    url.query().unwrap_or_default().to_owned()
}

/// The query parameter `name` of `url` (e.g. `code`, `state`, `error` of a redirect).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Starts `server.mjs` with `config`: the child and its ready line, or the child when no line
/// came within [`START_TIMEOUT`]. Panics when it can't run or exits before it is ready.
async fn start_server(dir: &Path, config: &Value) -> Result<(Child, Value), Child> {
    let mut child = Command::new("node")
        .arg(dir.join("server.mjs"))
        .env("OIDC_CONFIG", config.to_string())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `node` for tests/oidc/server.mjs (is Node.js on PATH? \
                 `scripts/test` installs what the tests need): {e}"
            )
        });

    // The first stdout line says where it listens; a thread waits for it so a server
    // that hangs fails the test instead of blocking it.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        for _ in lines {} // keeps the pipe open and drained
    });
    let line = tokio::task::spawn_blocking(move || rx.recv_timeout(START_TIMEOUT))
        .await
        .unwrap();
    match line {
        Ok(Some(Ok(line))) => {
            let ready = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("tests/oidc/server.mjs printed {line:?}: {e}"));
            Ok((child, ready))
        }
        Ok(_) => {
            let status = child.wait().unwrap();
            panic!(
                "tests/oidc/server.mjs exited ({status}) before it was ready; its stderr is above"
            )
        }
        Err(_) => Err(child),
    }
}
