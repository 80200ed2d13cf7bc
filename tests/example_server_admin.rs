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

/// #24, finding 1: someone who can write the session table but not read
/// `SESSION_ENCRYPTION_KEY` can't make a session with the groups of their choice, nor raise
/// a real session's groups. Both answered 200 on `GET /admin` before rows were signed; now
/// each row is refused (401), counted, and the user's own requests get a 401 as well.
#[tokio::test]
async fn rows_written_or_edited_without_the_key_are_no_session() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use cognito_session::store::TokenHash;

    let pool = Pool::new().await;
    pool.create_group("admins").await;
    pool.add_user("boss", PASSWORD).await;
    let env = aws_env(&pool, &[("METRICS", "true".into())]);
    let table = env
        .iter()
        .find(|(k, _)| *k == "SESSION_TABLE")
        .unwrap()
        .1
        .clone();
    let server = start(&env);
    let token = log_in(&server.url, "boss").await;
    assert_eq!(admin(&server.url, &token).await.0, 403, "not an admin");
    let dynamo = common::dynamo::client(
        &common::dynamodb_local_url(),
        "test",
        Duration::from_secs(30),
    );
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: u64| AttributeValue::N(v.to_string());

    // A row of the writer's own making, for a token of their choosing, as the book's layout
    // has it.
    let forged = "forgedforgedforgedforgedforgedforgedforged-";
    let hash = TokenHash::of(forged).to_hex();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    dynamo
        .put_item()
        .table_name(&table)
        .item("SessionToken", s(&hash))
        .item("username", s("alice"))
        .item("token_hash", s(&hash))
        .item("groups", AttributeValue::L(vec![s("admins")]))
        .item("created_at", n(now))
        .item("last_seen_at", n(now))
        .item("refreshed_at", n(now))
        .item("expires_at", n(now + 3600))
        .item("version", n(0))
        .send()
        .await
        .unwrap();
    let (status, body, _) = admin(&server.url, forged).await;
    assert_eq!(
        (status, body),
        (401, json!({ "error": "Session does not exist." }))
    );

    // The real session, raised to `admins` in the table.
    let rows = dynamo.scan().table_name(&table).send().await.unwrap();
    let mut row = rows
        .items()
        .iter()
        .find(|item| item.get("username") == Some(&s("boss")))
        .expect("boss's session row")
        .clone();
    assert!(row.contains_key("mac"), "every row is signed");
    row.insert("groups".into(), AttributeValue::L(vec![s("admins")]));
    dynamo
        .put_item()
        .table_name(&table)
        .set_item(Some(row))
        .send()
        .await
        .unwrap();
    let (status, body, _) = admin(&server.url, &token).await;
    assert_eq!(
        (status, body),
        (401, json!({ "error": "Session does not exist." }))
    );

    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in ["unsigned", "invalid"] {
        let line = format!("cognito_session_rows_refused_total{{reason=\"{reason}\"}} 1");
        assert!(metrics.contains(&line), "{line} in:\n{metrics}");
    }
}
