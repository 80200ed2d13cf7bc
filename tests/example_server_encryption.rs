//! The example server's session table encryption, as `SESSION_ENCRYPTION_KEY` and
//! `ALLOW_PLAINTEXT_TOKENS` set it: the real binary on DynamoDB Local and moto.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use common::cognito::Pool;
use common::server::{assert_refused_naming, aws_env, log_in, start};

const PASSWORD: &str = "Sup3r-Secret!";

/// The one item of the server's fresh table.
async fn only_item(env: &[(&'static str, String)]) -> HashMap<String, AttributeValue> {
    let table = &env.iter().find(|(k, _)| *k == "SESSION_TABLE").unwrap().1;
    let client = common::dynamo::client(
        &common::dynamodb_local_url(),
        "test",
        Duration::from_secs(3),
    );
    let items = client
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    assert_eq!(items.len(), 1, "{table}");
    items.into_iter().next().unwrap()
}

fn holds(item: &HashMap<String, AttributeValue>, text: &str) -> bool {
    item.values().any(|value| {
        let raw = match value {
            AttributeValue::B(blob) => blob.as_ref().to_vec(),
            other => format!("{other:?}").into_bytes(),
        };
        raw.windows(text.len()).any(|w| w == text.as_bytes())
    })
}

#[tokio::test]
async fn cognito_on_dynamodb_without_a_key_does_not_start() {
    let pool = Pool::new().await;
    // An empty variable counts as unset.
    for (extra, variable) in [
        (
            vec![("SESSION_ENCRYPTION_KEY", String::new())],
            "SESSION_ENCRYPTION_KEY",
        ),
        (
            vec![
                ("SESSION_ENCRYPTION_KEY", String::new()),
                ("ALLOW_PLAINTEXT_TOKENS", "false".into()),
            ],
            "SESSION_ENCRYPTION_KEY",
        ),
        (
            vec![("SESSION_ENCRYPTION_KEY", "c2hvcnQ=".into())],
            "SESSION_ENCRYPTION_KEY",
        ),
        (
            vec![("ALLOW_PLAINTEXT_TOKENS", "maybe".into())],
            "ALLOW_PLAINTEXT_TOKENS",
        ),
        // Plaintext tokens allowed, but the rows would be unsigned.
        (
            vec![
                ("SESSION_ENCRYPTION_KEY", String::new()),
                ("ALLOW_PLAINTEXT_TOKENS", "true".into()),
            ],
            "SESSION_ENCRYPTION_KEY",
        ),
    ] {
        let env = aws_env(&pool, &extra);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_refused_naming(&env, variable);
    }
}

#[tokio::test]
async fn with_a_key_the_tokens_are_sealed_under_its_id() {
    let pool = Pool::new().await;
    pool.add_user("sealed", PASSWORD).await;
    let rotated = format!(
        "2:{},1:{}",
        common::dynamo::TEST_KEY_BASE64,
        "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
    );
    let env = aws_env(&pool, &[("SESSION_ENCRYPTION_KEY", rotated)]);
    let server = start(&env);
    let token = log_in(&server.url, "sealed", PASSWORD).await;

    let item = only_item(&env).await;
    for name in ["access_token", "refresh_token"] {
        let Some(AttributeValue::B(sealed)) = item.get(name) else {
            panic!("{name} is not binary: {:?}", item.get(name).map(|_| "?"));
        };
        assert_eq!(
            sealed.as_ref()[..2],
            [0xE1, 2],
            "{name}: format, newest key id"
        );
    }
    assert!(!holds(&item, &token), "the access token is in the table");
    assert!(!holds(&item, &token[token.len() - 20..]));
    let me = reqwest::Client::new()
        .get(format!("{}/sessions", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

#[tokio::test]
async fn plaintext_only_when_explicitly_allowed() {
    let pool = Pool::new().await;
    pool.add_user("plain", PASSWORD).await;
    let env = aws_env(
        &pool,
        &[
            ("SESSION_ENCRYPTION_KEY", String::new()),
            ("ALLOW_PLAINTEXT_TOKENS", "true".into()),
            ("ALLOW_UNSIGNED_ROWS", "true".into()),
        ],
    );
    let server = start(&env);
    let token = log_in(&server.url, "plain", PASSWORD).await;
    let item = only_item(&env).await;
    assert_eq!(item.get("access_token"), Some(&AttributeValue::S(token)));
    assert!(item.get("refresh_token").is_some_and(AttributeValue::is_s));
    assert!(!item.contains_key("mac"), "nothing to sign with");
}
