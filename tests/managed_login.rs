//! Managed login (authorization code + PKCE) against a real OAuth 2.0 server on 127.0.0.1:
//! `oidc-provider`, configured with a Cognito domain's paths and Cognito-shaped tokens
//! (`tests/oidc/server.mjs`). PKCE, single-use codes and redirect-URI matching are enforced
//! by it; everything else here is this crate's.

mod common;

use std::time::Duration;

use cognito_session::cognito::{CognitoSettings, ManagedLoginSettings};
use cognito_session::cognito::{LoginOptions, LoginRedirect};
use cognito_session::store::MemoryStore;
use cognito_session::{SessionConfig, SessionError, SessionManager};
use common::oidc::{Provider, ProviderClient, SignInBrowser, query_param};
use common::{TestClock, cookie_token};
use http::HeaderMap;

const POOL: &str = "us-east-1_Managed";
const CLIENT: &str = "web-client";
const OTHER_CLIENT: &str = "mobile-client";
const REDIRECT: &str = "http://127.0.0.1:5555/auth/callback";
const OTHER_REDIRECT: &str = "http://127.0.0.1:5555/other/callback";
const LOGOUT: &str = "http://127.0.0.1:5555/";
/// Seals log-in states; the same for managers that stand for instances of one app.
const STATE_KEY: &str = "managed-login-test-key-of-32-bytes!!";

struct Setup {
    provider: Provider,
    store: std::sync::Arc<MemoryStore>,
    clock: TestClock,
}

impl Setup {
    async fn new() -> Self {
        Self::with(None, 3600).await
    }

    async fn with(secret: Option<&str>, access_ttl: u64) -> Self {
        let mut web = ProviderClient::public(CLIENT, REDIRECT, LOGOUT);
        web.redirect_uris.push(OTHER_REDIRECT.to_owned());
        if let Some(secret) = secret {
            web = web.with_secret(secret);
        }
        let mobile = ProviderClient::public(OTHER_CLIENT, REDIRECT, LOGOUT);
        let users: &[(&str, &str, &[&str])] = &[
            ("alice", "Alice-Passw0rd!", &["admins"]),
            ("bob", "Bob-Passw0rd!", &[]),
        ];
        let provider = Provider::start(POOL, vec![web, mobile], users, access_ttl).await;
        Self {
            provider,
            store: std::sync::Arc::new(MemoryStore::new()),
            clock: TestClock::new(),
        }
    }

    fn settings(&self, secret: Option<&str>, redirect: &str) -> CognitoSettings {
        let settings = CognitoSettings::new(POOL, CLIENT)
            .with_jwks_url(self.provider.jwks_url())
            .with_managed_login(ManagedLoginSettings::new(self.provider.url(), redirect));
        match secret {
            Some(secret) => settings.with_client_secret(cognito_session::Secret::new(secret)),
            None => settings,
        }
    }

    fn manager(&self) -> SessionManager {
        self.manager_with(self.settings(None, REDIRECT))
    }

    fn manager_with(&self, settings: CognitoSettings) -> SessionManager {
        let config = SessionConfig::default().with_clock(self.clock.get());
        SessionManager::with_cognito(
            self.store.clone(),
            config,
            settings.with_challenge_key(STATE_KEY),
            unreachable_cognito_api(),
        )
        .unwrap()
    }

    async fn sessions(&self) -> usize {
        self.store.len()
    }
}

/// Cognito's API, where nothing of managed login may go: a closed port, so a call that
/// should have gone to the domain fails the test as unavailable.
fn unreachable_cognito_api() -> aws_sdk_cognitoidentityprovider::Client {
    let config = common::sdk::cognito("http://127.0.0.1:9")
        .timeout_config(
            aws_sdk_cognitoidentityprovider::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_millis(500))
                .build(),
        )
        .build();
    aws_sdk_cognitoidentityprovider::Client::from_conf(config)
}

/// The request headers of the browser that holds the log-in state cookie of `login`.
fn browser_with(login: &LoginRedirect) -> HeaderMap {
    let set_cookie = login.set_cookie.to_str().unwrap();
    let pair = set_cookie.split(';').next().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(http::header::COOKIE, pair.parse().unwrap());
    headers
}

/// The query string of the provider's redirect to the app.
fn callback_query(location: &str) -> String {
    assert!(
        location.starts_with(REDIRECT) || location.starts_with(OTHER_REDIRECT),
        "{location}"
    );
    location
        .split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default()
}

