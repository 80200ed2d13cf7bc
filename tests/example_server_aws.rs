//! The example server in AWS mode, as `scripts/dev-aws` runs it: the real binary with its
//! sessions in DynamoDB Local and Cognito played by moto, driven over HTTP.

mod common;

use std::time::Duration;

use common::cognito::Pool;
use common::server::{
    assert_refused_naming, aws_env, cookie_flow, curl_flow, free_port, json, log_in,
    my_sessions_flow, start,
};
use serde_json::json;

const PASSWORD: &str = "Sup3r-Secret!";

async fn pool_with_user(username: &str, with_secret: bool) -> Pool {
    let pool = if with_secret {
        Pool::with_secret().await
    } else {
        Pool::new().await
    };
    pool.add_user(username, PASSWORD).await;
    pool
}

#[tokio::test]
async fn the_books_curl_flow_with_cognito_and_dynamodb() {
    let pool = pool_with_user("myuser", false).await;
    let server = start(&aws_env(&pool, &[]));
    let token = curl_flow(&server.url, "myuser", PASSWORD).await;
    assert_eq!(
        token.split('.').count(),
        3,
        "the session id is the Cognito access token"
    );
}

/// The list of a user's sessions, on DynamoDB Local (the username index, then the items) with
/// Cognito log-ins; each of the three log-ins is a session of its own (keyed by `origin_jti`).
#[tokio::test]
async fn a_user_lists_their_sessions_and_ends_them() {
    let pool = pool_with_user("alice", false).await;
    pool.add_user("bob", PASSWORD).await;
    let server = start(&aws_env(&pool, &[]));
    my_sessions_flow(&server.url, ("alice", "bob"), PASSWORD, "password").await;
}

#[tokio::test]
async fn a_user_pool_without_a_table_says_sessions_stay_in_this_process() {
    let pool = pool_with_user("alone", false).await;
    // A port already taken: the server gets as far as listening, then stops, so its
    // start-up output can be read.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    let env: Vec<(&str, String)> = aws_env(&pool, &[])
        .into_iter()
        .filter(|(k, _)| *k != "SESSION_TABLE")
        .chain([("BIND", bind)])
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = common::server::start_failure(&env);
    let said = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("sessions are kept in this process only"),
        "{said}"
    );
    assert!(said.contains("cannot listen on"), "{said}");
}

#[tokio::test]
async fn cookie_flow_with_a_client_secret() {
    let pool = pool_with_user("cookie-user", true).await;
    assert!(pool.client_secret.is_some());
    let server = start(&aws_env(&pool, &[]));
    cookie_flow(&server.url, "cookie-user", PASSWORD).await;
}

