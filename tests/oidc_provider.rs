//! The managed-login stand-in of the tests (`tests/oidc/server.mjs`, oidc-provider on
//! 127.0.0.1) spoken to directly over OAuth 2.0, with no code of this crate: what it
//! issues looks like a Cognito domain's, and what it refuses it refuses by itself. These
//! are the guarantees the managed-login tests rely on the provider (not on us) for:
//!
//! - PKCE S256 is required, and the code only goes with its verifier;
//! - a code is single-use, and bound to its `redirect_uri` and client;
//! - `redirect_uri` must be registered exactly, or the authorize request goes nowhere;
//! - a client with a secret must authenticate (HTTP Basic);
//! - refresh tokens come with every code, are not rotated, and end when revoked.
//!
//! Where it differs from Cognito is listed at the top of `tests/oidc/server.mjs`.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::oidc::{Provider, ProviderClient, SignInBrowser, form_body, query_param};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::Value;
use sha2::{Digest, Sha256};

const POOL: &str = "us-east-1_Managed";
const CALLBACK: &str = "http://127.0.0.1:5555/auth/callback";
/// Registered too, for the test that swaps redirect URIs between authorize and token.
const OTHER_CALLBACK: &str = "http://127.0.0.1:5555/other/callback";
const SIGNED_OUT: &str = "http://127.0.0.1:5555/";
const PUBLIC: &str = "public-client";
const CONFIDENTIAL: &str = "confidential-client";
const SECRET: &str = "s3cr3t";
const ACCESS_TTL: u64 = 900;

async fn provider() -> Provider {
    let public = ProviderClient {
        client_id: PUBLIC.into(),
        client_secret: None,
        redirect_uris: vec![CALLBACK.into(), OTHER_CALLBACK.into()],
        logout_uris: vec![SIGNED_OUT.into()],
    };
    let confidential =
        ProviderClient::public(CONFIDENTIAL, CALLBACK, SIGNED_OUT).with_secret(SECRET);
    Provider::start(
        POOL,
        vec![public, confidential],
        &[
            ("alice", "Passw0rd!", &["admins", "staff"]),
            ("bob", "B0b-passw0rd", &[]),
        ],
        ACCESS_TTL,
    )
    .await
}

/// A PKCE pair: a verifier of 64 characters from the OS RNG and its S256 challenge.
struct Pkce {
    verifier: String,
    challenge: String,
}

impl Pkce {
    fn new() -> Self {
        let mut bytes = [0u8; 48];
        getrandom::fill(&mut bytes).unwrap();
        let verifier = URL_SAFE_NO_PAD.encode(bytes);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

/// Form or query fields: names and values.
type Fields<'a> = [(&'a str, &'a str)];

/// An authorization request as an app sends it; `extra` adds or (with an empty value)
/// removes parameters.
struct Authorize<'a> {
    client_id: &'a str,
    redirect_uri: &'a str,
    state: &'a str,
    nonce: &'a str,
    pkce: &'a Pkce,
    extra: &'a Fields<'a>,
}

impl<'a> Authorize<'a> {
    fn new(client_id: &'a str, pkce: &'a Pkce) -> Self {
        Self {
            client_id,
            redirect_uri: CALLBACK,
            state: "state-1",
            nonce: "nonce-1",
            pkce,
            extra: &[],
        }
    }

