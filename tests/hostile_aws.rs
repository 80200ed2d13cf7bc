//! The hostile-input corpus against the emulators: Cognito access tokens (moto) with the
//! sessions in DynamoDB Local, over raw TCP. Every case is 401 or 400 and never reaches the
//! handler.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::cognito::{Pool, claims_of, epoch, forge, logged_in, sign_with, stranger_key, with};
use common::hostile::{Case, generic_cases, opaque_cases, run, serve};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_tokens_never_reach_the_handler() {
    let store = Arc::new(
        common::dynamo::fresh_store(&common::dynamodb_local_url(), Duration::from_secs(5)).await,
    );
    let pool = Pool::new().await;
    let manager = pool.manager(store.clone(), pool.config());
    let target = serve(manager.clone()).await;

    let (username, password) = pool.user().await;
    let session = logged_in(&manager, &username, &password).await;
    let token = session.token.expose().to_owned();
    let claims = claims_of(&token);
    let [header, payload, signature]: [&str; 3] =
        token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let now = epoch(&std::time::SystemTime::now);

    // Tokens whose session is gone.
    let (other_user, other_password) = pool.user().await;
    let deleted = logged_in(&manager, &other_user, &other_password).await;
    manager.delete(deleted.user.session_key()).await.unwrap();
    let (third_user, third_password) = pool.user().await;
    let after_delete_all = logged_in(&manager, &third_user, &third_password).await;
    logged_in(&manager, &third_user, &third_password).await;
    manager.delete_user(&third_user).await.unwrap();
    // A genuine token of another app client of the same pool.
    let other_client = pool.other_client().await;
    let foreign = forge(&with(&claims, json!({ "client_id": other_client })));

    let jwks = reqwest::get(pool.settings().jwks_url())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&jwks),
    )
    .unwrap();
    let mut huge_kid = Header::new(Algorithm::RS256);
    huge_kid.kid = Some("k".repeat(8 * 1024));
    let huge_kid = jsonwebtoken::encode(&huge_kid, &claims, common::cognito::moto_key()).unwrap();
    let altered = format!(
        "{header}.{}.{signature}",
        b64(with(&claims, json!({"username": "admin"}))
            .to_string()
            .as_bytes())
    );

    let jwt_cases = vec![
        Case::bearer(
            "jwt: alg none",
            &format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#)),
            401,
        ),
        Case::bearer(
            "jwt: alg none with kid",
            &format!("{}.{payload}.", b64(br#"{"alg":"none","kid":"dummy"}"#)),
            401,
        ),
        Case::bearer("jwt: HS256 keyed with the public JWKS", &hs256, 401),
        Case::bearer(
            "jwt: unknown kid",
            &sign_with(&claims, &stranger_key(), "unknown"),
            401,
        ),
        Case::bearer(
            "jwt: our kid, someone else's key",
            &sign_with(&claims, &stranger_key(), "dummy"),
            401,
        ),
        Case::bearer("jwt: altered payload, original signature", &altered, 401),
        Case::bearer(
            "jwt: signature dropped",
            &format!("{header}.{payload}."),
            401,
        ),
        Case::bearer("jwt: truncated signature", &token[..token.len() - 10], 401),
        Case::bearer("jwt: two segments", &format!("{header}.{payload}"), 401),
        Case::bearer("jwt: four segments", &format!("{token}.{signature}"), 401),
        Case::bearer(
            "jwt: bad base64 in the header",
            &format!("!!{header}.{payload}.{signature}"),
            401,
        ),
        Case::bearer(
            "jwt: bad base64 in the payload",
            &format!("{header}.%%%.{signature}"),
            401,
        ),
        Case::bearer(
            "jwt: header is not JSON",
            &format!("{}.{payload}.{signature}", b64(b"not json")),
            401,
        ),
        Case::bearer("jwt: payload is not JSON", &sign_raw(b"[1,2,3"), 401),
        Case::bearer(
            "jwt: wrong issuer",
            &forge(&with(&claims, json!({"iss": "https://evil.example/pool"}))),
            401,
        ),
        Case::bearer(
            "jwt: ID token",
            &forge(&with(
                &claims,
                json!({"token_use": "id", "aud": pool.client_id, "client_id": null}),
            )),
            401,
        ),
        Case::bearer("jwt: another client's token", &foreign, 401),
        Case::bearer(
            "jwt: expired beyond any session",
            &forge(&with(
                &claims,
                json!({"exp": now - 30 * 86_400, "iat": now - 30 * 86_400 - 3600}),
            )),
            401,
        ),
        Case::bearer(
            "jwt: nbf in the future",
            &forge(&with(&claims, json!({"nbf": now + 3600}))),
            401,
        ),
        Case::bearer(
            "jwt: iat in the future",
            &forge(&with(
                &claims,
                json!({"iat": now + 3600, "exp": now + 7200}),
            )),
            401,
        ),
        Case::bearer("jwt: huge kid", &huge_kid, 401),
        Case::bearer(
            "jwt: no sub",
            &forge(&with(&claims, json!({"sub": null}))),
            401,
        ),
        Case::bearer(
            "jwt: another login's origin_jti",
            &forge(&with(&claims, json!({"origin_jti": "not-a-session"}))),
            401,
        ),
        Case::bearer(
            "jwt: valid signature, session deleted",
            deleted.token.expose(),
            401,
        ),
        Case::bearer(
            "jwt: valid signature, after delete-all",
            after_delete_all.token.expose(),
            401,
        ),
        Case::cookie(
            "jwt: in a cookie named like ours",
            &format!("xtoken={token}"),
            401,
        ),
    ];
    let mut cases = generic_cases(&token);
    cases.extend(opaque_cases());
    cases.extend(jwt_cases);
    assert!(cases.len() >= 50, "{}", cases.len());
    run(&target, &cases, &token).await;
}

/// A token signed by moto's key over a payload that is not a JSON object.
fn sign_raw(payload: &[u8]) -> String {
    let header = b64(br#"{"alg":"RS256","kid":"dummy","typ":"JWT"}"#);
    let message = format!("{header}.{}", b64(payload));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        common::cognito::moto_key(),
        Algorithm::RS256,
    )
    .unwrap();
    format!("{message}.{signature}")
}
