//! The DynamoDB Book's session store API on AWS Lambda: the example server's routes
//! (`examples/server/app.rs`, the same `Router` with its `SessionLayer`), served through
//! `lambda_http` behind API Gateway (REST or HTTP API) or a function URL.
//!
//! The environment is the server's (`SESSION_TABLE`, `USER_POOL_ID`, `CLIENT_ID`,
//! `SESSION_ENCRYPTION_KEY`, the other variables of `SessionManager::from_env`,
//! `COGNITO_GLOBAL_SIGN_OUT`, `ADMIN_GROUP`, `COGNITO_CHALLENGE_KEY`, `RUST_LOG`), less `BIND`:
//! Lambda's runtime API is the listener. A function is reachable from anywhere, so the
//! password-less embedded mode (no `USER_POOL_ID`) refuses to start unless
//! `ALLOW_INSECURE_DEMO=true`.
//!
//! Everything is set up once per execution environment, before the first event (the cold
//! start: BENCHMARKS.md measures it), and every check the server makes at start (the table,
//! the pool's keys, the app client's flows) stops the start here too, with an `error:` line
//! naming the variable in the function's log.
//!
//! Build and deploy: deploy/README.md, which also says how to try it under cargo-lambda's
//! Lambda emulator (as tests/lambda.rs does, against DynamoDB Local and moto).

#[path = "../server/app.rs"]
mod app;
mod function;

use cognito_session::SessionManager;

/// Everything that can stop the function at start, as one line naming the cause.
async fn run() -> Result<(), String> {
    // Checked before the manager is built: a function is reachable from anywhere.
    let has_pool = std::env::var("USER_POOL_ID").is_ok_and(|pool| !pool.trim().is_empty());
    let insecure_demo = std::env::var("ALLOW_INSECURE_DEMO").is_ok_and(|v| v == "true");
    if !has_pool && !insecure_demo {
        return Err(
            "USER_POOL_ID: not set, and without a user pool this function logs anyone \
                    in without a password, reachable from anywhere; set USER_POOL_ID and \
                    CLIENT_ID, or ALLOW_INSECURE_DEMO=true to run the demo anyway"
                .into(),
        );
    }
    let sessions = SessionManager::from_env()
        .await
        .map_err(|e| e.to_string())?;
    let handler = function::handler(app::app(sessions));
    lambda_http::lambda_runtime::run(handler)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // CloudWatch stamps each line with the time, and shows no colours.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,cognito_session=debug".into()),
        )
        .without_time()
        .with_ansi(false)
        .init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