    fn url(&self, provider: &Provider) -> String {
        let params = edited(
            vec![
                ("response_type", "code"),
                ("client_id", self.client_id),
                ("redirect_uri", self.redirect_uri),
                ("scope", "openid email profile"),
                ("state", self.state),
                ("nonce", self.nonce),
                ("code_challenge", self.pkce.challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
            self.extra,
        );
        format!("{}/oauth2/authorize?{}", provider.url(), form_body(&params))
    }
}

/// `fields` with `changes` made: each replaces the field of its name (at the end), or with
/// an empty value removes it.
fn edited<'a>(
    mut fields: Vec<(&'a str, &'a str)>,
    changes: &Fields<'a>,
) -> Vec<(&'a str, &'a str)> {
    for &(name, value) in changes {
        fields.retain(|&(n, _)| n != name);
        if !value.is_empty() {
            fields.push((name, value));
        }
    }
    fields
}

/// Signs `user` in on the provider's page with `browser` through `authorize`, and returns
/// the code of the redirect to the app (checked by [`code_of`]).
async fn code_for(
    provider: &Provider,
    browser: &SignInBrowser,
    authorize: &Authorize<'_>,
    user: &str,
    password: &str,
) -> String {
    let location = provider
        .sign_in(browser, &authorize.url(provider), user, password)
        .await;
    code_of(&location, authorize.state)
}

/// [`code_for`] `alice`, with `client_id` and `pkce` in a new browser.
async fn alice_code(provider: &Provider, client_id: &str, pkce: &Pkce) -> String {
    let authorize = Authorize::new(client_id, pkce);
    code_for(
        provider,
        &SignInBrowser::new(),
        &authorize,
        "alice",
        "Passw0rd!",
    )
    .await
}

/// The code of a redirect to the app, after checking it carries our `state` and no error.
fn code_of(location: &str, state: &str) -> String {
    assert!(location.starts_with(CALLBACK), "redirected to {location}");
    assert_eq!(query_param(location, "error"), None, "{location}");
    assert_eq!(
        query_param(location, "state").as_deref(),
        Some(state),
        "{location}"
    );
    query_param(location, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

/// The `error` of a redirect to the app, after checking it carries our `state` and no code.
#[track_caller]
fn error_in(location: &str, state: &str) -> String {
    assert!(location.starts_with(CALLBACK), "redirected to {location}");
    assert_eq!(query_param(location, "code"), None, "{location}");
    assert_eq!(
        query_param(location, "state").as_deref(),
        Some(state),
        "{location}"
    );
    query_param(location, "error").unwrap_or_else(|| panic!("no error in {location}"))
}

/// GETs `url` with `browser` (its cookies, no redirects followed).
async fn get(browser: &SignInBrowser, url: &str) -> reqwest::Response {
    browser.client().get(url).send().await.unwrap()
}

/// The sign-in page an authorize request is sent to (by a 303 on the provider): its URL and
/// HTML.
async fn sign_in_page(browser: &SignInBrowser, authorize_url: &str) -> (reqwest::Url, String) {
    let first = get(browser, authorize_url).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER, "{authorize_url}");
    let url = reqwest::Url::parse(authorize_url)
        .unwrap()
        .join(first.headers()[LOCATION].to_str().unwrap())
        .unwrap();
    let html = get(browser, url.as_str()).await.text().await.unwrap();
    (url, html)
}

/// The page of a request the provider refuses without sending the browser anywhere: 400,
/// no `Location`.
async fn error_page(browser: &SignInBrowser, url: &str) -> String {
    let response = get(browser, url).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{url}");
    assert!(response.headers().get(LOCATION).is_none(), "{url}");
    response.text().await.unwrap()
}

/// POSTs `fields` to the token endpoint, as `client_id` (HTTP Basic with `secret`, else
/// `client_id` in the body); returns the status and the JSON answer.
async fn token_request(
    provider: &Provider,
    client_id: &str,
    secret: Option<&str>,
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    post_form(provider, "/oauth2/token", client_id, secret, fields).await
}

/// POSTs `token` to the revocation endpoint, as [`token_request`] does.
async fn revoke(
    provider: &Provider,
    client_id: &str,
    secret: Option<&str>,
    token: &str,
) -> (StatusCode, Value) {
    post_form(
        provider,
        "/oauth2/revoke",
        client_id,
        secret,
        &[("token", token)],
    )
    .await
}

async fn post_form(
    provider: &Provider,
    path: &str,
    client_id: &str,
    secret: Option<&str>,
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut fields = fields.to_vec();
    let mut request = reqwest::Client::new().post(format!("{}{path}", provider.url()));
    match secret {
        Some(secret) => request = request.basic_auth(client_id, Some(secret)),
        None => fields.push(("client_id", client_id)),
    }
    let response = request
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&fields))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} answered {text:?}: {e}"))
    };
    (status, body)
}

