//! Cold start on Lambda: the time from starting the function's process to its first
//! answered request, for examples/lambda against a bare `lambda_http` hello function
//! (examples/lambda/hello.rs) in the same run.
//!
//! Each round starts cargo-lambda's runtime API emulator on 127.0.0.1, sends a function URL
//! request `GET /` (the app's page: no session, no store call) the moment the process is
//! spawned, and stops the clock when the answer arrives: the emulator holds the request until
//! the function has set itself up and asks for its first event, as Lambda does. The cases
//! alternate within each round, so a busy moment of the machine hits them alike.
//!
//! - `hello`: `lambda_http::run` and a closure;
//! - `lambda, embedded`: the example with sessions in memory (`ALLOW_INSECURE_DEMO=true`);
//! - `lambda, DynamoDB + Cognito`: the example as deployed, against DynamoDB Local and moto:
//!   its start loads the AWS config, checks the table (DescribeTable), fetches the pool's
//!   keys and checks the app client (DescribeUserPoolClient). On AWS those are network round
//!   trips of a few milliseconds each; here they are loopback ones.
//!
//! Needs the emulators (`scripts/emulators.sh start`, then `source .emulators/env`). Builds
//! both examples in its own profile (`cargo bench` → release; `--release` for release
//! examples under a dev build of it) into this target dir.
//! `cargo bench --all-features --bench cold_start -- --rounds 15`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::args::Args;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `scripts/emulators.sh start` and `source .emulators/env`")
    })
}

/// Builds both examples, in release or dev; the folder of their binaries.
fn build_examples(release: bool) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "--all-features"]);
    build.args(["--example", "lambda", "--example", "lambda-hello"]);
    if release {
        build.arg("--release");
    }
    let status = build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the examples failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target
        .join(if release { "release" } else { "debug" })
        .join("examples")
}

/// Environment variables of a function.
type Env = Vec<(String, String)>;

/// A process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// cargo-lambda's runtime API on a free port, for a function it doesn't start (it wants a
/// Cargo project with a binary: `project`, an empty one, which nothing builds).
fn runtime_api(project: &Path) -> (Killed, u16) {
    let port = support::free_port();
    let child = Command::new(env("COGNITO_SESSION_CARGO_LAMBDA"))
        .args(["lambda", "watch", "--only-lambda-apis", "--disable-cors"])
        .arg("--manifest-path")
        .arg(project.join("Cargo.toml"))
        .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cargo-lambda starts");
    let child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "cargo lambda watch did not listen"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    (child, port)
}

/// One cold start of `binary` with `env`: spawn, and the first answer to `GET /`.
async fn cold_start(
    client: &reqwest::Client,
    project: &Path,
    binary: &Path,
    env: &[(String, String)],
) -> Duration {
    let (_api, port) = runtime_api(project);
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let function = Killed(command.spawn().expect("the function starts"));
    let answer = client
        .get(format!("http://127.0.0.1:{port}/lambda-url/_/"))
        .send()
        .await
        .expect("the function answers");
    let elapsed = start.elapsed();
    assert_eq!(answer.status(), 200);
    drop(function);
    elapsed
}

/// A user pool with an app client in moto, as the stack makes them.
async fn pool(moto: &str) -> (String, String) {
    use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;
    let client =
        aws_sdk_cognitoidentityprovider::Client::from_conf(support::sdk::cognito(moto).build());
    let pool = client
        .create_user_pool()
        .pool_name("cold-start")
        .send()
        .await
        .expect("CreateUserPool");
    let pool_id = pool.user_pool().unwrap().id().unwrap().to_owned();
    let app = client
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("app")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("CreateUserPoolClient");
    let client_id = app
        .user_pool_client()
        .unwrap()
        .client_id()
        .unwrap()
        .to_owned();
    (pool_id, client_id)
}

fn millis(d: f64) -> String {
    format!("{:.1}", d * 1e3)
}

fn main() {
    let args = Args::from_env();
    if !args.flag("--bench") {
        // `cargo test --benches` only checks that it builds.
        return;
    }
    let rounds: usize = args.number("--rounds", 15);
    // The examples' profile: this benchmark's (release under `cargo bench`), or release when
    // asked, which a dev build of the benchmark may time as well as any.
    let release = args.flag("--release") || !cfg!(debug_assertions);
    let examples = build_examples(release);
    let project = std::env::temp_dir().join(format!("cold-start-{}", std::process::id()));
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"function\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
         [[bin]]\nname = \"function\"\npath = \"src/main.rs\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(project.join("src/main.rs"), "fn main() {}\n").unwrap();

    let runtime = support::runtime();
    runtime.block_on(async {
        let moto = env("COGNITO_SESSION_MOTO_URL");
        let (pool_id, client_id) = pool(&moto).await;
        let owned = |pairs: &[(&str, &str)]| -> Env {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let table = format!("cold-start-{}", std::process::id());
        let aws = owned(&[
            ("AWS_ENDPOINT_URL_DYNAMODB", &env("COGNITO_SESSION_DYNAMODB_LOCAL_URL")),
            ("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", &moto),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("SESSION_TABLE", &table),
            ("USER_POOL_ID", &pool_id),
            ("CLIENT_ID", &client_id),
            ("SESSION_ENCRYPTION_KEY", "Xl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl4="),
            ("COGNITO_CHALLENGE_KEY", "cold-start-challenge-key-32-bytes!!"),
        ]);
        let cases: Vec<(&str, PathBuf, Env)> = vec![
            ("hello (bare lambda_http)", examples.join("lambda-hello"), vec![]),
            (
                "lambda, embedded (memory)",
                examples.join("lambda"),
                owned(&[("ALLOW_INSECURE_DEMO", "true")]),
            ),
            ("lambda, DynamoDB + Cognito", examples.join("lambda"), aws),
        ];
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        // Once each, unmeasured: the page cache holds the binaries, and the table exists
        // (a deployed function finds it made by the stack).
        for (_, binary, env) in &cases {
            cold_start(&client, &project, binary, env).await;
        }
        let mut samples = vec![Vec::new(); cases.len()];
        for _ in 0..rounds {
            for (i, (_, binary, env)) in cases.iter().enumerate() {
                let took = cold_start(&client, &project, binary, env).await;
                samples[i].push(took.as_secs_f64());
            }
        }

        let profile = if release { "release" } else { "dev" };
        println!(
            "Cold start, process start to first answered request, {rounds} rounds, {profile} build, {} cores",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!();
        println!("| function | median ms | min ms | max ms | median / hello |");
        println!("|---|---:|---:|---:|---:|");
        let mut hello = None;
        for ((name, _, _), values) in cases.iter().zip(&mut samples) {
            let median = support::median(values);
            let hello = *hello.get_or_insert(median);
            println!(
                "| {name} | {} | {} | {} | {:.2} |",
                millis(median),
                millis(values[0]),
                millis(values[values.len() - 1]),
                median / hello
            );
        }
    });
    let _ = std::fs::remove_dir_all(&project);
}
