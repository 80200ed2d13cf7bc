//! Emulators of a test's own, to pause (SIGSTOP: connections are accepted by the kernel and
//! nothing answers, like a hung server) and resume without losing their in-memory state.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::emulator_env;

/// A private emulator, killed on drop; and since a test that times out is killed without
/// running drops, a watchdog shell kills it too once the test process is gone.
pub struct Private {
    pub url: String,
    /// The emulator's pid.
    pid: u32,
    /// The watchdog shell, the emulator's parent.
    watchdog: Child,
}

impl Private {
    /// moto (`COGNITO_SESSION_MOTO_BIN`).
    pub async fn moto() -> Self {
        let bin = emulator_env("COGNITO_SESSION_MOTO_BIN");
        Self::start(|port| {
            vec![
                bin.clone(),
                "-H".into(),
                "127.0.0.1".into(),
                "-p".into(),
                port,
            ]
        })
        .await
    }

    /// DynamoDB Local (`COGNITO_SESSION_DYNAMODB_LOCAL_DIR`), in memory, without telemetry.
    pub async fn dynamodb_local() -> Self {
        let dir = emulator_env("COGNITO_SESSION_DYNAMODB_LOCAL_DIR");
        Self::start(|port| {
            vec![
                "java".into(),
                format!("-Djava.library.path={dir}/DynamoDBLocal_lib"),
                "-jar".into(),
                format!("{dir}/DynamoDBLocal.jar"),
                "-inMemory".into(),
                "-disableTelemetry".into(),
                "-port".into(),
                port,
            ]
        })
        .await
    }

    async fn start(command: impl Fn(String) -> Vec<String>) -> Self {
        use std::io::BufRead as _;

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let command = command(port.to_string());
        // Start the command, say its pid, and end it once the test process ($W) is gone.
        let script = r#""$@" </dev/null >/dev/null 2>&1 &
m=$!
echo "$m"
while kill -0 "$W" 2>/dev/null; do sleep 0.5; done
kill -CONT "$m"; kill -KILL "$m""#;
        let mut watchdog = Command::new("sh")
            .args(["-c", script, "sh"])
            .args(&command)
            .env("W", std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("sh: {e}"));
        let mut line = String::new();
        std::io::BufReader::new(watchdog.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let private = Self {
            url: format!("http://127.0.0.1:{port}"),
            pid: line.trim().parse().expect("the emulator's pid"),
            watchdog,
        };
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return private;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("private emulator {command:?} did not listen on port {port} within 30 s");
    }

    fn signal(&self, signal: &str) -> bool {
        Command::new("kill")
            .args([signal, &self.pid.to_string()])
            .status()
            .is_ok_and(|status| status.success())
    }

    pub fn pause(&self) {
        assert!(self.signal("-STOP"), "SIGSTOP the private emulator");
    }

    pub fn resume(&self) {
        assert!(self.signal("-CONT"), "SIGCONT the private emulator");
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        self.signal("-CONT");
        self.signal("-KILL");
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}
