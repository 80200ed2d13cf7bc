//! Groups, scopes and issuers against moto through the real AWS SDK: the claims a session
//! keeps come from the verified access token and change at a refresh; both issuer forms are
//! accepted, other regions only when configured; extra app clients are accepted while
//! log-in uses the first.
#![cfg(all(feature = "cognito", feature = "axum"))]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::routing::get;
use axum::{Json, Router};
use cognito_session::guard::RequireGroup;
use cognito_session::store::{MemoryStore, SessionStore};
use cognito_session::{CurrentUser, SessionLayer, SessionManager};
use common::TestClock;
use common::cognito::{Pool, age, claims_of, epoch, forge, logged_in, with};
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// `/me` answers the user's groups and scopes; `/admin` needs the `admins` group.
fn app(manager: &SessionManager) -> Router {
    async fn me(user: CurrentUser) -> Json<Value> {
        Json(
            json!({ "username": user.username(), "groups": user.groups(), "scopes": user.scopes() }),
        )
    }
    Router::new()
        .route("/admin", get(me).route_layer(RequireGroup::new("admins")))
        .route("/me", get(me))
        .layer(SessionLayer::new(manager.clone()))
}

/// `GET path` with `token` as bearer: the status, the body, and the token of a `Set-Cookie`.
async fn get_as(app: &Router, path: &str, token: &str) -> (StatusCode, Value, Option<String>) {
    let request = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    // A Bearer client gets its refreshed token in a header.
    let new_token = response
        .headers()
        .get("x-session-token")
        .map(|token| token.to_str().unwrap().to_owned());
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, body, new_token)
}

