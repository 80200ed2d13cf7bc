//! The hostile-input corpus against the embedded default (opaque tokens, MemoryStore).

mod common;

use cognito_session::{MemoryStore, SessionConfig, SessionManager};
use common::hostile::{Case, generic_cases, opaque_cases, run, serve, status_of};

#[tokio::test]
async fn hostile_requests_never_reach_the_handler() {
    let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
    let target = serve(manager.clone()).await;
    let valid = manager.create("victim").await.unwrap();
    let token = valid.token.expose().to_owned();

    let deleted = manager.create("deleted").await.unwrap();
    manager.delete(&deleted.user.session_key).await.unwrap();
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
    cases.push(Case::bearer(
        "a JWT-shaped token without Cognito",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        401,
    ));
    assert!(cases.len() >= 30, "{}", cases.len());
    run(&target, &cases).await;

    // The valid token still works after all that: nothing above damaged the session.
    let ok = status_of(
        target.addr,
        &[format!("Authorization: Bearer {token}").into_bytes()],
    )
    .await;
    assert_eq!(ok, 200);
}
