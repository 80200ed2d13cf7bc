use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use super::test_keys::{key, other, sign};
use super::*;

const NOW: u64 = 1_700_000_000;
const POOL: &str = "us-east-1_abc";

fn settings() -> CognitoSettings {
    let mut settings = CognitoSettings::new(POOL, "client");
    settings.extra_client_ids = vec!["mobile".into()];
    settings
}

fn verifier() -> Verifier {
    let jwks = Jwks::fixed([("k1".to_owned(), key().decoding.clone())]);
    Verifier::new(
        &settings(),
        Duration::from_secs(60),
        jwks,
        TokenCache::new(100, 1 << 20),
    )
}

fn claims() -> Value {
    json!({
        "sub": "sub-1",
        "iss": settings().issuer(),
        "client_id": "client",
        "origin_jti": "ojti-1",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "username": "alice",
        "iat": NOW - 10,
        "exp": NOW + 3590,
        "jti": "jti-1",
    })
}

fn with(changes: Value) -> Value {
    let mut claims = claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

async fn check(v: &Verifier, token: &str) -> Result<Arc<AccessClaims>, AuthError> {
    v.verify(token, NOW).await.map(|verified| verified.claims)
}

fn assert_malformed(result: Result<Arc<AccessClaims>, AuthError>, what: &str) {
    match result {
        Err(AuthError::Invalid(InvalidReason::Malformed)) => {}
        other => panic!("{what}: expected Malformed, got {other:?}"),
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn a_good_token_verifies_and_decodes() {
    // Also proves that jsonwebtoken has exactly one crypto backend: with none or two it
    // panics at the first decode.
    let v = verifier();
    let claims = check(&v, &sign(&claims(), key(), "k1")).await.unwrap();
    assert_eq!(
        *claims,
        AccessClaims {
            sub: "sub-1".into(),
            username: "alice".into(),
            client_id: "client".into(),
            origin_jti: Some("ojti-1".into()),
            exp: NOW + 3590,
            claims: Claims::new().with_scopes(["aws.cognito.signin.user.admin"]),
        }
    );
    let mobile = sign(&with(json!({ "client_id": "mobile" })), key(), "k1");
    assert!(
        check(&v, &mobile).await.is_ok(),
        "extra client ids are accepted"
    );
}

#[tokio::test]
async fn groups_scopes_and_custom_claims_are_kept_and_token_claims_are_not() {
    let v = verifier();
    let token = sign(
        &with(json!({
            "cognito:groups": ["admins", "staff"],
            "scope": "orders/read  orders/write openid",
            "custom:tenant": "acme",
            "auth_time": NOW - 100,
            "event_id": "e-1",
            "version": 2,
            // Not in Cognito's access tokens, but in other issuers' (oidc-provider's).
            "aud": "https://api.example",
        })),
        key(),
        "k1",
    );
    let claims = check(&v, &token).await.unwrap();
    assert_eq!(claims.claims.groups(), ["admins", "staff"]);
    assert_eq!(
        claims.claims.scopes(),
        ["orders/read", "orders/write", "openid"]
    );
    let mut names: Vec<&str> = claims.claims.other().keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["auth_time", "custom:tenant"]);
    assert_eq!(claims.claims.other()["custom:tenant"], "acme");

    // A groups claim that isn't a list of names is not a token Cognito signed.
    let odd = sign(&with(json!({ "cognito:groups": "admins" })), key(), "k1");
    assert_malformed(check(&v, &odd).await, "groups as a string");
}

#[tokio::test]
async fn both_issuer_forms_and_configured_extra_regions_are_accepted() {
    let mut settings = settings();
    settings.extra_regions = vec!["eu-west-1".into()];
    let jwks = Jwks::fixed([("k1".to_owned(), key().decoding.clone())]);
    let v = Verifier::new(
        &settings,
        Duration::from_secs(60),
        jwks,
        TokenCache::new(10, 1 << 20),
    );
    let with_iss = |iss: &str| sign(&with(json!({ "iss": iss })), key(), "k1");
    for host in ["cognito-idp", "issuer-cognito-idp"] {
        for region in ["us-east-1", "eu-west-1"] {
            let iss = format!("https://{host}.{region}.amazonaws.com/{POOL}");
            assert!(check(&v, &with_iss(&iss)).await.is_ok(), "{iss}");
        }
        // A region that isn't configured, and the right region with another pool.
        let unconfigured = format!("https://{host}.ap-south-1.amazonaws.com/{POOL}");
        assert_malformed(check(&v, &with_iss(&unconfigured)).await, &unconfigured);
        let other_pool = format!("https://{host}.us-east-1.amazonaws.com/us-east-1_xyz");
        assert_malformed(check(&v, &with_iss(&other_pool)).await, &other_pool);
    }
    // Without extra regions, the replica's issuer is refused.
    let replica = "https://issuer-cognito-idp.eu-west-1.amazonaws.com/us-east-1_abc";
    assert_malformed(check(&verifier(), &with_iss(replica)).await, replica);
    let lookalike = "https://issuer-cognito-idp.us-east-1.amazonaws.com.evil/us-east-1_abc";
    assert_malformed(check(&verifier(), &with_iss(lookalike)).await, lookalike);
}

#[tokio::test]
async fn an_expired_token_still_verifies() {
    let v = verifier();
    let expired = sign(
        &with(json!({ "iat": NOW - 7200, "exp": NOW - 3600 })),
        key(),
        "k1",
    );
    assert_eq!(check(&v, &expired).await.unwrap().exp, NOW - 3600);
}

#[tokio::test]
async fn wrong_claims_are_refused() {
    let v = verifier();
    let cases = [
        (
            "issuer",
            json!({ "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other" }),
        ),
        ("no issuer", json!({ "iss": null })),
        ("id token", json!({ "token_use": "id" })),
        ("other client", json!({ "client_id": "stranger" })),
        ("no client", json!({ "client_id": null })),
        ("no username", json!({ "username": null })),
        ("no exp", json!({ "exp": null })),
        ("no sub", json!({ "sub": null })),
        ("iat in the future", json!({ "iat": NOW + 61 })),
        ("nbf in the future", json!({ "nbf": NOW + 61 })),
    ];
    for (what, changes) in cases {
        assert_malformed(check(&v, &sign(&with(changes), key(), "k1")).await, what);
    }
    let within_leeway = sign(
        &with(json!({ "iat": NOW + 60, "nbf": NOW + 60 })),
        key(),
        "k1",
    );
    assert!(check(&v, &within_leeway).await.is_ok());
}

#[tokio::test]
async fn forged_signatures_and_algorithms_are_refused() {
    let v = verifier();
    let good = sign(&claims(), key(), "k1");
    let (header, rest) = good.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();

    let other_key = sign(&claims(), other(), "k1");
    let altered = format!(
        "{header}.{}.{signature}",
        b64(&with(json!({ "sub": "sub-2" })))
    );
    let none = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "kid": "k1" })),
        b64(&claims())
    );
    let none_signed = format!(
        "{}.{}.{signature}",
        b64(&json!({ "alg": "none", "kid": "k1" })),
        b64(&claims())
    );
    // The classic confusion: HMAC with the public key as the secret.
    let mut hs = Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = Some("k1".into());
    let hs256 = jsonwebtoken::encode(
        &hs,
        &claims(),
        &EncodingKey::from_secret(key().public_n.as_bytes()),
    )
    .unwrap();
    let mut rs512 = Header::new(jsonwebtoken::Algorithm::RS512);
    rs512.kid = Some("k1".into());
    let rs512 = jsonwebtoken::encode(&rs512, &claims(), &key().encoding).unwrap();
    let mut crit = Header::new(jsonwebtoken::Algorithm::RS256);
    crit.kid = Some("k1".into());
    crit.crit = Some(vec!["exp".into()]);
    let crit = jsonwebtoken::encode(&crit, &claims(), &key().encoding).unwrap();
    let no_kid = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::RS256),
        &claims(),
        &key().encoding,
    )
    .unwrap();
    let long_kid = sign(&claims(), key(), &"k".repeat(MAX_KID_LEN + 1));

    let cases = [
        ("signed by another key", other_key),
        ("altered payload", altered),
        ("alg none", none),
        ("alg none with a signature", none_signed),
        ("HS256 with the public key", hs256),
        ("RS512", rs512),
        ("crit", crit),
        ("no kid", no_kid),
        ("long kid", long_kid),
        ("unknown kid", sign(&claims(), key(), "k2")),
        ("two parts", format!("{header}.{}", b64(&claims()))),
        ("four parts", format!("{good}.{signature}")),
        ("not base64", format!("{header}.{{}}.{signature}")),
        (
            "huge",
            format!("{header}.{}.{signature}", "A".repeat(MAX_TOKEN_LEN)),
        ),
        ("empty", String::new()),
    ];
    for (what, token) in cases {
        assert_malformed(check(&v, &token).await, what);
    }
    assert!(check(&v, &good).await.is_ok());
}

