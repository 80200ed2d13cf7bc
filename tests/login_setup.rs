//! What a log-in setup gets wrong, told clearly: the app client's authentication flows
//! checked at start (`SessionManager::check_app_client`, and the example server refusing to
//! start), and log-ins of users who must reset their password or confirm their account.
//!
//! moto stores and returns `ExplicitAuthFlows` but does not enforce them: the check reads
//! them with `DescribeUserPoolClient`, so moto serves for it.
#![cfg(feature = "cognito")]

mod common;

use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType as Flag;
use cognito_session::cognito::AppClientCheck;
use cognito_session::cognito::{AuthFlow, CognitoSettings};
use cognito_session::store::MemoryStore;
use cognito_session::{SessionConfig, SessionError};
use common::cognito::Pool;
use common::proxy::{Fault, FaultProxy};
use common::server::{aws_env, json, start, start_failure};
use serde_json::json;

const PASSWORD: &str = "Correct-Horse-9-Battery";

/// A new app client of `pool` (without a secret) allowing `flags`; its id.
async fn app_client(pool: &Pool, flags: &[Flag]) -> String {
    let created = pool
        .client
        .create_user_pool_client()
        .user_pool_id(&pool.pool_id)
        .client_name(common::unique("client"))
        .set_explicit_auth_flows(Some(flags.to_vec()))
        .send()
        .await
        .expect("CreateUserPoolClient");
    created
        .user_pool_client()
        .unwrap()
        .client_id()
        .unwrap()
        .to_owned()
}

/// `pool`'s settings for the app client `client_id` and `flow`.
fn settings_for(pool: &Pool, client_id: &str, flow: AuthFlow) -> CognitoSettings {
    pool.settings_for(client_id).with_auth_flow(flow)
}

async fn check(
    pool: &Pool,
    client_id: &str,
    flow: AuthFlow,
) -> Result<AppClientCheck, SessionError> {
    let manager = pool.manager_with(
        MemoryStore::new(),
        SessionConfig::default(),
        settings_for(pool, client_id, flow),
    );
    manager.check_app_client().await
}

#[tokio::test]
async fn a_client_that_allows_the_flow_and_refresh_is_ready() {
    let pool = Pool::new().await; // ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH
    let manager = pool.manager(MemoryStore::new(), pool.config());
    assert_eq!(
        manager.check_app_client().await.unwrap(),
        AppClientCheck::Ready
    );

    let console = app_client(
        &pool,
        &[Flag::AllowUserSrpAuth, Flag::AllowRefreshTokenAuth],
    )
    .await;
    assert_eq!(
        check(&pool, &console, AuthFlow::Srp).await.unwrap(),
        AppClientCheck::Ready
    );
}

