//! The example page's first-log-in flow in headless Chromium (`tests/browser/first_login.mjs`)
//! against the real example binary in Cognito mode (DynamoDB Local, moto): a user created with
//! a temporary password chooses a new one on the page.
//!
//! `scripts/test` installs the browser and sets the variables.
#![cfg(feature = "cognito")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use aws_sdk_cognitoidentityprovider::types::MessageActionType;

#[tokio::test(flavor = "multi_thread")]
async fn first_log_in_sets_a_new_password_on_the_page() {
    for name in ["COGNITO_SESSION_CHROMIUM", "COGNITO_SESSION_PLAYWRIGHT_DIR"] {
        assert!(
            std::env::var_os(name).is_some(),
            "{name} is not set: run `scripts/test`, or `scripts/browser.sh install` and \
             `source .emulators/browser-env` first"
        );
    }
    let pool = common::cognito::Pool::new().await;
    pool.client
        .admin_create_user()
        .user_pool_id(&pool.pool_id)
        .username("dora")
        .temporary_password("Temp-0rary!")
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .expect("AdminCreateUser");
    let server = common::server::start(&common::server::aws_env(&pool, &[]));
    let url = server.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        // The script stops itself after 60 s.
        Command::new("node")
            .arg(root.join("tests/browser/first_login.mjs"))
            .args([
                url.as_str(),
                "dora",
                "Temp-0rary!",
                "weakling",
                "Ch0sen-Secret!",
            ])
            .current_dir(root)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run `node` (is Node.js installed?): {e}"))
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "the browser test failed ({}).\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    print!("{}", String::from_utf8_lossy(&output.stdout));
}
