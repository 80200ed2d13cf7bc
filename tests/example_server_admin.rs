//! The example server's `GET /admin` in AWS mode (DynamoDB Local, moto as Cognito): the
//! group comes from `cognito:groups` in the access token, kept in the session row, and a
//! change in the pool takes effect at the next refresh.

mod common;

use std::time::Duration;

use common::cognito::Pool;
use common::server::{aws_env, json, start};
use serde_json::json;

const PASSWORD: &str = "Sup3r-Secret!";

async fn log_in(base: &str, username: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/sessions"))
        .json(&json!({ "username": username, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body["sessionId"].as_str().unwrap().to_owned()
}

/// `GET /admin` with `token` as the cookie: status, body, and the refreshed token if any.
async fn admin(base: &str, token: &str) -> (u16, serde_json::Value, Option<String>) {
    let response = reqwest::Client::new()
        .get(format!("{base}/admin"))
        .header("cookie", format!("token={token}"))
        .send()
        .await
        .unwrap();
    let new_token = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|c| common::cookie_token(c.to_str().unwrap()));
    let (status, body) = json(response).await;
    (status, body, new_token)
}

#[tokio::test]
async fn admin_needs_the_group_and_a_removal_takes_effect_at_the_refresh() {
    let pool = Pool::new().await;
    pool.add_user("boss", PASSWORD).await;
    for name in ["admins", "staff"] {
        pool.create_group(name).await;
    }
    for name in ["admins", "staff"] {
        pool.add_to_group("boss", name).await;
    }
    // moto's tokens live 3600 s: with a 3595 s window they are due five seconds after issue.
    let server = start(&aws_env(&pool, &[("REFRESH_BEFORE_SECS", "3595".into())]));
    let token = log_in(&server.url, "boss").await;
    let (status, mut body, _) = admin(&server.url, &token).await;
    // moto lists a user's groups in no fixed order.
    if let Some(groups) = body["groups"].as_array_mut() {
        groups.sort_by_key(|g| g.to_string());
    }
    assert_eq!(
        (status, body),
        (
            200,
            json!({ "username": "boss", "groups": ["admins", "staff"] })
        )
    );

    pool.remove_from_group("boss", "admins").await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (status, body, refreshed) = admin(&server.url, &token).await;
    assert_eq!(
        (status, body),
        (403, json!({ "error": "Insufficient permissions." }))
    );
    let refreshed = refreshed.expect("the refresh that brought the change sets the cookie");
    let me = reqwest::Client::new()
        .get(format!("{}/sessions", server.url))
        .bearer_auth(&refreshed)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(me).await,
        (200, json!({ "username": "boss" })),
        "still logged in"
    );
}

#[tokio::test]
async fn admin_group_names_the_group_and_other_members_get_403() {
    let pool = Pool::new().await;
    for name in ["ops", "admins"] {
        pool.create_group(name).await;
    }
    for (user, member_of) in [("operator", "ops"), ("admin", "admins")] {
        pool.add_user(user, PASSWORD).await;
        pool.add_to_group(user, member_of).await;
    }
    pool.add_user("loner", PASSWORD).await;
    let server = start(&aws_env(&pool, &[("ADMIN_GROUP", "ops".into())]));
    for (user, expected) in [
        (
            "operator",
            (200, json!({ "username": "operator", "groups": ["ops"] })),
        ),
        (
            "admin",
            (403, json!({ "error": "Insufficient permissions." })),
        ),
        (
            "loner",
            (403, json!({ "error": "Insufficient permissions." })),
        ),
    ] {
        let token = log_in(&server.url, user).await;
        let (status, body, _) = admin(&server.url, &token).await;
        assert_eq!((status, body), expected, "{user}");
    }
    let anonymous = reqwest::get(format!("{}/admin", server.url)).await.unwrap();
    assert_eq!(anonymous.status(), 401);
}