/// The fields of a `grant_type=authorization_code` request.
fn code_fields<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
        ("redirect_uri", CALLBACK),
    ]
}

/// The `grant_type=authorization_code` request.
async fn exchange(
    provider: &Provider,
    client_id: &str,
    secret: Option<&str>,
    code: &str,
    verifier: &str,
) -> (StatusCode, Value) {
    token_request(provider, client_id, secret, &code_fields(code, verifier)).await
}

/// The `grant_type=refresh_token` request.
async fn refresh_request(
    provider: &Provider,
    client_id: &str,
    secret: Option<&str>,
    token: &str,
) -> (StatusCode, Value) {
    let fields = [("grant_type", "refresh_token"), ("refresh_token", token)];
    token_request(provider, client_id, secret, &fields).await
}

/// Signs `alice` in with `client_id` in a new browser and exchanges the code: the token
/// response.
async fn log_in(provider: &Provider, client_id: &str, secret: Option<&str>) -> Value {
    let pkce = Pkce::new();
    let code = alice_code(provider, client_id, &pkce).await;
    ok(exchange(provider, client_id, secret, &code, &pkce.verifier).await)
}

/// The JSON answer, after checking it came with 200.
#[track_caller]
fn ok(answer: (StatusCode, Value)) -> Value {
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    answer.1
}

/// Checks an OAuth error answer: its status and its `error`.
#[track_caller]
fn assert_oauth_error(answer: &(StatusCode, Value), status: StatusCode, error: &str) {
    let got = (answer.0, answer.1["error"].as_str().unwrap_or("(none)"));
    assert_eq!(got, (status, error), "{}", answer.1);
}

/// The payload of a JWT, without checking anything.
fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The payload of a token response's access token, without checking anything.
fn access_payload(tokens: &Value) -> Value {
    payload(tokens["access_token"].as_str().unwrap())
}

