//! `USER_SRP_AUTH` log-in: `InitiateAuth` with `SRP_A`, the `PASSWORD_VERIFIER` challenge
//! answered by the library, then tokens or the next challenge.
//!
//! moto can't play this flow for us: it accepts any `PASSWORD_CLAIM_SIGNATURE`, and its
//! `SECRET_BLOCK` is a UUID rather than base64, which a real client (ours, pycognito's,
//! amazon-cognito-identity-js's) can't sign. So the fault proxy plays Cognito's answers in
//! front of moto, and the requests we send are checked field by field. The SRP math itself
//! is checked against pycognito in tests/srp.rs.
#![cfg(feature = "cognito")]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cognito_session::cognito::{AuthFlow, LogIn};
use cognito_session::cognito::{ChallengeAnswer, ChallengeName};
use cognito_session::store::MemoryStore;
use cognito_session::{SessionConfig, SessionError, SessionManager};
use common::cognito::{Pool, Via, app, call, claims_of, forge, logged_in, with};
use common::proxy::{Fault, FaultProxy};
use hmac::{Hmac, Mac};
use http::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

/// Cognito's answer bodies are `&'static` for the proxy: tests leak a few.
fn leak(body: Value) -> &'static str {
    Box::leak(body.to_string().into_boxed_str())
}

/// `SECRET_HASH`, computed here independently.
fn secret_hash(secret: &str, username: &str, client_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(username.as_bytes());
    mac.update(client_id.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

const USER_ID: &str = "6e1b2c9a-srp-user-id";

fn password_verifier() -> &'static str {
    leak(json!({
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "USER_ID_FOR_SRP": USER_ID,
            "USERNAME": USER_ID,
            "SALT": "5d0f1a2b3c4d5e6f708192a3b4c5d6e7",
            "SRP_B": "7f".repeat(192),
            "SECRET_BLOCK": STANDARD.encode(b"the secret block Cognito hands out"),
        }
    }))
}

struct Srp {
    proxy: FaultProxy,
    pool: Pool,
    username: String,
    password: String,
    /// An access token of the user, signed with moto's key, for the proxy to hand out.
    token: String,
}

async fn srp_pool() -> Srp {
    let proxy = FaultProxy::start(common::moto_url()).await;
    let pool = Pool::create(&proxy.url, true).await;
    let (username, password) = pool.user().await;
    // A real log-in's token as the template of the one the proxy hands out.
    let plain = pool.manager(MemoryStore::new(), pool.config());
    let real = logged_in(&plain, &username, &password).await;
    let token = forge(&with(
        &claims_of(real.token.expose()),
        json!({ "jti": common::unique("jti"), "origin_jti": common::unique("origin") }),
    ));
    Srp {
        proxy,
        pool,
        username,
        password,
        token,
    }
}

