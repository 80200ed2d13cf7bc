//! Optional ID-token claims (`CognitoSettings::with_id_token_claims`) against moto: its ID
//! tokens carry the attributes the app client may read (`ReadAttributes`) and every
//! `custom:` attribute; the chosen ones land in the session, at log-in and at each refresh.
#![cfg(feature = "cognito")]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, ExplicitAuthFlowsType as Flag, MessageActionType, SchemaAttributeType,
};
use cognito_session::cognito::CognitoSettings;
use cognito_session::store::MemoryStore;
use cognito_session::{CurrentUser, SessionConfig, SessionError, SessionManager};
use common::cognito::{Pool, age, claims_of, forge};
use common::proxy::{Fault, FaultProxy};
use serde_json::json;

const PASSWORD: &str = "Correct-Horse-9-Battery";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn attribute(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap()
}

/// A pool with a `custom:team` attribute, an app client that may read `email` and `name`,
/// and a user who has all three: (the pool, that client's id, the username).
async fn pool_with_attributes(url: &str) -> (Pool, String, String) {
    let pool = Pool::create(url, false).await;
    pool.client
        .add_custom_attributes()
        .user_pool_id(&pool.pool_id)
        .custom_attributes(
            SchemaAttributeType::builder()
                .name("team")
                .attribute_data_type("String".into())
                .mutable(true)
                .build(),
        )
        .send()
        .await
        .expect("AddCustomAttributes");
    let client_id = pool
        .client
        .create_user_pool_client()
        .user_pool_id(&pool.pool_id)
        .client_name("reads-attributes")
        .explicit_auth_flows(Flag::AllowUserPasswordAuth)
        .explicit_auth_flows(Flag::AllowRefreshTokenAuth)
        .read_attributes("email")
        .read_attributes("name")
        .send()
        .await
        .expect("CreateUserPoolClient")
        .user_pool_client()
        .unwrap()
        .client_id()
        .unwrap()
        .to_owned();
    let username = common::unique("attributed");
    pool.client
        .admin_create_user()
        .user_pool_id(&pool.pool_id)
        .username(&username)
        .message_action(MessageActionType::Suppress)
        .user_attributes(attribute("email", "alice@example.com"))
        .user_attributes(attribute("name", "Alice"))
        .user_attributes(attribute("custom:team", "blue"))
        .send()
        .await
        .expect("AdminCreateUser");
    pool.client
        .admin_set_user_password()
        .user_pool_id(&pool.pool_id)
        .username(&username)
        .password(PASSWORD)
        .permanent(true)
        .send()
        .await
        .expect("AdminSetUserPassword");
    (pool, client_id, username)
}

fn manager(
    pool: &Pool,
    client_id: &str,
    options: impl FnOnce(CognitoSettings) -> CognitoSettings,
) -> SessionManager {
    pool.manager_with(
        MemoryStore::new(),
        SessionConfig::default(),
        options(pool.settings_for(client_id)),
    )
}

async fn log_in(manager: &SessionManager, username: &str) -> (CurrentUser, String) {
    let session = manager
        .login(username, PASSWORD)
        .await
        .unwrap()
        .into_session()
        .expect("a session");
    (session.user, session.token.expose().to_owned())
}

#[tokio::test]
async fn chosen_claims_of_the_id_token_are_kept_and_others_are_not() {
    let (pool, client_id, username) = pool_with_attributes(&common::moto_url()).await;
    let chosen = |s: CognitoSettings| s.with_id_token_claims(["email", "custom:*"]);
    let manager = manager(&pool, &client_id, chosen);
    let (user, _) = log_in(&manager, &username).await;
    assert_eq!(
        user.claim::<String>("email").as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(user.claim::<String>("custom:team").as_deref(), Some("blue"));
    assert_eq!(user.claim::<String>("name"), None, "not chosen");
    for token_claim in ["aud", "token_use", "cognito:username", "at_hash"] {
        assert!(
            !user.claims().other().contains_key(token_claim),
            "{token_claim}"
        );
    }
    // The stored record has the claims too (what a later request reads), and no ID token.
    let record = manager.load(user.session_key()).await.unwrap().unwrap();
    assert_eq!(record.claims.other()["email"], "alice@example.com");
    assert!(!format!("{record:?}").contains("token_use"));

    // Without the option, the ID token is not read.
    let plain = self::manager(&pool, &client_id, |s| s);
    let (user, _) = log_in(&plain, &username).await;
    assert_eq!(user.claim::<String>("email"), None);
    assert_eq!(user.claim::<String>("custom:team"), None);
}

#[tokio::test]
async fn a_refresh_brings_the_attributes_as_they_are_now() {
    let (pool, client_id, username) = pool_with_attributes(&common::moto_url()).await;
    let manager = manager(&pool, &client_id, |s| {
        s.with_id_token_claims(["email", "custom:team"])
    });
    let (user, _) = log_in(&manager, &username).await;
    assert_eq!(user.claim::<String>("custom:team").as_deref(), Some("blue"));

    pool.client
        .admin_update_user_attributes()
        .user_pool_id(&pool.pool_id)
        .username(&username)
        .user_attributes(attribute("custom:team", "green"))
        .send()
        .await
        .expect("AdminUpdateUserAttributes");
    // A token due for refresh (within the default 120 s): the next request refreshes.
    let due = age(manager.store(), user.session_key(), now() + 30).await;
    let refreshed = manager.authenticate(&due).await.unwrap();
    assert!(refreshed.new_token.is_some(), "refreshed");
    assert_eq!(
        refreshed.user.claim::<String>("custom:team").as_deref(),
        Some("green")
    );
    assert_eq!(
        refreshed.user.claim::<String>("email").as_deref(),
        Some("alice@example.com")
    );
}

#[tokio::test]
async fn a_log_in_whose_id_token_is_for_another_client_is_refused() {
    // Cognito's answer comes from the proxy: a good access token with an ID token whose
    // `aud` is another app client (signed with moto's key, so only the claim is wrong).
    let proxy = FaultProxy::start(common::moto_url()).await;
    let (pool, client_id, username) = pool_with_attributes(&proxy.url).await;
    let manager = manager(&pool, &client_id, |s| s.with_id_token_claims(["email"]));
    let (user, access) = log_in(&manager, &username).await;
    assert_eq!(
        user.claim::<String>("email").as_deref(),
        Some("alice@example.com")
    );

    let access_claims = claims_of(&access);
    let id = forge(&json!({
        "sub": access_claims["sub"],
        "iss": access_claims["iss"],
        "aud": "another-client",
        "token_use": "id",
        "email": "mallory@example.com",
        "iat": now(),
        "exp": now() + 3600,
    }));
    let answer = json!({
        "AuthenticationResult": {
            "AccessToken": forge(&access_claims),
            "IdToken": id,
            "RefreshToken": "a-refresh-token",
            "ExpiresIn": 3600,
            "TokenType": "Bearer",
        }
    });
    proxy.fail(
        "InitiateAuth",
        Fault::Answer(Box::leak(answer.to_string().into_boxed_str())),
    );
    let result = manager.login(&username, PASSWORD).await;
    assert!(
        matches!(result, Err(SessionError::Unavailable(_))),
        "{result:?}"
    );
}