#[tokio::test]
async fn a_token_due_for_refresh_gets_a_new_cookie_that_works() {
    let pool = pool_with_user("refresher", true).await;
    // moto's tokens live 3600 s: with a 3595 s window they are due five seconds after issue.
    let server = start(&aws_env(&pool, &[("REFRESH_BEFORE_SECS", "3595".into())]));
    let base = &server.url;
    let client = reqwest::Client::new();
    let first = log_in(base, "refresher", PASSWORD).await;

    let fresh = client
        .get(format!("{base}/sessions"))
        .header("cookie", format!("token={first}"))
        .send()
        .await
        .unwrap();
    assert!(fresh.headers().get("set-cookie").is_none(), "not due yet");

    tokio::time::sleep(Duration::from_secs(6)).await;
    let due = client
        .get(format!("{base}/sessions"))
        .header("cookie", format!("token={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(due.status(), 200);
    let set_cookie = due.headers()["set-cookie"].to_str().unwrap().to_owned();
    let second = common::cookie_token(&set_cookie).unwrap();
    assert_ne!(second, first);
    assert_eq!(second.split('.').count(), 3);

    let next = client
        .get(format!("{base}/sessions"))
        .header("cookie", format!("token={second}"))
        .send()
        .await
        .unwrap();
    assert_eq!(json(next).await, (200, json!({"username": "refresher"})));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_one_answer() {
    let pool = pool_with_user("known", false).await;
    let server = start(&aws_env(&pool, &[]));
    let client = reqwest::Client::new();
    for (user, password) in [("known", "wrong-password"), ("nobody", PASSWORD)] {
        let response = client
            .post(format!("{}/sessions", server.url))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert!(response.headers().get("set-cookie").is_none());
        assert_eq!(
            json(response).await,
            (401, json!({"error": "Invalid username or password."})),
            "{user}"
        );
    }
}

#[tokio::test]
async fn unreachable_aws_is_reported_at_start() {
    // (A pool that doesn't exist is caught by the same key fetch on real Cognito, which
    // answers 404; moto serves its one key set for any pool id, so it can't be tested here.)
    let pool = Pool::new().await;
    let closed = format!("http://127.0.0.1:{}", free_port());
    let cases: Vec<(Vec<(&'static str, String)>, &str)> = vec![
        (
            aws_env(&pool, &[("AWS_ENDPOINT_URL_DYNAMODB", closed.clone())]),
            "SESSION_TABLE",
        ),
        (
            aws_env(
                &pool,
                &[("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", closed.clone())],
            ),
            "USER_POOL_ID",
        ),
    ];
    for (env, variable) in cases {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_refused_naming(&env, variable);
    }
}

#[tokio::test]
async fn the_table_is_created_when_missing_and_reused_after_a_restart() {
    let pool = pool_with_user("twice", false).await;
    let env = aws_env(&pool, &[]);
    let token = {
        let server = start(&env);
        log_in(&server.url, "twice", PASSWORD).await
    };
    // A second instance on the same table sees the session the first one stored.
    let server = start(&env);
    let me = reqwest::Client::new()
        .get(format!("{}/sessions", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(json(me).await, (200, json!({"username": "twice"})));
}

/// A refresh token of `username` obtained straight from Cognito, outside the server: another
/// device of the same user.
async fn other_device(pool: &Pool, username: &str) -> String {
    use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
    let answer = pool
        .client
        .initiate_auth()
        .client_id(&pool.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap();
    answer.authentication_result.unwrap().refresh_token.unwrap()
}

async fn refresh_works(pool: &Pool, refresh_token: &str) -> bool {
    use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
    pool.client
        .initiate_auth()
        .client_id(&pool.client_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", refresh_token)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn delete_signs_the_user_out_of_cognito_when_configured_to() {
    for global in [false, true] {
        let pool = pool_with_user("everywhere", false).await;
        let server = start(&aws_env(
            &pool,
            &[("COGNITO_GLOBAL_SIGN_OUT", global.to_string())],
        ));
        let device = other_device(&pool, "everywhere").await;
        let token = log_in(&server.url, "everywhere", PASSWORD).await;
        let deleted = reqwest::Client::new()
            .delete(format!("{}/sessions/everywhere", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 200);
        assert_eq!(
            refresh_works(&pool, &device).await,
            !global,
            "COGNITO_GLOBAL_SIGN_OUT={global}: the other device's refresh token"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_while_cognito_is_unreachable_is_503() {
    let moto = common::private::Private::moto().await;
    let pool = common::cognito::Pool::create(&moto.url, false).await;
    let (username, password) = pool.user().await;
    let server = start(&aws_env(
        &pool,
        &[(
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            moto.url.clone(),
        )],
    ));
    moto.pause();
    let response = reqwest::Client::new()
        .post(format!("{}/sessions", server.url))
        .json(&json!({"username": username, "password": password}))
        .timeout(std::time::Duration::from_secs(20))
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("set-cookie").is_none());
    let (status, body) = json(response).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("unavailable"),
        "{body}"
    );
    moto.resume();
}

/// `SESSION_CACHE_SECS` puts a read cache in front of the table: a log-out made by another
/// instance (here, straight on the table) is not seen within the interval, one made through
/// this server is seen at once.
#[tokio::test]
async fn session_cache_secs_answers_from_memory_for_that_long() {
    use cognito_session::store::SessionStore;
    use cognito_session::store::dynamodb::TableSettings;

    let pool = pool_with_user("cacheduser", false).await;
    let env = aws_env(&pool, &[("SESSION_CACHE_SECS", "300".into())]);
    let server = start(&env);
    let client = reqwest::Client::new();
    let token = log_in(&server.url, "cacheduser", PASSWORD).await;
    let me = || async {
        let reply = client
            .get(format!("{}/sessions", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        reply.status().as_u16()
    };
    assert_eq!(me().await, 200);

    let table = env.iter().find(|(k, _)| *k == "SESSION_TABLE").unwrap();
    let other_instance = common::dynamo::store(
        common::dynamo::client(
            &common::dynamodb_local_url(),
            "test",
            Duration::from_secs(3),
        ),
        TableSettings::new(table.1.clone()),
    );
    assert_eq!(other_instance.delete_user("cacheduser").await.unwrap(), 1);
    assert_eq!(me().await, 200, "answered from the cache");

    let bye = client
        .delete(format!("{}/sessions/cacheduser", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bye.status(), 200);
    assert_eq!(
        me().await,
        401,
        "ended through this server: refused at once"
    );
}
