//! The benchmarks' command line: `--name` flags and `--name value` options, in any order.
//! Whatever else is there (the flags cargo's test harness takes) is ignored.

use std::path::PathBuf;
use std::str::FromStr;

/// The arguments after the program's name.
pub struct Args(Vec<String>);

impl Args {
    /// This process's arguments.
    pub fn from_env() -> Self {
        Self(std::env::args().skip(1).collect())
    }

    /// Whether the flag `name` is given. `--bench` is how `cargo bench` tells a benchmark
    /// from `cargo test --benches`, which only checks that it runs.
    pub fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|arg| arg == name)
    }

    /// The value after the last `name`, if `name` is given; panics when it has none.
    pub fn value(&self, name: &str) -> Option<String> {
        let at = self.0.iter().rposition(|arg| arg == name)?;
        let value = self.0.get(at + 1);
        Some(
            value
                .unwrap_or_else(|| panic!("{name} needs a value"))
                .clone(),
        )
    }

    /// The number after `name`, or `default` when `name` isn't given; panics when what
    /// follows `name` is not a number.
    pub fn number<T: FromStr>(&self, name: &str, default: T) -> T {
        self.value(name).map_or(default, |value| {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{name} needs a number"))
        })
    }

    /// `--server`, the example server binary to measure: by default
    /// `$BENCH_EXAMPLE_SERVER`, else `target/release/examples/server`.
    pub fn example_server(&self) -> PathBuf {
        self.value("--server").map_or_else(
            || {
                std::env::var_os("BENCH_EXAMPLE_SERVER").map_or_else(
                    || {
                        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                            .join("target/release/examples/server")
                    },
                    PathBuf::from,
                )
            },
            PathBuf::from,
        )
    }
}