#[tokio::test]
async fn a_client_without_the_flag_is_named() {
    let pool = Pool::new().await;
    // A client as the console makes them: SRP, not the password flow.
    let console = app_client(
        &pool,
        &[Flag::AllowUserSrpAuth, Flag::AllowRefreshTokenAuth],
    )
    .await;
    match check(&pool, &console, AuthFlow::Password).await {
        Err(SessionError::FlowNotEnabled { flag }) => assert_eq!(flag, "ALLOW_USER_PASSWORD_AUTH"),
        other => panic!("{other:?}"),
    }
    let password_only = app_client(
        &pool,
        &[Flag::AllowUserPasswordAuth, Flag::AllowRefreshTokenAuth],
    )
    .await;
    match check(&pool, &password_only, AuthFlow::Srp).await {
        Err(SessionError::FlowNotEnabled { flag }) => assert_eq!(flag, "ALLOW_USER_SRP_AUTH"),
        other => panic!("{other:?}"),
    }
    // Log-in works, but the first refresh would be refused.
    let no_refresh = app_client(&pool, &[Flag::AllowUserPasswordAuth]).await;
    match check(&pool, &no_refresh, AuthFlow::Password).await {
        Err(SessionError::FlowNotEnabled { flag }) => assert_eq!(flag, "ALLOW_REFRESH_TOKEN_AUTH"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_client_is_a_configuration_error() {
    let pool = Pool::new().await;
    let result = check(&pool, "no-such-client-id", AuthFlow::Password).await;
    assert!(
        matches!(result, Err(SessionError::UnknownAppClient)),
        "{result:?}"
    );
}

#[tokio::test]
async fn credentials_that_may_not_ask_make_it_unknown_not_a_failure() {
    let proxy = FaultProxy::start(common::moto_url()).await;
    let pool = Pool::create(&proxy.url, false).await;
    let manager = pool.manager(MemoryStore::new(), pool.config());
    proxy.fail(
        "DescribeUserPoolClient",
        Fault::Error {
            kind: "AccessDeniedException",
            message: "User: arn:aws:iam::123456789012:user/app is not authorized to perform: cognito-idp:DescribeUserPoolClient",
        },
    );
    match manager.check_app_client().await {
        Ok(AppClientCheck::Unknown { reason }) => {
            assert!(reason.contains("AccessDeniedException"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Cognito unavailable: can't tell either.
    proxy.fail("DescribeUserPoolClient", Fault::ServerError);
    assert!(
        matches!(
            manager.check_app_client().await,
            Ok(AppClientCheck::Unknown { .. })
        ),
        "a 500"
    );
}

#[tokio::test]
async fn the_example_server_refuses_to_start_naming_the_flag() {
    let pool = Pool::new().await;
    let console = app_client(
        &pool,
        &[Flag::AllowUserSrpAuth, Flag::AllowRefreshTokenAuth],
    )
    .await;
    let env = aws_env(&pool, &[("CLIENT_ID", console.clone())]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = start_failure(&env);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.contains("ALLOW_USER_PASSWORD_AUTH") && line.contains("COGNITO_AUTH_FLOW"),
        "{line}"
    );

    // The same client with the SRP flow: the server starts.
    let server = start(&aws_env(
        &pool,
        &[("CLIENT_ID", console), ("COGNITO_AUTH_FLOW", "srp".into())],
    ));
    let page = reqwest::get(format!("{}/", server.url)).await.unwrap();
    assert_eq!(page.status(), 200);
}

// Multi-threaded: the proxy must answer while `start` blocks waiting for the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_server_starts_when_it_cant_tell() {
    let proxy = FaultProxy::start(common::moto_url()).await;
    let pool = Pool::create(&proxy.url, false).await;
    pool.add_user("unchecked", PASSWORD).await;
    proxy.fail(
        "DescribeUserPoolClient",
        Fault::Error {
            kind: "AccessDeniedException",
            message: "not authorized to perform: cognito-idp:DescribeUserPoolClient",
        },
    );
    let server = start(&aws_env(
        &pool,
        &[(
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            proxy.url.clone(),
        )],
    ));
    assert_eq!(proxy.bodies("DescribeUserPoolClient").len(), 1, "it asked");
    let response = reqwest::Client::new()
        .post(format!("{}/sessions", server.url))
        .json(&json!({"username": "unchecked", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Cognito's `PASSWORD_VERIFIER` challenge, as the proxy plays it.
fn password_verifier() -> &'static str {
    use base64::Engine as _;
    let body = json!({
        "ChallengeName": "PASSWORD_VERIFIER",
        "Session": "cognito-challenge-session",
        "ChallengeParameters": {
            "USER_ID_FOR_SRP": "resetting",
            "USERNAME": "resetting",
            "SALT": "5d0f1a2b3c4d5e6f708192a3b4c5d6e7",
            "SRP_B": "7f".repeat(192),
            "SECRET_BLOCK": base64::engine::general_purpose::STANDARD.encode(b"a secret block"),
        }
    });
    Box::leak(body.to_string().into_boxed_str())
}

/// A user who signed up and never confirmed (moto keeps such users `UNCONFIRMED`, and
/// answers their log-in with `UserNotConfirmedException` once the password is right).
async fn unconfirmed(pool: &Pool) -> String {
    let username = common::unique("unconfirmed");
    pool.client
        .sign_up()
        .client_id(&pool.client_id)
        .username(&username)
        .password(PASSWORD)
        .send()
        .await
        .expect("SignUp");
    username
}

#[tokio::test]
async fn an_unconfirmed_user_is_told_to_confirm() {
    let pool = Pool::new().await;
    let username = unconfirmed(&pool).await;
    let manager = pool.manager(MemoryStore::new(), pool.config());
    let result = manager.login(&username, PASSWORD).await;
    assert!(
        matches!(result, Err(SessionError::UserNotConfirmed)),
        "{result:?}"
    );

    let server = start(&aws_env(&pool, &[]));
    let response = reqwest::Client::new()
        .post(format!("{}/sessions", server.url))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(
        json(response).await,
        (
            403,
            json!({"error": "Account not confirmed: confirm it with the code you were sent, then log in."})
        )
    );
}

// Multi-threaded: the proxy must answer while `start` blocks waiting for the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_must_reset_their_password_is_told_so() {
    // moto does not refuse a log-in of a user whose password an administrator reset, so
    // Cognito's answer comes from the proxy, in AWS's shape.
    let proxy = FaultProxy::start(common::moto_url()).await;
    let pool = Pool::create(&proxy.url, true).await;
    pool.add_user("resetting", PASSWORD).await;
    let reset = Fault::Error {
        kind: "PasswordResetRequiredException",
        message: "Password reset required for the user",
    };
    for flow in [AuthFlow::Password, AuthFlow::Srp] {
        let settings = pool.settings().with_auth_flow(flow);
        let manager = pool.manager_with(MemoryStore::new(), pool.config(), settings);
        proxy.fail("InitiateAuth", reset);
        let result = manager.login("resetting", PASSWORD).await;
        assert!(
            matches!(result, Err(SessionError::PasswordResetRequired)),
            "{flow:?}: {result:?}"
        );
        // SRP: Cognito may say so only once the password proof is in. (moto's own
        // PASSWORD_VERIFIER can't be signed, its SECRET_BLOCK not being base64: see
        // tests/srp_login.rs. The proxy plays it.)
        if flow == AuthFlow::Srp {
            proxy.fail("InitiateAuth", Fault::Answer(password_verifier()));
            proxy.fail("RespondToAuthChallenge", reset);
            let result = manager.login("resetting", PASSWORD).await;
            assert!(
                matches!(result, Err(SessionError::PasswordResetRequired)),
                "{result:?}"
            );
        }
        proxy.heal();
    }

    proxy.fail("InitiateAuth", reset);
    let server = start(&aws_env(
        &pool,
        &[(
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            proxy.url.clone(),
        )],
    ));
    let response = reqwest::Client::new()
        .post(format!("{}/sessions", server.url))
        .json(&json!({"username": "resetting", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(response).await,
        (
            403,
            json!({"error": "Password reset required: reset your password, then log in."})
        )
    );
}