/// The provider's JWKS, as published.
async fn jwks(provider: &Provider) -> Value {
    reqwest::get(provider.jwks_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The claims of `jwt` once its signature checks out against the provider's JWKS (RS256,
/// the key named by `kid`) and its `iss` is the pool's; `aud` too when given.
async fn verified(provider: &Provider, jwt: &str, audience: Option<&str>) -> Value {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.expect("a kid in the header");
    let jwks: JwkSet = serde_json::from_value(jwks(provider).await).unwrap();
    let jwk = jwks
        .find(&kid)
        .unwrap_or_else(|| panic!("kid {kid} not in the JWKS"));
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[provider.issuer()]);
    match audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .unwrap_or_else(|e| panic!("{jwt} does not verify: {e}"))
        .claims
}

/// The claims of a token response's access token, [`verified`] (any `aud`).
async fn access_claims(provider: &Provider, tokens: &Value) -> Value {
    verified(provider, tokens["access_token"].as_str().unwrap(), None).await
}

/// The claims of a token response's ID token, [`verified`] with `client_id` as `aud`.
async fn id_claims(provider: &Provider, tokens: &Value, client_id: &str) -> Value {
    verified(
        provider,
        tokens["id_token"].as_str().unwrap(),
        Some(client_id),
    )
    .await
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn ready_line_names_the_pool_issuer_and_loopback_urls() {
    let provider = provider().await;
    assert_eq!(
        provider.issuer(),
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Managed"
    );
    assert_eq!(provider.pool_id(), POOL);
    assert!(
        provider.url().starts_with("http://127.0.0.1:"),
        "{}",
        provider.url()
    );
    assert_eq!(
        provider.jwks_url(),
        format!("{}/.well-known/jwks.json", provider.url())
    );
    let jwks = jwks(&provider).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["use"], "sig");
    assert!(
        keys[0].get("d").is_none(),
        "the private part is published: {jwks}"
    );
}

#[tokio::test]
async fn code_flow_with_pkce_gives_cognito_shaped_tokens() {
    let provider = provider().await;
    let browser = SignInBrowser::new();
    let pkce = Pkce::new();
    let authorize = Authorize::new(PUBLIC, &pkce);

    // The sign-in page of the contract; the redirects before it stay on 127.0.0.1.
    let (page_url, page) = sign_in_page(&browser, &authorize.url(&provider)).await;
    assert!(
        page_url
            .as_str()
            .starts_with(&format!("{}/interaction/", provider.url())),
        "{page_url}"
    );
    for element in [
        r#"<input id="username" name="username""#,
        r#"<input id="password" name="password" type="password""#,
        r#"<button id="submit""#,
        r#"<button id="cancel""#,
    ] {
        assert!(page.contains(element), "no {element} in:\n{page}");
    }

    let code = code_for(&provider, &browser, &authorize, "alice", "Passw0rd!").await;
    let before = now();
    let tokens = ok(exchange(&provider, PUBLIC, None, &code, &pkce.verifier).await);
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], ACCESS_TTL);
    assert!(
        tokens["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{tokens}"
    );

    // The access token: signed by the JWKS's key, with Cognito's claims.
    let access = tokens["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.typ, None, "Cognito's access tokens have no typ");
    let claims = access_claims(&provider, &tokens).await;
    assert_eq!(claims["iss"], provider.issuer());
    assert_eq!(claims["token_use"], "access");
    assert_eq!(claims["client_id"], PUBLIC);
    assert_eq!(claims["username"], "alice");
    assert_eq!(claims["scope"], "openid email profile");
    assert_eq!(
        claims["cognito:groups"],
        serde_json::json!(["admins", "staff"])
    );
    let sub = claims["sub"].as_str().unwrap();
    assert_eq!(sub.len(), 36, "a UUID like Cognito's: {sub}");
    assert!(
        claims["origin_jti"].as_str().is_some_and(|v| !v.is_empty()),
        "{claims}"
    );
    assert!(
        claims["jti"].as_str().is_some_and(|v| !v.is_empty()),
        "{claims}"
    );
    let iat = claims["iat"].as_u64().unwrap();
    assert!(
        iat >= before.saturating_sub(5) && iat <= now() + 5,
        "iat {iat}"
    );
    assert_eq!(claims["exp"].as_u64(), Some(iat + ACCESS_TTL));
    assert!(
        claims["auth_time"].as_u64().is_some_and(|t| t <= iat),
        "{claims}"
    );

    // The ID token: for the client (aud), with the nonce and the user's claims.
    let id_claims = id_claims(&provider, &tokens, PUBLIC).await;
    assert_eq!(id_claims["aud"], PUBLIC);
    assert_eq!(id_claims["token_use"], "id");
    assert_eq!(id_claims["nonce"], "nonce-1");
    assert_eq!(id_claims["cognito:username"], "alice");
    assert_eq!(id_claims["email"], "alice@example.com");
    assert_eq!(id_claims["sub"], sub);
    assert_eq!(id_claims["iss"], provider.issuer());
    assert!(
        id_claims["exp"].as_u64().is_some_and(|exp| exp > now()),
        "{id_claims}"
    );

    // The browser is now signed in at the provider: the next authorize request comes back
    // with a code at once, and that log-in is a new one (its own origin_jti).
    let pkce2 = Pkce::new();
    let again = Authorize {
        state: "state-2",
        ..Authorize::new(PUBLIC, &pkce2)
    };
    let code2 = code_for(&provider, &browser, &again, "unused", "unused").await;
    let tokens2 = ok(exchange(&provider, PUBLIC, None, &code2, &pkce2.verifier).await);
    let claims2 = access_payload(&tokens2);
    assert_eq!(claims2["sub"], sub);
    assert_ne!(claims2["origin_jti"], claims["origin_jti"]);
}

#[tokio::test]
async fn a_user_without_groups_has_no_groups_claim() {
    let provider = provider().await;
    let pkce = Pkce::new();
    let authorize = Authorize::new(PUBLIC, &pkce);
    let code = code_for(
        &provider,
        &SignInBrowser::new(),
        &authorize,
        "bob",
        "B0b-passw0rd",
    )
    .await;
    let tokens = ok(exchange(&provider, PUBLIC, None, &code, &pkce.verifier).await);
    let claims = access_payload(&tokens);
    assert_eq!(claims["username"], "bob");
    assert!(claims.get("cognito:groups").is_none(), "{claims}");
}

#[tokio::test]
async fn a_client_with_a_secret_must_authenticate_with_basic() {
    let provider = provider().await;
    let browser = SignInBrowser::new();
    let mut codes = Vec::new();
    for state in ["s1", "s2", "s3", "s4"] {
        let pkce = Pkce::new();
        let authorize = Authorize {
            state,
            ..Authorize::new(CONFIDENTIAL, &pkce)
        };
        let code = code_for(&provider, &browser, &authorize, "alice", "Passw0rd!").await;
        codes.push((code, pkce));
    }
    let refused: [(Option<&str>, &Fields); 3] = [
        // No client authentication at all (only client_id in the body).
        (None, &[]),
        // A wrong secret.
        (Some("wrong"), &[]),
        // A wrong secret in the body (client_secret_post: oidc-provider takes it as well as
        // Basic, as Cognito does).
        (None, &[("client_secret", "wrong")]),
    ];
    for ((code, pkce), (secret, extra)) in codes.iter().zip(refused) {
        let fields = edited(code_fields(code, &pkce.verifier), extra);
        let answer = token_request(&provider, CONFIDENTIAL, secret, &fields).await;
        assert_oauth_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
    }

    // HTTP Basic with the secret.
    let (code, pkce) = &codes[3];
    let tokens = ok(exchange(&provider, CONFIDENTIAL, Some(SECRET), code, &pkce.verifier).await);
    let claims = access_claims(&provider, &tokens).await;
    assert_eq!(claims["client_id"], CONFIDENTIAL);
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let id = id_claims(&provider, &tokens, CONFIDENTIAL).await;
    assert_eq!(id["aud"], CONFIDENTIAL);

    let calls = provider.token_calls().await;
    let outcomes: Vec<_> = calls
        .iter()
        .map(|c| (c["ok"].clone(), c["error"].clone()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (false.into(), "invalid_client".into()),
            (false.into(), "invalid_client".into()),
            (false.into(), "invalid_client".into()),
            (true.into(), Value::Null),
        ],
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_code_is_single_use() {
    let provider = provider().await;
    let pkce = Pkce::new();
    let code = alice_code(&provider, PUBLIC, &pkce).await;
    let tokens = ok(exchange(&provider, PUBLIC, None, &code, &pkce.verifier).await);
    let replay = exchange(&provider, PUBLIC, None, &code, &pkce.verifier).await;
    assert_oauth_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");

    // The replay also ends what the code gave (RFC 6749 §4.1.2): the refresh token is dead.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let answer = refresh_request(&provider, PUBLIC, None, refresh).await;
    assert_oauth_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");

    let calls = provider.token_calls().await;
    assert_eq!(
        calls,
        vec![
            serde_json::json!({"grant_type": "authorization_code", "ok": true, "error": null}),
            serde_json::json!({"grant_type": "authorization_code", "ok": false, "error": "invalid_grant"}),
            serde_json::json!({"grant_type": "refresh_token", "ok": false, "error": "invalid_grant"}),
        ]
    );
}

#[tokio::test]
async fn the_code_goes_only_with_its_verifier() {
    let provider = provider().await;
    let pkce = Pkce::new();
    let code = alice_code(&provider, PUBLIC, &pkce).await;

    let other = Pkce::new();
    let wrong = exchange(&provider, PUBLIC, None, &code, &other.verifier).await;
    assert_oauth_error(&wrong, StatusCode::BAD_REQUEST, "invalid_grant");

    let fields = edited(code_fields(&code, &pkce.verifier), &[("code_verifier", "")]);
    let missing = token_request(&provider, PUBLIC, None, &fields).await;
    assert_oauth_error(&missing, StatusCode::BAD_REQUEST, "invalid_grant");

    // The challenge itself is not a verifier.
    let challenge = exchange(&provider, PUBLIC, None, &code, &pkce.challenge).await;
    assert_oauth_error(&challenge, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn an_authorize_request_without_pkce_s256_is_refused() {
    let provider = provider().await;
    let browser = SignInBrowser::new();
    let pkce = Pkce::new();
    let cases: [(&str, &Fields); 3] = [
        (
            "no code_challenge",
            &[("code_challenge", ""), ("code_challenge_method", "")],
        ),
        ("no method", &[("code_challenge_method", "")]),
        ("plain", &[("code_challenge_method", "plain")]),
    ];
    for (name, extra) in cases {
        let authorize = Authorize {
            extra,
            ..Authorize::new(PUBLIC, &pkce)
        };
        // Refused before any sign-in page: the error goes back to the (registered) app.
        let response = get(&browser, &authorize.url(&provider)).await;
        assert!(
            response.status().is_redirection(),
            "{name}: {}",
            response.status()
        );
        let location = response.headers()[LOCATION].to_str().unwrap();
        assert_eq!(error_in(location, "state-1"), "invalid_request", "{name}");
    }
}

#[tokio::test]
async fn redirect_uri_must_match_exactly() {
    let provider = provider().await;
    let browser = SignInBrowser::new();
    let pkce = Pkce::new();

    // Unregistered at the authorize endpoint: an error page, no redirect anywhere.
    for uri in [
        "http://127.0.0.1:5555/auth/callback/",
        "http://127.0.0.1:5556/auth/callback",
        "http://localhost:5555/auth/callback",
        "http://127.0.0.1:5555/auth/callback?x=1",
        "https://evil.example/auth/callback",
    ] {
        let authorize = Authorize {
            redirect_uri: uri,
            ..Authorize::new(PUBLIC, &pkce)
        };
        let page = error_page(&browser, &authorize.url(&provider)).await;
        assert!(page.contains("redirect_uri"), "{uri}: {page}");
    }
    // Missing: Cognito wants it even with one registered.
    let authorize = Authorize {
        extra: &[("redirect_uri", "")],
        ..Authorize::new(PUBLIC, &pkce)
    };
    error_page(&browser, &authorize.url(&provider)).await;

    // At the token endpoint, another registered URI than the authorize request's.
    let code = alice_code(&provider, PUBLIC, &pkce).await;
    let fields = code_fields(&code, &pkce.verifier);
    let swapped = edited(fields.clone(), &[("redirect_uri", OTHER_CALLBACK)]);
    let swapped = token_request(&provider, PUBLIC, None, &swapped).await;
    assert_oauth_error(&swapped, StatusCode::BAD_REQUEST, "invalid_grant");
    let missing = edited(fields, &[("redirect_uri", "")]);
    let missing = token_request(&provider, PUBLIC, None, &missing).await;
    assert_eq!(missing.0, StatusCode::BAD_REQUEST, "{}", missing.1);
}

#[tokio::test]
async fn a_code_works_only_for_its_client() {
    let provider = provider().await;
    let pkce = Pkce::new();
    let code = alice_code(&provider, PUBLIC, &pkce).await;
    let stolen = exchange(&provider, CONFIDENTIAL, Some(SECRET), &code, &pkce.verifier).await;
    assert_oauth_error(&stolen, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn refresh_gives_new_tokens_of_the_same_log_in() {
    let provider = provider().await;
    let tokens = log_in(&provider, PUBLIC, None).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let first = access_payload(&tokens);

    for _ in 0..2 {
        let refreshed = ok(refresh_request(&provider, PUBLIC, None, refresh).await);
        // Not rotated: the same refresh token keeps working (Cognito's default).
        assert!(
            refreshed.get("refresh_token").is_none() || refreshed["refresh_token"] == refresh,
            "{refreshed}"
        );
        let claims = access_claims(&provider, &refreshed).await;
        assert_eq!(claims["token_use"], "access");
        assert_eq!(claims["username"], "alice");
        assert_eq!(claims["sub"], first["sub"]);
        assert_eq!(claims["client_id"], PUBLIC);
        assert_eq!(claims["origin_jti"], first["origin_jti"]);
        assert_eq!(claims["auth_time"], first["auth_time"]);
        assert_eq!(claims["cognito:groups"], first["cognito:groups"]);
        assert_ne!(claims["jti"], first["jti"]);
        let id = id_claims(&provider, &refreshed, PUBLIC).await;
        assert_eq!(id["token_use"], "id");
        assert_eq!(id["cognito:username"], "alice");
    }

    // Another log-in of the same user is another origin_jti.
    let other = access_payload(&log_in(&provider, PUBLIC, None).await);
    assert_eq!(other["sub"], first["sub"]);
    assert_ne!(other["origin_jti"], first["origin_jti"]);

    // A refresh token is the client's own.
    let answer = refresh_request(&provider, CONFIDENTIAL, Some(SECRET), refresh).await;
    assert_oauth_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again() {
    let provider = provider().await;
    let browser = SignInBrowser::new();
    let pkce = Pkce::new();
    let authorize = Authorize::new(PUBLIC, &pkce);
    let url = authorize.url(&provider);
    for (user, password) in [("alice", "wrong"), ("nobody", "Passw0rd!"), ("alice", "")] {
        let page = provider
            .try_sign_in(&browser, &url, user, password)
            .await
            .expect_err("signed in with a wrong password");
        assert!(page.contains("Incorrect username or password."), "{page}");
        assert!(page.contains(r#"id="password""#), "{page}");
    }
    code_for(&provider, &browser, &authorize, "alice", "Passw0rd!").await;
}

#[tokio::test]
async fn cancel_ends_the_flow_with_access_denied() {
    let provider = provider().await;
    let browser = SignInBrowser::new();
    let pkce = Pkce::new();
    let url = Authorize::new(PUBLIC, &pkce).url(&provider);
    let location = provider.cancel(&browser, &url).await;
    assert_eq!(error_in(&location, "state-1"), "access_denied");
    // Nothing was signed in: the next request asks again.
    let page = provider.try_sign_in(&browser, &url, "alice", "wrong").await;
    assert!(page.is_err(), "{page:?}");
}

#[tokio::test]
async fn identity_provider_signs_in_a_federated_user() {
    let provider = provider().await;
    let mut usernames = Vec::new();
    for _ in 0..2 {
        let pkce = Pkce::new();
        let authorize = Authorize {
            extra: &[("identity_provider", "Google"), ("lang", "fr")],
            ..Authorize::new(PUBLIC, &pkce)
        };
        let url = authorize.url(&provider);
        let browser = SignInBrowser::new();

        let (_, page) = sign_in_page(&browser, &url).await;
        assert!(page.contains(r#"<button id="federated""#), "{page}");
        assert!(page.contains("Continue with Google"), "{page}");
        assert!(!page.contains(r#"id="password""#), "{page}");

        let location = provider.sign_in_federated(&browser, &url).await;
        let code = code_of(&location, authorize.state);
        let tokens = ok(exchange(&provider, PUBLIC, None, &code, &pkce.verifier).await);
        let claims = access_claims(&provider, &tokens).await;
        let username = claims["username"].as_str().unwrap().to_owned();
        let digits = username
            .strip_prefix("Google_")
            .unwrap_or_else(|| panic!("{username}"));
        assert!(
            digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()),
            "{username}"
        );
        assert!(claims.get("cognito:groups").is_none(), "{claims}");
        let id = id_claims(&provider, &tokens, PUBLIC).await;
        assert_eq!(id["cognito:username"], username.as_str());
        assert_eq!(id["sub"], claims["sub"]);
        usernames.push(username);
    }
    assert_ne!(
        usernames[0], usernames[1],
        "each federated sign-in here is a new user"
    );
}

#[tokio::test]
async fn logout_ends_the_provider_session_and_goes_to_a_registered_uri_only() {
    let provider = provider().await;
    let browser = SignInBrowser::new();
    let pkce = Pkce::new();
    let authorize = Authorize::new(PUBLIC, &pkce);
    let code = code_for(&provider, &browser, &authorize, "alice", "Passw0rd!").await;
    let tokens = ok(exchange(&provider, PUBLIC, None, &code, &pkce.verifier).await);
    // Still signed in at the provider: a code at once, whatever the credentials.
    code_for(&provider, &browser, &authorize, "x", "y").await;

    let logout = |client: &str, uri: &str| {
        format!(
            "{}/logout?{}",
            provider.url(),
            form_body(&[("client_id", client), ("logout_uri", uri)])
        )
    };
    for (client, uri) in [
        (PUBLIC, "https://evil.example/"),
        (PUBLIC, "http://127.0.0.1:5555"),
        (PUBLIC, "http://127.0.0.1:5555/auth/callback"),
        ("no-such-client", SIGNED_OUT),
    ] {
        error_page(&browser, &logout(client, uri)).await;
    }
    error_page(&browser, &format!("{}/logout", provider.url())).await;
    // The refused ones ended nothing.
    code_for(&provider, &browser, &authorize, "x", "y").await;

    let response = get(&browser, &logout(PUBLIC, SIGNED_OUT)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[LOCATION], SIGNED_OUT);
    // Signed out: the form again.
    let url = authorize.url(&provider);
    let page = provider.try_sign_in(&browser, &url, "x", "y").await;
    assert!(page.is_err(), "still signed in: {page:?}");

    // Signing out of the domain doesn't end the tokens (Cognito's /logout doesn't either).
    let refresh = tokens["refresh_token"].as_str().unwrap();
    ok(refresh_request(&provider, PUBLIC, None, refresh).await);
}

#[tokio::test]
async fn revocation_ends_the_refresh_token_and_is_counted() {
    let provider = provider().await;
    let public = log_in(&provider, PUBLIC, None).await;
    let confidential = log_in(&provider, CONFIDENTIAL, Some(SECRET)).await;
    assert_eq!(provider.revocations().await, 0);
    let public_refresh = public["refresh_token"].as_str().unwrap();
    let confidential_refresh = confidential["refresh_token"].as_str().unwrap();

    // Another client's token: nothing revoked (RFC 7009 answers 200 all the same).
    ok(revoke(&provider, PUBLIC, None, confidential_refresh).await);
    assert_eq!(provider.revocations().await, 0);
    ok(refresh_request(&provider, CONFIDENTIAL, Some(SECRET), confidential_refresh).await);

    // A client with a secret must authenticate to revoke.
    let answer = revoke(&provider, CONFIDENTIAL, None, confidential_refresh).await;
    assert_oauth_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(provider.revocations().await, 0);

    // Its own tokens: revoked, and refresh fails from then on.
    ok(revoke(&provider, PUBLIC, None, public_refresh).await);
    assert_eq!(provider.revocations().await, 1);
    let answer = refresh_request(&provider, PUBLIC, None, public_refresh).await;
    assert_oauth_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");

    let fields = [
        ("token", confidential_refresh),
        ("token_type_hint", "refresh_token"),
    ];
    ok(post_form(
        &provider,
        "/oauth2/revoke",
        CONFIDENTIAL,
        Some(SECRET),
        &fields,
    )
    .await);
    assert_eq!(provider.revocations().await, 2);

    // Again, or an unknown token: 200, nothing more revoked.
    for token in [public_refresh, "no-such-token"] {
        ok(revoke(&provider, PUBLIC, None, token).await);
    }
    assert_eq!(provider.revocations().await, 2);
}