fn id_claims() -> Value {
    json!({
        "sub": "sub-1",
        "iss": settings().issuer(),
        "aud": "client",
        "token_use": "id",
        "cognito:username": "alice",
        "cognito:groups": ["admins"],
        "email": "alice@example.com",
        "email_verified": true,
        "name": "Alice",
        "custom:team": "blue",
        "custom:level": "3",
        "origin_jti": "ojti-1",
        "at_hash": "h",
        "iat": NOW - 10,
        "exp": NOW + 3590,
        "jti": "jti-2",
    })
}

fn id_with(changes: Value) -> String {
    let mut claims = id_claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    sign(&claims, key(), "k1")
}

fn names(names: &[&str]) -> IdClaimNames {
    IdClaimNames::new(names.iter().map(|&n| n.to_owned()).collect())
}

#[tokio::test]
async fn an_id_token_gives_the_chosen_claims_only() {
    let v = verifier();
    let wanted = names(&["email", "custom:*", "aud", "cognito:groups", "at_hash"]);
    let claims = v
        .verify_id(&id_with(json!({})), "sub-1", &wanted, None, NOW)
        .await
        .unwrap();
    let mut got: Vec<&str> = claims.keys().map(String::as_str).collect();
    got.sort_unstable();
    // Token claims and groups are never taken, even when named.
    assert_eq!(got, ["custom:level", "custom:team", "email"]);
    assert_eq!(claims["email"], "alice@example.com");
    let none = v
        .verify_id(
            &id_with(json!({})),
            "sub-1",
            &names(&["phone_number"]),
            None,
            NOW,
        )
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn an_id_token_for_another_client_user_or_use_is_refused() {
    let v = verifier();
    let wanted = names(&["email"]);
    let cases = [
        ("another audience", id_with(json!({ "aud": "stranger" }))),
        // Extra client ids are for access tokens: log-in and refresh use the main one.
        (
            "an extra client's audience",
            id_with(json!({ "aud": "mobile" })),
        ),
        ("no audience", id_with(json!({ "aud": null }))),
        ("an access token", id_with(json!({ "token_use": "access" }))),
        ("no token_use", id_with(json!({ "token_use": null }))),
        (
            "expired",
            id_with(json!({ "iat": NOW - 7200, "exp": NOW - 61 })),
        ),
        ("iat in the future", id_with(json!({ "iat": NOW + 61 }))),
        (
            "another issuer",
            id_with(json!({ "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x" })),
        ),
        ("signed by another key", sign(&id_claims(), other(), "k1")),
        ("not a JWT", "a.b".to_owned()),
    ];
    for (what, token) in cases {
        match v.verify_id(&token, "sub-1", &wanted, None, NOW).await {
            Err(AuthError::Invalid(InvalidReason::Malformed)) => {}
            other => panic!("{what}: expected Malformed, got {other:?}"),
        }
    }
    match v
        .verify_id(&id_with(json!({})), "sub-2", &wanted, None, NOW)
        .await
    {
        Err(AuthError::Invalid(InvalidReason::Malformed)) => {}
        other => panic!("another user's ID token: {other:?}"),
    }
    // Expired within the leeway still passes: it was issued moments ago.
    let late = id_with(json!({ "exp": NOW - 30 }));
    assert!(
        v.verify_id(&late, "sub-1", &wanted, None, NOW)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_managed_login_id_token_must_carry_its_nonce() {
    let v = verifier();
    let none = names(&[]);
    let with_nonce = id_with(json!({ "nonce": "n-1" }));
    assert!(
        v.verify_id(&with_nonce, "sub-1", &none, Some("n-1"), NOW)
            .await
            .is_ok()
    );
    for (what, token) in [
        ("another nonce", with_nonce.clone()),
        ("no nonce", id_with(json!({}))),
        ("a number", id_with(json!({ "nonce": 1 }))),
    ] {
        let got = v.verify_id(&token, "sub-1", &none, Some("n-2"), NOW).await;
        assert!(
            matches!(got, Err(AuthError::Invalid(InvalidReason::Malformed))),
            "{what}: {got:?}"
        );
    }
}

#[tokio::test]
async fn verified_tokens_are_cached_until_exp() {
    let v = verifier();
    let token = sign(&claims(), key(), "k1");
    let first = v.verify(&token, NOW).await.unwrap().claims;
    let again = v.verify(&token, NOW + 1).await.unwrap().claims;
    assert!(
        Arc::ptr_eq(&first, &again),
        "the second look-up is a cache hit"
    );
    assert_eq!(v.cache.len(), 1);
    // Past exp the token is verified again (and is still valid: expiry is for the
    // session layer), but not cached.
    let late = v.verify(&token, NOW + 4000).await.unwrap().claims;
    assert!(!Arc::ptr_eq(&first, &late));
    assert_eq!(v.cache.len(), 0);
}
