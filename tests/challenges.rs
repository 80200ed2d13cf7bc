//! Log-in challenges against moto, through the library and through the example server:
//! first log-in with a temporary password, MFA set-up and MFA codes, the sealed challenge
//! session, and how Cognito's refusals are reported.
//!
//! moto accepts any MFA code (it does not check TOTP codes unless told to), so the answers
//! to wrong or expired codes and expired sessions come from the fault proxy, in AWS's error
//! shape; our own envelope's refusals need no Cognito at all.
#![cfg(feature = "cognito")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider::types::{
    MessageActionType, SmsMfaSettingsType, SoftwareTokenMfaConfigType, UserPoolMfaType,
};
use cognito_session::SessionError;
use cognito_session::cognito::LogIn;
use cognito_session::cognito::{Challenge, ChallengeAnswer, ChallengeName};
use cognito_session::store::{MemoryStore, SessionStore};
use common::TestClock;
use common::cognito::{Pool, Via, age, app, call, epoch, logged_in};
use common::proxy::{Fault, FaultProxy};
use common::server::{aws_env, json, start};
use http::StatusCode;
use serde_json::json;

const TEMPORARY: &str = "Temp-0rary!";
const CHOSEN: &str = "Ch0sen-Secret!";

/// A user an administrator made with a temporary password: Cognito's FORCE_CHANGE_PASSWORD.
async fn invited(pool: &Pool) -> String {
    let username = common::unique("invited");
    pool.client
        .admin_create_user()
        .user_pool_id(&pool.pool_id)
        .username(&username)
        .temporary_password(TEMPORARY)
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .expect("AdminCreateUser");
    username
}

/// Requires MFA with an authenticator app in `pool`.
async fn require_totp(pool: &Pool) {
    pool.client
        .set_user_pool_mfa_config()
        .user_pool_id(&pool.pool_id)
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder().enabled(true).build(),
        )
        .mfa_configuration(UserPoolMfaType::On)
        .send()
        .await
        .expect("SetUserPoolMfaConfig");
}

#[track_caller]
fn challenge(step: LogIn, name: ChallengeName) -> Challenge {
    match step {
        LogIn::Challenge(challenge) if challenge.name == name => challenge,
        other => panic!("expected the {name} challenge, got {other:?}"),
    }
}

#[tokio::test]
async fn first_log_in_with_a_temporary_password_sets_a_new_one() {
    for pool in [Pool::new().await, Pool::with_secret().await] {
        let username = invited(&pool).await;
        let manager = pool.manager(MemoryStore::new(), pool.config());
        let asked = challenge(
            manager.login(&username, TEMPORARY).await.unwrap(),
            ChallengeName::NewPasswordRequired,
        );
        assert!(!asked.session.expose().is_empty());
        assert_eq!(asked.parameters.get("USERNAME"), Some(&username));

        // A password moto's default policy refuses (no upper case, digit or symbol).
        match manager
            .answer_challenge(
                &username,
                asked.session.expose(),
                ChallengeAnswer::new_password("weakling"),
            )
            .await
        {
            Err(SessionError::PasswordRefused(message)) => assert!(!message.is_empty()),
            other => panic!("expected PasswordRefused, got {other:?}"),
        }

        let session = manager
            .answer_challenge(
                &username,
                asked.session.expose(),
                ChallengeAnswer::new_password(CHOSEN),
            )
            .await
            .unwrap()
            .into_session()
            .expect("a session once the password is set");
        assert_eq!(session.user.username(), username);
        let reply = call(&app(&manager), session.token.expose(), Via::Bearer).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");

        // The new password is the user's now: the next log-in asks nothing.
        let again = manager.login(&username, CHOSEN).await.unwrap();
        assert!(matches!(again, LogIn::Session(_)), "{again:?}");
    }
}