fn srp_manager(pool: &Pool) -> SessionManager {
    pool.manager_with(
        MemoryStore::new(),
        SessionConfig::default(),
        pool.settings().with_auth_flow(AuthFlow::Srp),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_verifier_is_answered_here_with_the_srp_proof() {
    let Srp {
        proxy,
        pool,
        username,
        password,
        token,
    } = srp_pool().await;
    let manager = srp_manager(&pool);
    proxy.fail("InitiateAuth", Fault::Answer(password_verifier()));
    proxy.fail(
        "RespondToAuthChallenge",
        Fault::Answer(leak(json!({
            "AuthenticationResult": {
                "AccessToken": token, "RefreshToken": "refresh-token",
                "ExpiresIn": 3600, "TokenType": "Bearer",
            }
        }))),
    );
    let initiated = proxy.bodies("InitiateAuth").len();
    let session = manager
        .login(&username, &password)
        .await
        .unwrap()
        .into_session()
        .expect("a session");
    assert_eq!(session.token.expose(), token);
    let reply = call(&app(&manager), &token, Via::Bearer).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");

    let secret = pool.client_secret.as_deref().unwrap();
    let start = &proxy.bodies("InitiateAuth")[initiated];
    assert_eq!(start["AuthFlow"], "USER_SRP_AUTH");
    let parameters = &start["AuthParameters"];
    assert_eq!(parameters["USERNAME"], json!(username));
    assert_eq!(
        parameters["SECRET_HASH"],
        json!(secret_hash(secret, &username, &pool.client_id))
    );
    let srp_a = parameters["SRP_A"].as_str().unwrap();
    assert!(
        srp_a.len() > 500 && srp_a.chars().all(|c| c.is_ascii_hexdigit()),
        "{srp_a}"
    );
    assert!(
        parameters.get("PASSWORD").is_none(),
        "the password never leaves"
    );

    let answer = proxy.bodies("RespondToAuthChallenge").pop().unwrap();
    assert_eq!(answer["ChallengeName"], "PASSWORD_VERIFIER");
    let responses = &answer["ChallengeResponses"];
    assert_eq!(responses["USERNAME"], USER_ID);
    assert_eq!(
        responses["SECRET_HASH"],
        json!(secret_hash(secret, USER_ID, &pool.client_id)),
        "SECRET_HASH over USER_ID_FOR_SRP"
    );
    assert_eq!(
        responses["PASSWORD_CLAIM_SECRET_BLOCK"],
        json!(STANDARD.encode(b"the secret block Cognito hands out"))
    );
    let signature = STANDARD
        .decode(responses["PASSWORD_CLAIM_SIGNATURE"].as_str().unwrap())
        .unwrap();
    assert_eq!(signature.len(), 32, "an HMAC-SHA256");
    assert!(
        responses["TIMESTAMP"].as_str().unwrap().contains(" UTC "),
        "{responses}"
    );
    assert!(
        !answer.to_string().contains(&password),
        "the password never leaves"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_or_a_client_without_srp_is_told() {
    let Srp {
        proxy,
        pool,
        username,
        ..
    } = srp_pool().await;
    let manager = srp_manager(&pool);
    proxy.fail("InitiateAuth", Fault::Answer(password_verifier()));
    proxy.fail(
        "RespondToAuthChallenge",
        Fault::Error {
            kind: "NotAuthorizedException",
            message: "Incorrect username or password.",
        },
    );
    match manager.login(&username, "wrong").await {
        Err(SessionError::InvalidCredentials) => {}
        other => panic!("expected InvalidCredentials, got {other:?}"),
    }
    proxy.fail(
        "InitiateAuth",
        Fault::Error {
            kind: "InvalidParameterException",
            message: "USER_SRP_AUTH is not enabled for the client.",
        },
    );
    // Cognito's wording varies ("flow not enabled for this client" for the password flow);
    // what matters is the flag we name.
    match manager.login(&username, "any").await {
        Err(SessionError::FlowNotEnabled { flag }) => assert_eq!(flag, "ALLOW_USER_SRP_AUTH"),
        Err(SessionError::Unavailable(_)) => {
            panic!("an SRP flow refusal must name ALLOW_USER_SRP_AUTH, not be a 503")
        }
        other => panic!("expected FlowNotEnabled, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_after_the_verifier_is_answered_for_cognitos_user_id() {
    let Srp {
        proxy,
        pool,
        username,
        password,
        token,
    } = srp_pool().await;
    let manager = srp_manager(&pool);
    proxy.fail("InitiateAuth", Fault::Answer(password_verifier()));
    proxy.fail(
        "RespondToAuthChallenge",
        Fault::Answer(leak(json!({
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "Session": "cognito-session-after-verifier",
            "ChallengeParameters": {
                "requiredAttributes": "[\"userAttributes.given_name\"]",
                "userAttributes": "{\"email\":\"a@example.com\"}",
            }
        }))),
    );
    let asked = match manager.login(&username, &password).await.unwrap() {
        LogIn::Challenge(challenge) => challenge,
        other => panic!("expected a challenge, got {other:?}"),
    };
    assert_eq!(asked.name, ChallengeName::NewPasswordRequired);
    assert_eq!(asked.required_attributes(), ["given_name"]);

    proxy.fail(
        "RespondToAuthChallenge",
        Fault::Answer(leak(json!({
            "AuthenticationResult": {
                "AccessToken": token, "RefreshToken": "refresh-token",
                "ExpiresIn": 3600, "TokenType": "Bearer",
            }
        }))),
    );
    let answer = ChallengeAnswer::NewPassword {
        password: cognito_session::Secret::new("N3w-Password!"),
        attributes: [("given_name".to_owned(), "Alice".to_owned())].into(),
    };
    let step = manager
        .answer_challenge(&username, asked.session.expose(), answer)
        .await
        .unwrap();
    assert!(matches!(step, LogIn::Session(_)), "{step:?}");
    let sent = proxy.bodies("RespondToAuthChallenge").pop().unwrap();
    assert_eq!(sent["ChallengeName"], "NEW_PASSWORD_REQUIRED");
    assert_eq!(sent["Session"], "cognito-session-after-verifier");
    let responses = &sent["ChallengeResponses"];
    assert_eq!(responses["USERNAME"], USER_ID);
    assert_eq!(responses["userAttributes.given_name"], "Alice");
    assert_eq!(responses["NEW_PASSWORD"], "N3w-Password!");
}

/// The whole flow with moto doing the log-in: it starts `USER_SRP_AUTH`, sets the
/// `PASSWORD_VERIFIER` challenge and issues the tokens. Two moto gaps: its `SECRET_BLOCK` is
/// a UUID where Cognito sends base64 (and it finds the challenge by it), so the proxy
/// encodes that one field on its way back and decodes it on its way in; it looks the answer's
/// `USERNAME` up by user name, where Cognito takes the `USER_ID_FOR_SRP` it gave, so the
/// proxy puts the name back; and it accepts any signature, so the SRP math is checked in
/// tests/srp.rs, not here.
/// The user name moto's last challenge named (each test runs in a process of its own).
static MOTO_USERNAME: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

#[tokio::test]
async fn srp_log_in_runs_against_moto() {
    let proxy = FaultProxy::start(common::moto_url()).await;
    proxy.rewrite(
        "InitiateAuth",
        None,
        Some(|answer| {
            let parameters = &mut answer["ChallengeParameters"];
            if let Some(name) = parameters["USERNAME"].as_str() {
                *MOTO_USERNAME.lock().unwrap() = name.to_owned();
            }
            let block = &mut parameters["SECRET_BLOCK"];
            if let Some(uuid) = block.as_str() {
                *block = STANDARD.encode(uuid).into();
            }
        }),
    );
    proxy.rewrite(
        "RespondToAuthChallenge",
        Some(|request| {
            let responses = &mut request["ChallengeResponses"];
            responses["USERNAME"] = MOTO_USERNAME.lock().unwrap().clone().into();
            let block = &mut responses["PASSWORD_CLAIM_SECRET_BLOCK"];
            if let Some(encoded) = block.as_str() {
                let uuid = STANDARD.decode(encoded).expect("the block we encoded");
                *block = String::from_utf8(uuid).unwrap().into();
            }
        }),
        None,
    );
    let pool = Pool::create(&proxy.url, false).await;
    let (username, password) = pool.user().await;
    let manager = srp_manager(&pool);
    let session = manager
        .login(&username, &password)
        .await
        .unwrap()
        .into_session()
        .expect("tokens after the verifier");

    let started = proxy.bodies("InitiateAuth");
    assert_eq!(started.last().unwrap()["AuthFlow"], "USER_SRP_AUTH");
    let answered = proxy.bodies("RespondToAuthChallenge");
    assert_eq!(
        answered.last().unwrap()["ChallengeName"],
        "PASSWORD_VERIFIER"
    );
    let reply = call(&app(&manager), session.token.expose(), Via::Bearer).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.username(), username);
}