#[tokio::test]
async fn groups_come_from_the_access_token_and_change_at_the_next_refresh() {
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    for group in ["admins", "staff"] {
        pool.create_group(group).await;
    }
    pool.add_to_group(&username, "admins").await;

    let store = Arc::new(MemoryStore::new());
    let clock = TestClock::new();
    let manager = pool.manager(store.clone(), pool.config().with_clock(clock.get()));
    let session = logged_in(&manager, &username, &password).await;
    assert_eq!(session.user.groups(), ["admins"]);
    assert_eq!(session.user.scopes(), ["aws.cognito.signin.user.admin"]);
    let key = session.user.session_key().to_owned();
    let record = store
        .load(&key, epoch(&clock.get()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.claims.groups(),
        ["admins"],
        "kept in the session record"
    );
    assert!(
        !record.claims.other().contains_key("iss") && !record.claims.other().contains_key("jti"),
        "claims about the token are not kept: {:?}",
        record.claims.other()
    );

    let app = app(&manager);
    let token = session.token.expose().to_owned();
    let (status, body, _) = get_as(&app, "/admin", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["groups"], json!(["admins"]));

    // Taken out of `admins`, put in `staff`: the token the client holds still says
    // `admins` until the session refreshes it.
    pool.remove_from_group(&username, "admins").await;
    pool.add_to_group(&username, "staff").await;
    assert_eq!(get_as(&app, "/admin", &token).await.0, StatusCode::OK);

    // The token comes due (a copy of it with an earlier `exp`, signed with moto's key: the
    // way these tests avoid waiting an hour). The refresh brings the pool's groups of now.
    let due = age(&*store, &key, epoch(&clock.get()) + 60).await;
    let (status, body, new_token) = get_as(&app, "/admin", &due).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body, json!({ "error": "Insufficient permissions." }));
    let new_token = new_token.expect("refreshed, even though the guard refused");
    assert_eq!(claims_of(&new_token)["cognito:groups"], json!(["staff"]));
    let record = store
        .load(&key, epoch(&clock.get()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.claims.groups(),
        ["staff"],
        "the record follows the token"
    );
    let (status, body, _) = get_as(&app, "/me", &new_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["groups"], json!(["staff"]));
}

/// Puts a token with `claims` (signed with moto's key) into the session `key`, as the token
/// its client holds; returns it.
async fn install(store: &dyn SessionStore, key: &str, claims: &Value) -> String {
    let mut record = store.load(key, 0).await.unwrap().expect("the session");
    let token = forge(claims);
    let tokens = record.cognito.as_mut().expect("a Cognito session");
    tokens.access_token = token.clone().into();
    record.token_hash = cognito_session::store::TokenHash::of(&token);
    record.version += 1;
    store.update(&record, record.version - 1).await.unwrap();
    token
}

#[tokio::test]
async fn both_issuer_forms_are_accepted_and_other_regions_only_when_configured() {
    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let region = pool.pool_id.split_once('_').unwrap().0.to_owned();
    let issuer = |host: &str, region: &str| {
        format!("https://{host}.{region}.amazonaws.com/{}", pool.pool_id)
    };

    for extra_regions in [vec![], vec!["eu-central-1".to_owned()]] {
        let replicated = !extra_regions.is_empty();
        let store = Arc::new(MemoryStore::new());
        let settings = pool.settings().with_extra_regions(extra_regions);
        let config = cognito_session::SessionConfig::default();
        let manager = pool.manager_with(store.clone(), config, settings);
        let session = logged_in(&manager, &username, &password).await;
        let key = session.user.session_key().to_owned();
        let real = claims_of(session.token.expose());
        assert_eq!(
            real["iss"],
            issuer("cognito-idp", &region),
            "moto issues the classic form"
        );
        let app = app(&manager);

        let cases = [
            (issuer("cognito-idp", &region), true),
            (issuer("issuer-cognito-idp", &region), true),
            (issuer("cognito-idp", "eu-central-1"), replicated),
            (issuer("issuer-cognito-idp", "eu-central-1"), replicated),
            (issuer("issuer-cognito-idp", "ap-south-1"), false),
            (
                format!("https://issuer-cognito-idp.{region}.amazonaws.com/{region}_other"),
                false,
            ),
        ];
        for (iss, accepted) in cases {
            let claims = with(&real, json!({ "iss": iss, "jti": common::unique("jti") }));
            let token = install(&*store, &key, &claims).await;
            let (status, body, _) = get_as(&app, "/me", &token).await;
            let expected = if accepted {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            };
            assert_eq!(status, expected, "{iss} (replicated: {replicated}): {body}");
        }
    }
}

#[tokio::test]
async fn extra_client_ids_are_accepted_and_log_in_uses_the_first() {
    use aws_sdk_cognitoidentityprovider::types::AuthFlowType;

    let pool = Pool::new().await;
    let (username, password) = pool.user().await;
    let mobile = pool.other_client().await;
    let stranger = pool.other_client().await;
    let store = Arc::new(MemoryStore::new());
    let settings = pool.settings().with_extra_client_ids([mobile.clone()]);
    let config = cognito_session::SessionConfig::default();
    let manager = pool.manager_with(store.clone(), config, settings);
    let session = logged_in(&manager, &username, &password).await;
    assert_eq!(
        claims_of(session.token.expose())["client_id"],
        pool.client_id.as_str(),
        "log-in goes through the first client"
    );
    let key = session.user.session_key().to_owned();
    let app = app(&manager);

    // Real tokens of the other clients (another app of the same pool), made the session's.
    for (client, accepted) in [(&mobile, true), (&stranger, false)] {
        let answer = pool
            .client
            .initiate_auth()
            .client_id(client)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", &username)
            .auth_parameters("PASSWORD", &password)
            .send()
            .await
            .unwrap();
        let theirs = answer
            .authentication_result()
            .unwrap()
            .access_token()
            .unwrap();
        let claims = with(&claims_of(theirs), json!({ "origin_jti": key }));
        let token = install(&*store, &key, &claims).await;
        let expected = if accepted {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(get_as(&app, "/me", &token).await.0, expected, "{client}");
    }
}