/// `url` with the query parameter `name` set to `value`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut url = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.into()
}

/// Alice signs in at `url`, and the browser that holds `login`'s state cookie brings the
/// code back.
async fn come_back(
    setup: &Setup,
    sessions: &SessionManager,
    url: &str,
    login: &LoginRedirect,
) -> Result<cognito_session::cognito::LoggedIn, SessionError> {
    let query = sign_in(setup, url).await;
    sessions.finish_login(&query, &browser_with(login)).await
}

/// Signs `alice` in at `url`: the callback's query.
async fn sign_in(setup: &Setup, url: &str) -> String {
    let browser = SignInBrowser::new();
    let location = setup
        .provider
        .sign_in(&browser, url, "alice", "Alice-Passw0rd!")
        .await;
    callback_query(&location)
}

#[tokio::test]
async fn a_managed_log_in_makes_a_session_like_a_password_log_in() {
    let setup = Setup::new().await;
    let sessions = setup.manager();
    let login = sessions
        .start_login(&LoginOptions::new().with_next("/orders?page=2"))
        .unwrap();
    for param in ["state", "code_challenge", "nonce"] {
        assert!(
            query_param(&login.url, param).is_some(),
            "{param}: {}",
            login.url
        );
    }
    assert_eq!(
        query_param(&login.url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let cookie = login.set_cookie.to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Max-Age=600"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // A __Host- cookie: no other host of the domain can plant or read it (issue #24).
    assert!(cookie.starts_with("__Host-token-login="), "{cookie}");

    let logged_in = come_back(&setup, &sessions, &login.url, &login)
        .await
        .unwrap();
    assert_eq!(logged_in.next, "/orders?page=2");
    let user = &logged_in.session.user;
    assert_eq!(user.username(), "alice");
    assert!(
        user.groups().iter().any(|g| g == "admins"),
        "{:?}",
        user.groups()
    );
    assert!(
        logged_in
            .clear_state_cookie
            .to_str()
            .unwrap()
            .starts_with("__Host-token-login=;"),
        "{:?}",
        logged_in.clear_state_cookie
    );
    let set = logged_in.session.set_cookie.to_str().unwrap();
    let token = cookie_token(set).expect("a session cookie");
    assert_eq!(token, logged_in.session.token.expose());

    // The token works like any: checked on every request against the stored session.
    let again = sessions.authenticate(&token).await.unwrap();
    assert_eq!(again.user.username(), "alice");
    assert_eq!(again.user.session_key(), user.session_key());
    assert_eq!(setup.sessions().await, 1);

    // Log-out: the session is deleted, its refresh token revoked at the domain, and the
    // browser is sent to the domain's /logout.
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::COOKIE,
        format!("token={token}").parse().unwrap(),
    );
    let logged_out = sessions.log_out(&headers).await.unwrap();
    assert!(logged_out.ended);
    assert_eq!(setup.sessions().await, 0);
    assert_eq!(setup.provider.revocations().await, 1);
    let logout_url = logged_out.logout_url.unwrap();
    assert!(
        logout_url.starts_with(&format!("{}/logout?", setup.provider.url())),
        "{logout_url}"
    );
    assert_eq!(
        query_param(&logout_url, "client_id").as_deref(),
        Some(CLIENT)
    );
    assert_eq!(
        query_param(&logout_url, "logout_uri").as_deref(),
        Some(LOGOUT)
    );
    assert!(sessions.authenticate(&token).await.is_err());
}

#[tokio::test]
async fn a_client_with_a_secret_authenticates_with_http_basic() {
    let setup = Setup::with(Some("web-secret"), 3600).await;
    let sessions = setup.manager_with(setup.settings(Some("web-secret"), REDIRECT));
    let login = sessions.start_login(&LoginOptions::new()).unwrap();
    let logged_in = come_back(&setup, &sessions, &login.url, &login)
        .await
        .unwrap();
    assert_eq!(logged_in.session.user.username(), "alice");

    // Without the secret the provider refuses the client, and no session is made.
    let careless = setup.manager();
    let login = careless.start_login(&LoginOptions::new()).unwrap();
    let query = sign_in(&setup, &login.url).await;
    let refused = careless.finish_login(&query, &browser_with(&login)).await;
    assert!(
        matches!(refused, Err(SessionError::Unavailable(_))),
        "{refused:?}"
    );
    assert_eq!(setup.sessions().await, 1);
}

#[tokio::test]
async fn a_bad_state_is_refused_before_the_code_is_spent() {
    let setup = Setup::new().await;
    let sessions = setup.manager();
    let login = sessions.start_login(&LoginOptions::new()).unwrap();
    let query = sign_in(&setup, &login.url).await;
    let state = query_param(&format!("http://127.0.0.1/?{query}"), "state").unwrap();
    let code = query_param(&format!("http://127.0.0.1/?{query}"), "code").unwrap();
    let browser = browser_with(&login);

    let invalid =
        |result: Result<_, SessionError>| matches!(result, Err(SessionError::InvalidLoginState));
    // Missing: no cookie, or no state.
    assert!(invalid(
        sessions.finish_login(&query, &HeaderMap::new()).await
    ));
    assert!(invalid(
        sessions
            .finish_login(&format!("code={code}"), &browser)
            .await
    ));
    // Altered: the state, or the cookie.
    let altered = format!("code={code}&state={state}x");
    assert!(invalid(sessions.finish_login(&altered, &browser).await));
    let cookie = browser[http::header::COOKIE].to_str().unwrap();
    let mut edited = HeaderMap::new();
    let tampered = cookie.replacen("token-login=", "token-login=A", 1);
    edited.insert(http::header::COOKIE, tampered.parse().unwrap());
    assert!(invalid(sessions.finish_login(&query, &edited).await));
    // Two cookies of that name: which one the browser sent first is not ours to pick.
    let mut doubled = browser.clone();
    doubled.append(http::header::COOKIE, cookie.parse().unwrap());
    assert!(invalid(sessions.finish_login(&query, &doubled).await));
    // Expired: more than 10 minutes after the log-in started.
    setup.clock.advance(Duration::from_secs(601));
    assert!(invalid(sessions.finish_login(&query, &browser).await));
    assert_eq!(setup.sessions().await, 0);
    // None of these reached the token endpoint: the code is still good.
    assert!(setup.provider.token_calls().await.is_empty());
}

#[tokio::test]
async fn a_state_is_bound_to_its_browser_and_used_once() {
    let setup = Setup::new().await;
    let sessions = setup.manager();
    // The attacker starts a log-in, and gets a victim's browser (which started its own) to
    // the callback with the attacker's code and state.
    let attacker = sessions.start_login(&LoginOptions::new()).unwrap();
    let victim = sessions.start_login(&LoginOptions::new()).unwrap();
    let attackers_callback = sign_in(&setup, &attacker.url).await;
    let refused = sessions
        .finish_login(&attackers_callback, &browser_with(&victim))
        .await;
    assert!(
        matches!(refused, Err(SessionError::InvalidLoginState)),
        "{refused:?}"
    );

    // Replay: the browser's state cookie is removed by the first callback's answer, so a
    // replay from it has no state; a replay that kept a copy of the cookie gets to the token
    // endpoint, which refuses the spent code (once: it is not retried).
    let query = sign_in(&setup, &victim.url).await;
    sessions
        .finish_login(&query, &browser_with(&victim))
        .await
        .unwrap();
    let replay = sessions.finish_login(&query, &HeaderMap::new()).await;
    assert!(
        matches!(replay, Err(SessionError::InvalidLoginState)),
        "{replay:?}"
    );
    let calls_before = setup.provider.token_calls().await.len();
    let replay = sessions.finish_login(&query, &browser_with(&victim)).await;
    assert!(
        matches!(replay, Err(SessionError::CodeRefused)),
        "{replay:?}"
    );
    let calls = setup.provider.token_calls().await;
    assert_eq!(
        calls.len(),
        calls_before + 1,
        "one call, not retried: {calls:?}"
    );
    assert_eq!(calls.last().unwrap()["ok"], false);
    assert_eq!(setup.sessions().await, 1);
}

#[tokio::test]
async fn a_code_for_another_verifier_or_redirect_uri_is_refused() {
    let setup = Setup::new().await;
    let sessions = setup.manager();

    // PKCE: a code issued for one log-in's challenge, brought back with another log-in's
    // state (so the state check passes), is exchanged with the wrong verifier.
    let first = sessions.start_login(&LoginOptions::new()).unwrap();
    let second = sessions.start_login(&LoginOptions::new()).unwrap();
    let second_state = query_param(&second.url, "state").unwrap();
    let second_nonce = query_param(&second.url, "nonce").unwrap();
    let crossed = with_param(
        &with_param(&first.url, "state", &second_state),
        "nonce",
        &second_nonce,
    );
    let refused = come_back(&setup, &sessions, &crossed, &second).await;
    assert!(
        matches!(refused, Err(SessionError::CodeRefused)),
        "{refused:?}"
    );

    // redirect_uri: the code was issued for another of the client's callback URLs.
    let login = sessions.start_login(&LoginOptions::new()).unwrap();
    let elsewhere = with_param(&login.url, "redirect_uri", OTHER_REDIRECT);
    let refused = come_back(&setup, &sessions, &elsewhere, &login).await;
    assert!(
        matches!(refused, Err(SessionError::CodeRefused)),
        "{refused:?}"
    );
    assert_eq!(setup.sessions().await, 0);
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    let setup = Setup::new().await;
    let sessions = setup.manager();
    // The code of the first log-in's authorize request, with the second's PKCE challenge
    // and state, so that only the nonce differs.
    let first = sessions.start_login(&LoginOptions::new()).unwrap();
    let second = sessions.start_login(&LoginOptions::new()).unwrap();
    let mut crossed = first.url.clone();
    for param in ["state", "code_challenge"] {
        crossed = with_param(&crossed, param, &query_param(&second.url, param).unwrap());
    }
    let refused = come_back(&setup, &sessions, &crossed, &second).await;
    assert!(
        matches!(refused, Err(SessionError::InvalidTokens)),
        "{refused:?}"
    );
    assert_eq!(setup.sessions().await, 0);
}

#[tokio::test]
async fn an_error_from_the_domain_is_typed_and_carries_no_token() {
    let setup = Setup::new().await;
    let sessions = setup.manager();
    let login = sessions.start_login(&LoginOptions::new()).unwrap();
    let location = setup
        .provider
        .cancel(&SignInBrowser::new(), &login.url)
        .await;
    let refused = sessions
        .finish_login(&callback_query(&location), &browser_with(&login))
        .await;
    match refused {
        Err(SessionError::AuthorizationDenied { error, .. }) => assert_eq!(error, "access_denied"),
        other => panic!("{other:?}"),
    }
    assert!(setup.provider.token_calls().await.is_empty());
}

#[tokio::test]
async fn the_next_target_stays_on_this_site() {
    let setup = Setup::new().await;
    let sessions = setup.manager();
    for next in ["https://evil.example", "//evil.example", "/\\evil.example"] {
        let login = sessions
            .start_login(&LoginOptions::new().with_next(next))
            .unwrap();
        let logged_in = come_back(&setup, &sessions, &login.url, &login)
            .await
            .unwrap();
        assert_eq!(logged_in.next, "/", "{next}");
    }
}

#[tokio::test]
async fn the_token_endpoint_down_is_unavailable_and_stores_nothing() {
    let setup = Setup::new().await;
    let sessions = setup.manager();
    let login = sessions.start_login(&LoginOptions::new()).unwrap();
    let query = sign_in(&setup, &login.url).await;
    let Setup {
        provider, store, ..
    } = setup;
    drop(provider); // stops it
    let refused = sessions.finish_login(&query, &browser_with(&login)).await;
    assert!(
        matches!(refused, Err(SessionError::Unavailable(_))),
        "{refused:?}"
    );
    assert!(store.is_empty());
}

#[tokio::test]
async fn a_federated_sign_in_works_like_any_other() {
    let setup = Setup::new().await;
    let sessions = setup.manager();
    let login = sessions
        .start_login(&LoginOptions::new().with_identity_provider("Google"))
        .unwrap();
    assert_eq!(
        query_param(&login.url, "identity_provider").as_deref(),
        Some("Google")
    );
    let location = setup
        .provider
        .sign_in_federated(&SignInBrowser::new(), &login.url)
        .await;
    let logged_in = sessions
        .finish_login(&callback_query(&location), &browser_with(&login))
        .await
        .unwrap();
    let username = logged_in.session.user.username().to_owned();
    assert!(username.starts_with("Google_"), "{username}");
    let again = sessions
        .authenticate(logged_in.session.token.expose())
        .await
        .unwrap();
    assert_eq!(again.user.username(), username);
    assert_eq!(setup.store.len(), 1);
}

#[tokio::test]
async fn sessions_refresh_through_the_token_endpoint() {
    // Access tokens living 60 s are always within the refresh window (5 minutes).
    let setup = Setup::with(None, 60).await;
    let sessions = setup.manager();
    let login = sessions.start_login(&LoginOptions::new()).unwrap();
    let logged_in = come_back(&setup, &sessions, &login.url, &login)
        .await
        .unwrap();
    let token = logged_in.session.token.expose().to_owned();

    let refreshed = sessions.authenticate(&token).await.unwrap();
    let new_token = refreshed.new_token.expect("refreshed");
    assert_ne!(new_token.token.expose(), token);
    assert_eq!(
        refreshed.user.session_key(),
        logged_in.session.user.session_key()
    );
    let calls = setup.provider.token_calls().await;
    let grants: Vec<&str> = calls
        .iter()
        .map(|c| c["grant_type"].as_str().unwrap())
        .collect();
    assert_eq!(grants, ["authorization_code", "refresh_token"], "{calls:?}");
    assert!(calls.iter().all(|c| c["ok"] == true), "{calls:?}");
    let again = sessions
        .authenticate(new_token.token.expose())
        .await
        .unwrap();
    assert_eq!(again.user.username(), "alice");
}

/// Tokens of `client` for `alice`, got the way a mobile app would: the code flow with PKCE,
/// spoken directly to the provider.
async fn tokens_elsewhere(setup: &Setup, client: &str) -> serde_json::Value {
    use base64::Engine as _;
    use sha2::Digest as _;
    let verifier = "a-mobile-app-verifier-of-enough-length-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let mut url =
        reqwest::Url::parse(&format!("{}/oauth2/authorize", setup.provider.url())).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid email")
        .append_pair("state", "mobile-state")
        .append_pair("code_challenge_method", "S256")
        .append_pair("code_challenge", &challenge);
    let query = sign_in(setup, url.as_str()).await;
    let code = query_param(&format!("http://127.0.0.1/?{query}"), "code").unwrap();
    let form = common::oidc::form_body(&[
        ("grant_type", "authorization_code"),
        ("client_id", client),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ]);
    reqwest::Client::new()
        .post(format!("{}/oauth2/token", setup.provider.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_session_from_tokens_obtained_elsewhere_is_verified_first() {
    let setup = Setup::new().await;
    // The mobile client's access tokens are accepted on requests, but its log-ins can't
    // become sessions here: their refresh token is the mobile client's.
    let settings = setup
        .settings(None, REDIRECT)
        .with_extra_client_ids([OTHER_CLIENT]);
    let sessions = setup.manager_with(settings);
    let ours = tokens_elsewhere(&setup, CLIENT).await;
    let theirs = tokens_elsewhere(&setup, OTHER_CLIENT).await;
    let s = |tokens: &serde_json::Value, name: &str| tokens[name].as_str().unwrap().to_owned();

    let refused =
        |result: Result<_, SessionError>| matches!(result, Err(SessionError::InvalidTokens));
    // Another client's access token.
    assert!(refused(
        sessions
            .create_from_tokens(
                &s(&theirs, "access_token"),
                &s(&theirs, "refresh_token"),
                None
            )
            .await
    ));
    // Our access token, another client's ID token.
    assert!(refused(
        sessions
            .create_from_tokens(
                &s(&ours, "access_token"),
                &s(&ours, "refresh_token"),
                Some(&s(&theirs, "id_token")),
            )
            .await
    ));
    // Not a token at all, or an ID token where the access token goes.
    assert!(refused(
        sessions.create_from_tokens("garbage", "r", None).await
    ));
    assert!(refused(
        sessions
            .create_from_tokens(&s(&ours, "id_token"), &s(&ours, "refresh_token"), None)
            .await
    ));
    assert_eq!(
        setup.sessions().await,
        0,
        "nothing stored before the tokens verify"
    );

    let session = sessions
        .create_from_tokens(
            &s(&ours, "access_token"),
            &s(&ours, "refresh_token"),
            Some(&s(&ours, "id_token")),
        )
        .await
        .unwrap();
    assert_eq!(session.user.username(), "alice");
    let again = sessions.authenticate(session.token.expose()).await.unwrap();
    assert_eq!(again.user.session_key(), session.user.session_key());
}
