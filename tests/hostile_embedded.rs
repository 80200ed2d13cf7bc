//! The hostile-input corpus against the embedded default (opaque tokens, MemoryStore).

mod common;

use cognito_session::store::MemoryStore;
use cognito_session::{SessionConfig, SessionManager};
use common::hostile::{Case, generic_cases, opaque_cases, run, serve};

#[tokio::test]
async fn hostile_requests_never_reach_the_handler() {
    let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
    let target = serve(manager.clone()).await;
    let valid = manager.create("victim").await.unwrap();
    let token = valid.token.expose().to_owned();

    let deleted = manager.create("deleted").await.unwrap();
    manager.delete(deleted.user.session_key()).await.unwrap();
    let all_gone = manager.create("everyone").await.unwrap();
    manager.create("everyone").await.unwrap();
    manager.delete_user("everyone").await.unwrap();

    let mut cases = generic_cases(&token);
    cases.extend(opaque_cases());
    cases.push(Case::bearer(
        "a deleted session",
        deleted.token.expose(),
        401,
    ));
    cases.push(Case::bearer(
        "a session after delete-all",
        all_gone.token.expose(),
        401,
    ));
    // JWT-shaped inputs, on a layer that takes no JWT at all.
    for (name, jwt) in [
        ("jwt: alg none", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
        ("jwt: two segments", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"),
        ("jwt: four segments", "a.b.c.d"),
        ("jwt: bad base64", "!!!.???.***"),
        ("jwt: empty segments", ".."),
        ("jwt: header not JSON", "bm90IGpzb24.eyJzdWIiOiJ4In0.c2ln"),
        (
            "jwt: dots only around an opaque token",
            &format!(".{token}."),
        ),
        (
            "jwt: 16 KiB payload",
            &format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", "A".repeat(16 * 1024)),
        ),
    ] {
        cases.push(Case::bearer(name, jwt, 401));
    }
    cases.push(Case::bearer(
        "a JWT-shaped token without Cognito",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        401,
    ));
    assert!(cases.len() >= 40, "{}", cases.len());
    run(&target, &cases, &token).await;
}