#[tokio::test]
async fn mfa_setup_then_an_authenticator_code_on_each_log_in() {
    // moto accepts any code for VerifySoftwareToken and SOFTWARE_TOKEN_MFA.
    let pool = Pool::with_secret().await;
    require_totp(&pool).await;
    let username = invited(&pool).await;
    let manager = pool.manager(MemoryStore::new(), pool.config());
    let asked = challenge(
        manager.login(&username, TEMPORARY).await.unwrap(),
        ChallengeName::NewPasswordRequired,
    );
    let setup = challenge(
        manager
            .answer_challenge(
                &username,
                asked.session.expose(),
                ChallengeAnswer::new_password(CHOSEN),
            )
            .await
            .unwrap(),
        ChallengeName::MfaSetup,
    );
    let secret = setup
        .secret_code
        .as_ref()
        .expect("the authenticator's secret");
    assert!(!secret.expose().is_empty());
    assert_eq!(pool.calls.get("AssociateSoftwareToken"), 1);
    assert!(!format!("{setup:?}").contains(secret.expose()), "redacted");

    let session = manager
        .answer_challenge(
            &username,
            setup.session.expose(),
            ChallengeAnswer::code("123456"),
        )
        .await
        .unwrap()
        .into_session()
        .expect("a session once the app is verified");
    assert_eq!(session.user.username(), username);
    assert_eq!(pool.calls.get("VerifySoftwareToken"), 1);

    let code = challenge(
        manager.login(&username, CHOSEN).await.unwrap(),
        ChallengeName::SoftwareTokenMfa,
    );
    // A code of the wrong kind is refused before Cognito is asked.
    let responds = pool.calls.get("RespondToAuthChallenge");
    match manager
        .answer_challenge(
            &username,
            code.session.expose(),
            ChallengeAnswer::new_password(CHOSEN),
        )
        .await
    {
        Err(SessionError::InvalidAnswer(_)) => {}
        other => panic!("expected InvalidAnswer, got {other:?}"),
    }
    assert_eq!(pool.calls.get("RespondToAuthChallenge"), responds);
    let session = manager
        .answer_challenge(
            &username,
            code.session.expose(),
            ChallengeAnswer::code("654321"),
        )
        .await
        .unwrap()
        .into_session()
        .expect("a session");
    let reply = call(&app(&manager), session.token.expose(), Via::Cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

#[tokio::test]
async fn sms_mfa_answers_with_the_sms_code() {
    // moto sends no SMS and accepts any code.
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    pool.client
        .admin_set_user_mfa_preference()
        .user_pool_id(&pool.pool_id)
        .username(&username)
        .sms_mfa_settings(
            SmsMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build(),
        )
        .send()
        .await
        .expect("AdminSetUserMFAPreference");
    let manager = pool.manager(MemoryStore::new(), pool.config());
    let asked = challenge(
        manager.login(&username, &password).await.unwrap(),
        ChallengeName::SmsMfa,
    );
    let step = manager
        .answer_challenge(
            &username,
            asked.session.expose(),
            ChallengeAnswer::code("112233"),
        )
        .await
        .unwrap();
    assert!(matches!(step, LogIn::Session(_)), "{step:?}");
}

#[tokio::test]
async fn an_altered_expired_or_borrowed_session_is_refused_before_cognito_is_asked() {
    let pool = Pool::new().await;
    let clock = TestClock::new();
    let username = invited(&pool).await;
    let other = invited(&pool).await;
    let manager = pool.manager(MemoryStore::new(), pool.config().with_clock(clock.get()));
    let asked = challenge(
        manager.login(&username, TEMPORARY).await.unwrap(),
        ChallengeName::NewPasswordRequired,
    );
    let sealed = asked.session.expose();
    let mut altered = sealed.to_owned();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    let answer = || ChallengeAnswer::new_password(CHOSEN);
    for (who, session, what) in [
        (username.as_str(), altered.as_str(), "altered"),
        (other.as_str(), sealed, "another user's"),
        (username.as_str(), "", "empty"),
        (username.as_str(), "not.a-session", "made up"),
    ] {
        match manager.answer_challenge(who, session, answer()).await {
            Err(SessionError::LogInExpired) => {}
            other => panic!("{what}: expected LogInExpired, got {other:?}"),
        }
    }
    clock.advance(Duration::from_secs(15 * 60 + 1));
    match manager.answer_challenge(&username, sealed, answer()).await {
        Err(SessionError::LogInExpired) => {}
        other => panic!("expired: expected LogInExpired, got {other:?}"),
    }
    assert_eq!(pool.calls.get("RespondToAuthChallenge"), 0);

    // Another instance with another key refuses it too; one with the same key takes it.
    let key = "k".repeat(32);
    let sealing = pool.manager_with(
        MemoryStore::new(),
        pool.config(),
        pool.settings().with_challenge_key(&key),
    );
    let sibling = |key: &str| {
        pool.manager_with(
            MemoryStore::new(),
            pool.config(),
            pool.settings().with_challenge_key(key),
        )
    };
    let asked = challenge(
        sealing.login(&other, TEMPORARY).await.unwrap(),
        ChallengeName::NewPasswordRequired,
    );
    match sibling(&"j".repeat(32))
        .answer_challenge(&other, asked.session.expose(), answer())
        .await
    {
        Err(SessionError::LogInExpired) => {}
        other => panic!("another key: expected LogInExpired, got {other:?}"),
    }
    let step = sibling(&key)
        .answer_challenge(&other, asked.session.expose(), answer())
        .await
        .unwrap();
    assert!(matches!(step, LogIn::Session(_)), "{step:?}");
}

#[tokio::test]
async fn cognitos_refusals_of_an_answer_are_told_apart() {
    let proxy = FaultProxy::start(common::moto_url()).await;
    let pool = Pool::create(&proxy.url, true).await;
    let username = invited(&pool).await;
    let manager = pool.manager(MemoryStore::new(), pool.config());
    let asked = challenge(
        manager.login(&username, TEMPORARY).await.unwrap(),
        ChallengeName::NewPasswordRequired,
    );
    type Expected = fn(&SessionError) -> bool;
    let cases: [(Fault, Expected); 6] = [
        (
            Fault::Error {
                kind: "CodeMismatchException",
                message: "Invalid code received for user",
            },
            |e| matches!(e, SessionError::InvalidCode),
        ),
        (
            Fault::Error {
                kind: "ExpiredCodeException",
                message: "Your code has expired",
            },
            |e| matches!(e, SessionError::InvalidCode),
        ),
        (
            Fault::Error {
                kind: "NotAuthorizedException",
                message: "Invalid session for the user, session is expired.",
            },
            |e| matches!(e, SessionError::LogInExpired),
        ),
        (
            Fault::Error {
                kind: "InvalidPasswordException",
                message: "Password does not conform to policy: Password not long enough",
            },
            |e| matches!(e, SessionError::PasswordRefused(m) if m == "Password does not conform to policy: Password not long enough"),
        ),
        (Fault::Throttle, |e| {
            matches!(e, SessionError::Unavailable(_))
        }),
        (Fault::ServerError, |e| {
            matches!(e, SessionError::Unavailable(_))
        }),
    ];
    for (fault, expected) in cases {
        proxy.fail("RespondToAuthChallenge", fault);
        let result = manager
            .answer_challenge(
                &username,
                asked.session.expose(),
                ChallengeAnswer::new_password(CHOSEN),
            )
            .await;
        match result {
            Err(e) if expected(&e) => {}
            other => panic!("{fault:?}: got {other:?}"),
        }
    }
    // What was sent: the user, SECRET_HASH, and the password under NEW_PASSWORD.
    let sent = proxy.bodies("RespondToAuthChallenge");
    let responses = &sent.last().unwrap()["ChallengeResponses"];
    assert_eq!(responses["USERNAME"], json!(username));
    assert_eq!(responses["NEW_PASSWORD"], json!(CHOSEN));
    assert!(responses["SECRET_HASH"].is_string());

    proxy.heal();
    let step = manager
        .answer_challenge(
            &username,
            asked.session.expose(),
            ChallengeAnswer::new_password(CHOSEN),
        )
        .await
        .unwrap();
    assert!(
        matches!(step, LogIn::Session(_)),
        "the challenge survives the refusals"
    );
}

#[tokio::test]
async fn challenges_moto_never_asks_are_answered_in_cognitos_words() {
    // SELECT_MFA_TYPE and EMAIL_OTP: moto never asks them, so the proxy plays Cognito's
    // answers, and the requests we send are checked.
    let proxy = FaultProxy::start(common::moto_url()).await;
    let pool = Pool::create(&proxy.url, false).await;
    let (username, password) = pool.user().await;
    let manager = pool.manager(MemoryStore::new(), pool.config());
    proxy.fail(
        "InitiateAuth",
        Fault::Answer(
            r#"{"ChallengeName":"SELECT_MFA_TYPE","Session":"cognito-session-1","ChallengeParameters":{"MFAS_CAN_CHOOSE":"[\"SMS_MFA\",\"EMAIL_OTP\"]","USER_ID_FOR_SRP":"internal-id"}}"#,
        ),
    );
    let select = challenge(
        manager.login(&username, &password).await.unwrap(),
        ChallengeName::SelectMfaType,
    );
    assert_eq!(
        select.parameters["MFAS_CAN_CHOOSE"],
        r#"["SMS_MFA","EMAIL_OTP"]"#
    );

    proxy.fail(
        "RespondToAuthChallenge",
        Fault::Answer(
            r#"{"ChallengeName":"EMAIL_OTP","Session":"cognito-session-2","ChallengeParameters":{"CODE_DELIVERY_DESTINATION":"a***@e***","CODE_DELIVERY_DELIVERY_MEDIUM":"EMAIL"}}"#,
        ),
    );
    let email = challenge(
        manager
            .answer_challenge(
                &username,
                select.session.expose(),
                ChallengeAnswer::MfaType(ChallengeName::EmailOtp),
            )
            .await
            .unwrap(),
        ChallengeName::EmailOtp,
    );
    assert_eq!(email.parameters["CODE_DELIVERY_DESTINATION"], "a***@e***");
    let sent = proxy.bodies("RespondToAuthChallenge");
    assert_eq!(sent[0]["ChallengeName"], "SELECT_MFA_TYPE");
    assert_eq!(sent[0]["Session"], "cognito-session-1");
    // USERNAME is Cognito's name for the user, from the challenge.
    assert_eq!(
        sent[0]["ChallengeResponses"],
        json!({"USERNAME": "internal-id", "ANSWER": "EMAIL_OTP"})
    );

    // Choosing a kind that isn't an MFA is refused here.
    match manager
        .answer_challenge(
            &username,
            select.session.expose(),
            ChallengeAnswer::MfaType(ChallengeName::MfaSetup),
        )
        .await
    {
        Err(SessionError::InvalidAnswer(_)) => {}
        other => panic!("expected InvalidAnswer, got {other:?}"),
    }

    proxy.fail(
        "RespondToAuthChallenge",
        Fault::Error {
            kind: "CodeMismatchException",
            message: "Invalid code received for user",
        },
    );
    match manager
        .answer_challenge(
            &username,
            email.session.expose(),
            ChallengeAnswer::code("000000"),
        )
        .await
    {
        Err(SessionError::InvalidCode) => {}
        other => panic!("expected InvalidCode, got {other:?}"),
    }
    let sent = proxy.bodies("RespondToAuthChallenge");
    let last = sent.last().unwrap();
    assert_eq!(last["ChallengeName"], "EMAIL_OTP");
    assert_eq!(last["Session"], "cognito-session-2");
    assert_eq!(last["ChallengeResponses"]["EMAIL_OTP_CODE"], "000000");
}

#[tokio::test]
async fn a_client_without_the_flow_is_named() {
    // moto does not enforce ExplicitAuthFlows: the proxy answers as Cognito does.
    let proxy = FaultProxy::start(common::moto_url()).await;
    let pool = Pool::create(&proxy.url, false).await;
    let (username, password) = pool.user().await;
    let manager = pool.manager(MemoryStore::new(), pool.config());
    proxy.fail(
        "InitiateAuth",
        Fault::Error {
            kind: "InvalidParameterException",
            message: "USER_PASSWORD_AUTH flow not enabled for this client",
        },
    );
    match manager.login(&username, &password).await {
        Err(
            e @ SessionError::FlowNotEnabled {
                flag: "ALLOW_USER_PASSWORD_AUTH",
            },
        ) => {
            assert!(e.to_string().contains("ALLOW_USER_PASSWORD_AUTH"), "{e}");
        }
        other => panic!("expected FlowNotEnabled, got {other:?}"),
    }
    // Another InvalidParameterException is no verdict on the client's flows.
    proxy.fail(
        "InitiateAuth",
        Fault::Error {
            kind: "InvalidParameterException",
            message: "something else",
        },
    );
    assert!(matches!(
        manager.login(&username, &password).await,
        Err(SessionError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_refresh_for_a_deleted_disabled_or_reset_user_ends_the_session() {
    let moto = common::moto_url();
    for (kind, message) in [
        ("UserNotFoundException", "User does not exist."),
        (
            "PasswordResetRequiredException",
            "Password reset required for the user",
        ),
        ("NotAuthorizedException", "User is disabled."),
    ] {
        let proxy = FaultProxy::start(moto.clone()).await;
        let pool = Pool::create(&proxy.url, true).await;
        let (username, password) = pool.user().await;
        let store = Arc::new(MemoryStore::new());
        let manager = pool.manager(store.clone(), pool.config());
        let session = logged_in(&manager, &username, &password).await;
        let key = session.user.session_key().to_owned();
        let token = age(&*store, &key, epoch(&std::time::SystemTime::now) - 60).await;
        proxy.fail("InitiateAuth", Fault::Error { kind, message });
        let reply = call(&app(&manager), &token, Via::Cookie).await;
        reply.assert_invalid(kind);
        assert!(
            store.load(&key, 0).await.unwrap().is_none(),
            "{kind}: session deleted"
        );
    }
}

/// `POST` `body` to the example server's `path`: status, JSON, and whether it set a cookie.
async fn post(base: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value, bool) {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let cookie = response.headers().contains_key("set-cookie");
    let (status, body) = json(response).await;
    (status, body, cookie)
}

#[tokio::test]
async fn the_example_server_walks_through_a_first_log_in_with_mfa() {
    // moto accepts any MFA code.
    let pool = Pool::new().await;
    require_totp(&pool).await;
    let username = invited(&pool).await;
    let server = start(&aws_env(&pool, &[]));
    let base = server.url.as_str();

    let (status, asked, cookie) = post(
        base,
        "/sessions",
        json!({"username": username, "password": TEMPORARY}),
    )
    .await;
    assert_eq!(
        (status, asked["challenge"].as_str(), cookie),
        (202, Some("NEW_PASSWORD_REQUIRED"), false),
        "{asked}"
    );
    let session = asked["session"].as_str().unwrap();
    assert!(asked["parameters"].is_object(), "{asked}");

    let answer = |extra: serde_json::Value| {
        let mut body = json!({"username": username, "session": session});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    // Bad answers: the policy's refusal, a tampered session, another user, no answer.
    let (status, refused, _) = post(
        base,
        "/sessions/challenge",
        answer(json!({"newPassword": "weakling"})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"].as_str().is_some_and(|m| !m.is_empty()),
        "{refused}"
    );
    let (status, expired, _) = post(
        base,
        "/sessions/challenge",
        json!({"username": username, "session": format!("{session}x"), "newPassword": CHOSEN}),
    )
    .await;
    assert_eq!(
        (status, expired),
        (401, json!({"error": "Log-in expired, start again."}))
    );
    let (status, expired, _) = post(
        base,
        "/sessions/challenge",
        json!({"username": "someone-else", "session": session, "newPassword": CHOSEN}),
    )
    .await;
    assert_eq!(
        (status, expired),
        (401, json!({"error": "Log-in expired, start again."}))
    );
    let (status, _, _) = post(base, "/sessions/challenge", answer(json!({}))).await;
    assert_eq!(status, 400);
    let (status, _, _) = post(base, "/sessions/challenge", json!({"session": session})).await;
    assert_eq!(status, 400);

    let (status, setup, cookie) = post(
        base,
        "/sessions/challenge",
        answer(json!({"newPassword": CHOSEN})),
    )
    .await;
    assert_eq!(
        (status, setup["challenge"].as_str(), cookie),
        (202, Some("MFA_SETUP"), false),
        "{setup}"
    );
    assert!(setup["parameters"]["SECRET_CODE"].is_string(), "{setup}");
    let setup_session = setup["session"].as_str().unwrap();

    let (status, done, cookie) = post(
        base,
        "/sessions/challenge",
        json!({"username": username, "session": setup_session, "code": "123456"}),
    )
    .await;
    assert_eq!((status, cookie), (200, true), "{done}");
    let token = done["sessionId"].as_str().unwrap();
    let me = reqwest::Client::new()
        .get(format!("{base}/sessions"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(json(me).await, (200, json!({"username": username})));

    // The next log-in asks the app's code.
    let (status, asked, _) = post(
        base,
        "/sessions",
        json!({"username": username, "password": CHOSEN}),
    )
    .await;
    assert_eq!(
        (status, asked["challenge"].as_str()),
        (202, Some("SOFTWARE_TOKEN_MFA")),
        "{asked}"
    );
    let (status, done, cookie) = post(
        base,
        "/sessions/challenge",
        json!({"username": username, "session": asked["session"], "code": "654321"}),
    )
    .await;
    assert_eq!((status, cookie), (200, true), "{done}");
}

// Multi-threaded: the proxy must answer while the server starts (it fetches the keys).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_server_says_invalid_code() {
    let proxy = FaultProxy::start(common::moto_url()).await;
    let pool = Pool::create(&proxy.url, false).await;
    let username = invited(&pool).await;
    let mut env = aws_env(&pool, &[]);
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER");
    env.push((
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
        proxy.url.clone(),
    ));
    let server = start(&env);
    let base = server.url.as_str();
    proxy.fail(
        "InitiateAuth",
        Fault::Answer(
            r#"{"ChallengeName":"SMS_MFA","Session":"cognito-session","ChallengeParameters":{"CODE_DELIVERY_DESTINATION":"+*******1234"}}"#,
        ),
    );
    let (status, asked, _) = post(
        base,
        "/sessions",
        json!({"username": username, "password": TEMPORARY}),
    )
    .await;
    assert_eq!(status, 202, "{asked}");
    assert_eq!(
        asked["parameters"]["CODE_DELIVERY_DESTINATION"],
        "+*******1234"
    );
    proxy.fail(
        "RespondToAuthChallenge",
        Fault::Error {
            kind: "CodeMismatchException",
            message: "Invalid code received for user",
        },
    );
    let (status, wrong, _) = post(
        base,
        "/sessions/challenge",
        json!({"username": username, "session": asked["session"], "code": "000000"}),
    )
    .await;
    assert_eq!((status, wrong), (401, json!({"error": "Invalid code."})));
}

#[tokio::test]
async fn mfa_setup_without_an_authenticator_app_on_offer_is_a_configuration_error() {
    // moto only offers what the pool enables; the proxy plays a pool offering email only.
    let proxy = FaultProxy::start(common::moto_url()).await;
    let pool = Pool::create(&proxy.url, false).await;
    let (username, password) = pool.user().await;
    let manager = pool.manager(MemoryStore::new(), pool.config());
    proxy.fail(
        "InitiateAuth",
        Fault::Answer(
            r#"{"ChallengeName":"MFA_SETUP","Session":"cognito-session","ChallengeParameters":{"MFAS_CAN_SETUP":"[\"EMAIL_OTP\"]"}}"#,
        ),
    );
    match manager.login(&username, &password).await {
        Err(SessionError::Unavailable(e)) => {
            assert!(e.to_string().contains("SOFTWARE_TOKEN_MFA"), "{e}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(pool.calls.get("AssociateSoftwareToken"), 0);
}
