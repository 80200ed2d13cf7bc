//! The SRP math of `USER_SRP_AUTH` against an independent implementation that real clients
//! use: PyPI's `pycognito` (`AWSSRP`), installed into `.venv` by `scripts/emulators.sh`.
//!
//! moto accepts any `PASSWORD_CLAIM_SIGNATURE`, so a log-in against it proves nothing about
//! this math; here the same `a`, salt, `B`, secret block, user, password and time must give
//! the same `SRP_A`, `TIMESTAMP` and signature as pycognito's `process_challenge`.
//!
//! Needs python with pycognito: `COGNITO_SESSION_PYTHON` (written by `scripts/emulators.sh
//! start`), else `.venv/bin/python`. Without it the test fails rather than skips.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cognito_session::__srp;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Runs pycognito's own `process_challenge` with `a` fixed and the clock stopped at each
/// case's time; prints `SRP_A`, `TIMESTAMP` and `PASSWORD_CLAIM_SIGNATURE` per case.
const PYCOGNITO: &str = r#"
import datetime, json, sys
import pycognito.aws_srp as aws_srp

class StoppedClock:
    now = None
    @classmethod
    def utcnow(cls):
        return cls.now

class DatetimeModule:
    datetime = StoppedClock

aws_srp.datetime = DatetimeModule
out = []
for case in json.load(sys.stdin):
    srp = aws_srp.AWSSRP(username=case["user"], password=case["password"],
                         pool_id=case["pool"], client_id="client", client=object())
    srp.small_a_value = int(case["a"], 16)
    srp.large_a_value = srp.calculate_a()
    StoppedClock.now = datetime.datetime.fromtimestamp(
        case["time"], datetime.timezone.utc).replace(tzinfo=None)
    answer = srp.process_challenge(
        {"USERNAME": case["user"], "USER_ID_FOR_SRP": case["user"], "SALT": case["salt"],
         "SRP_B": case["b"], "SECRET_BLOCK": case["block"]},
        {"USERNAME": case["user"]})
    out.append({"a": aws_srp.long_to_hex(srp.large_a_value),
                "timestamp": answer["TIMESTAMP"],
                "signature": answer["PASSWORD_CLAIM_SIGNATURE"]})
json.dump(out, sys.stdout)
"#;

/// `len` bytes of hex that look random, the same on every run.
fn hex_from(seed: &str, len: usize) -> String {
    let mut out = String::new();
    let mut counter = 0u32;
    while out.len() < 2 * len {
        let block = Sha256::new()
            .chain_update(seed)
            .chain_update(counter.to_be_bytes())
            .finalize();
        out.extend(block.iter().map(|byte| format!("{byte:02x}")));
        counter += 1;
    }
    out.truncate(2 * len);
    out
}

/// N + 7: a `B` at or above the modulus, which both sides must reduce.
const N_PLUS_7: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33",
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864",
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2",
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CB0000000000000006",
);

fn cases() -> Vec<Value> {
    let pools = ["us-east-1_AbCdEfGhI", "eu-west-1_x", "ap-southeast-2_Zz9"];
    let users = [
        "3c2a7f1e-59f4-4c25-9d5a-0f1e2d3c4b5a",
        "alice",
        "zoë@example.com",
    ];
    let passwords = ["Passw0rd!", "with:colon and spaces", "pässwörd✓"];
    // High bit set, odd length, leading zeros that both read the same, 16 random bytes.
    let salts = [
        hex_from("salt-a", 16),
        "f0e1d2c3b4a5968778695a4b3c2d1e0f".to_owned(),
        "abc".to_owned(),
        "00ab12cd".to_owned(),
        "1".to_owned(),
    ];
    let times = [
        0u64,
        1_795_947_021,
        951_782_400,
        1_709_251_199,
        4_102_444_799,
    ];
    let mut cases = Vec::new();
    for i in 0..12 {
        // `a` as AWS's clients draw it (128 bytes), and some short or zero-led ones.
        let a = match i % 4 {
            0 => hex_from(&format!("a{i}"), 128),
            1 => format!("00{}", hex_from(&format!("a{i}"), 100)),
            2 => "1f".to_owned(),
            _ => format!("ff{}", hex_from(&format!("a{i}"), 127)),
        };
        // `B` of full size with and without the top bit, short, and at or above N.
        let b = match i % 5 {
            0 => hex_from(&format!("b{i}"), 384),
            1 => format!("7f{}", hex_from(&format!("b{i}"), 383)),
            2 => hex_from(&format!("b{i}"), 40),
            3 => N_PLUS_7.to_owned(),
            _ => format!("0{}", hex_from(&format!("b{i}"), 200)),
        };
        let block = BASE64.encode(hex_from(&format!("block{i}"), 50 + 37 * i).as_bytes());
        cases.push(json!({
            "pool": pools[i % pools.len()],
            "a": a,
            "user": users[i % users.len()],
            "password": passwords[(i / 3) % passwords.len()],
            "salt": salts[i % salts.len()],
            "b": b,
            "block": block,
            "time": times[i % times.len()],
        }));
    }
    cases
}

fn python() -> PathBuf {
    let path = std::env::var_os("COGNITO_SESSION_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} not found: run scripts/emulators.sh install (or scripts/test), which puts \
         pycognito into .venv",
        path.display()
    );
    path
}

fn run_pycognito(cases: &[Value]) -> Vec<Value> {
    let mut child = Command::new(python())
        .args(["-c", PYCOGNITO])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let input = serde_json::to_vec(cases).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "pycognito failed (is it installed? scripts/emulators.sh install):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("pycognito's answers are JSON")
}

#[test]
fn srp_a_timestamp_and_signature_match_pycognito() {
    let cases = cases();
    let theirs = run_pycognito(&cases);
    assert_eq!(theirs.len(), cases.len());
    for (case, their) in cases.iter().zip(&theirs) {
        let field = |name: &str| case[name].as_str().unwrap();
        let timestamp = __srp::timestamp(case["time"].as_u64().unwrap());
        assert_eq!(timestamp, their["timestamp"].as_str().unwrap(), "{case}");
        let (srp_a, signature) = __srp::vector(
            field("pool"),
            field("a"),
            field("user"),
            field("password"),
            field("salt"),
            field("b"),
            field("block"),
            &timestamp,
        )
        .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(srp_a, their["a"].as_str().unwrap(), "SRP_A for {case}");
        assert_eq!(
            signature,
            their["signature"].as_str().unwrap(),
            "signature for {case}"
        );
    }
}

#[test]
fn a_different_password_gives_a_different_signature_on_both_sides() {
    // Guards against a comparison that passes because both sides ignore an input.
    let mut cases = cases();
    cases.truncate(2);
    let mut other = cases[0].clone();
    other["password"] = json!("another password");
    cases.push(other);
    let theirs = run_pycognito(&cases);
    assert_ne!(theirs[0]["signature"], theirs[2]["signature"]);
    let ours = |case: &Value| {
        let field = |name: &str| case[name].as_str().unwrap().to_owned();
        __srp::vector(
            &field("pool"),
            &field("a"),
            &field("user"),
            &field("password"),
            &field("salt"),
            &field("b"),
            &field("block"),
            &__srp::timestamp(case["time"].as_u64().unwrap()),
        )
        .unwrap()
        .1
    };
    assert_ne!(ours(&cases[0]), ours(&cases[2]));
    assert_eq!(ours(&cases[2]), theirs[2]["signature"].as_str().unwrap());
}
