//! examples/lambda under a real Lambda emulator: cargo-lambda's runtime API
//! (`cargo lambda watch --only-lambda-apis`), which serves function URLs over HTTP on
//! 127.0.0.1, and the example's binary polling it as it would poll Lambda's.
//!
//! The binary is built once by the tests (`cargo build --example ... --all-features`, the
//! same profile, features and target dir as the test run), and started by hand:
//! `--only-lambda-apis` is cargo-lambda's way to run a function it doesn't build, so it never
//! compiles anything itself (its own build would be a `cargo run` with other features).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::server::free_port;
use super::{emulator_env, unique};

/// Builds the examples named once per test process (one `cargo build`), and returns the
/// folder their binaries are in.
pub fn build_examples(names: &[&str]) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "--quiet", "--all-features"]);
    for name in names {
        command.args(["--example", name]);
    }
    let status = command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building {names:?} failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("debug").join("examples")
}

/// examples/lambda's binary, built once per test process.
pub fn lambda_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build_examples(&["lambda"]).join("lambda"))
        .clone()
}

/// The name cargo-lambda's runtime API gives the function it doesn't start itself: its
/// function URL is `/lambda-url/_`, its runtime API `/.rt`.
const EXTERNAL_FUNCTION: &str = "_";

/// cargo-lambda's runtime API emulator, on 127.0.0.1; stopped when dropped.
pub struct RuntimeApi {
    pub port: u16,
    child: Child,
    project: PathBuf,
}

impl RuntimeApi {
    /// Starts the emulator and waits until it accepts connections.
    ///
    /// `cargo lambda watch` insists on a Cargo project with a binary target even with
    /// `--only-lambda-apis` (it reads `cargo metadata`, and this crate's functions are
    /// examples), so it is pointed at an empty one in a temporary folder, which nothing
    /// builds.
    pub fn start() -> Self {
        let project = std::env::temp_dir().join(unique("cargo-lambda-project"));
        std::fs::create_dir_all(project.join("src")).unwrap();
        std::fs::write(
            project.join("Cargo.toml"),
            "[package]\nname = \"function\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [[bin]]\nname = \"function\"\npath = \"src/main.rs\"\n\n[workspace]\n",
        )
        .unwrap();
        std::fs::write(project.join("src/main.rs"), "fn main() {}\n").unwrap();

        let port = free_port();
        let mut child = Command::new(emulator_env("COGNITO_SESSION_CARGO_LAMBDA"))
            .args(["lambda", "watch", "--only-lambda-apis", "--disable-cors"])
            .arg("--manifest-path")
            .arg(project.join("Cargo.toml"))
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            // Some invocations wait for a function that starts slowly (debug builds, a
            // busy machine), none longer than this.
            .args(["--timeout", "60"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cargo-lambda starts (installed by scripts/emulators.sh)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("cargo lambda watch exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            port,
            child,
            project,
        }
    }

    /// The function URL of the function polling this emulator.
    pub fn function_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/lambda-url/{EXTERNAL_FUNCTION}",
            self.port
        )
    }

    /// Where a function sends synchronous invocations with a raw event (`cargo lambda
    /// invoke` does the same): the event as API Gateway would send it, and the function's
    /// answer as API Gateway would read it.
    pub fn invoke_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/2015-03-31/functions/{EXTERNAL_FUNCTION}/invocations",
            self.port
        )
    }

    /// Starts `binary` as the function, with `env` on top of the variables Lambda sets and
    /// nothing else from this process. It answers once it has started: the first request
    /// waits in the emulator until then.
    pub fn spawn_function(&self, binary: &Path, env: &[(&str, &str)]) -> Function {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}/.rt", self.port),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", EXTERNAL_FUNCTION)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        Function {
            child: command.spawn().expect("the function starts"),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.project);
    }
}

/// A function process polling the emulator; killed when dropped.
pub struct Function {
    child: Child,
}

impl Function {
    /// Panics if the function has exited (a start that failed: its `error:` line is on
    /// stderr).
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the function exited: {status}");
        }
    }

    /// Runs `request` while watching the process: a function that stops at start would
    /// otherwise leave the request waiting for the emulator's time-out.
    pub async fn answer<T>(&mut self, request: impl std::future::Future<Output = T>) -> T {
        tokio::pin!(request);
        loop {
            tokio::select! {
                answer = &mut request => return answer,
                () = tokio::time::sleep(Duration::from_millis(50)) => self.assert_running(),
            }
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
