//! The store conformance suite: the contract of [`SessionStore`](crate::store::SessionStore) as
//! tests, the ones this crate's own stores pass (`MemoryStore`, `CachedStore`,
//! `DynamoDbStore` on DynamoDB Local and on moto), for any other store to run.
//!
//! [`store_conformance!`](crate::store_conformance) writes one `#[test]` per case into the
//! module it is called in. Each test makes a fresh store from the expression it is given,
//! evaluated in an async block (so it may `.await`, to connect or create a table), and runs
//! its case on a multi-thread tokio runtime of its own:
//!
//! ```
//! // tests/store_conformance.rs, with `cognito-session = { version = "0.1", features =
//! // ["test-util"] }` in [dev-dependencies].
//! mod memory {
//!     use cognito_session::store::MemoryStore;
//!
//!     cognito_session::store_conformance!(MemoryStore::new());
//! }
//!
//! mod cached {
//!     use std::time::Duration;
//!
//!     use cognito_session::store::{CachedStore, MemoryStore};
//!
//!     // Yours might read `MyStore::connect(&url).await.unwrap()`.
//!     cognito_session::store_conformance!(
//!         CachedStore::new(MemoryStore::new(), Duration::from_secs(5))
//!     );
//! }
//! # fn main() {}
//! ```
//!
//! Every case is also an `async fn` of this module taking the store, to call from a test of
//! your own. Cases run one store each: give each test a new store, or one over a table no
//! other test uses (the records' keys are random, but `delete_user` counts every session of
//! its user). [`expired_records_are_dropped_by_the_backend`] is not in the macro's set: it
//! needs the backend to say whether a record is still stored.
//!
//! [`record`] and [`full_record`] make the records the cases store, for a backend's own tests
//! of what it writes.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::store::{LoginMethod, SessionId};
use crate::{Claims, CognitoTokens, PreviousToken, Secret, SessionRecord, TokenHash};

mod cases;

pub use cases::*;

/// Writes one `#[test]` per case of the [conformance suite](crate::store::conformance) into
/// the module it is called in, each on a fresh store from `$store`: an expression evaluated
/// in an async block once per test, so it may `.await`. The store must implement
/// [`SessionStore`](crate::store::SessionStore).
///
/// ```
/// mod memory {
///     cognito_session::store_conformance!(cognito_session::store::MemoryStore::new());
/// }
/// # fn main() {}
/// ```
#[macro_export]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
macro_rules! store_conformance {
    ($store:expr $(,)?) => {
        $crate::__store_conformance_cases!($store;
            records_round_trip_every_field,
            update_removes_fields_that_became_none,
            create_conflicts_with_a_live_record,
            create_replaces_an_expired_record,
            load_hides_an_expired_record_that_is_still_stored,
            update_needs_the_expected_version,
            touch_keeps_the_version_and_never_resurrects,
            delete_says_whether_there_was_a_record,
            take_returns_what_it_deleted,
            delete_version_needs_the_version,
            delete_user_deletes_exactly_that_users_sessions_across_pages,
            delete_user_then_load_is_none,
            list_user_lists_exactly_that_users_live_sessions,
            concurrent_updates_of_one_version_have_exactly_one_winner,
        );
    };
}

/// One `#[test]` per case named, each running that case on a fresh `$store`.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_cases {
    ($store:expr; $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::store::conformance::run(async {
                    $crate::store::conformance::$case($store).await;
                });
            }
        )+
    };
}

/// Runs one case to the end on a new multi-thread runtime with two workers (what
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` does), so that concurrent
/// calls really overlap. For [`store_conformance!`](crate::store_conformance).
#[doc(hidden)]
pub fn run(case: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime for the conformance suite")
        .block_on(case);
}

/// Seconds since the Unix epoch by the system clock: the `now` the cases hand the store.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

/// A live opaque-style session of `username` as of `now` (it expires an hour later, at
/// version 1), under a random key, with every optional field unset.
pub fn record(username: &str, now: u64) -> SessionRecord {
    let random = || getrandom::u64().expect("random bytes for a test token");
    let token = format!("conformance-{:016x}{:016x}", random(), random());
    let hash = TokenHash::of(&token);
    SessionRecord {
        version: 1,
        ..SessionRecord::new(hash.to_hex(), username, hash, now, now + 3600)
    }
}

/// [`record`] with every optional field set, Cognito tokens included: their plaintext ends
/// in `access-token-plaintext` and `refresh-token-plaintext`, for a backend's tests that look
/// for them at rest.
pub fn full_record(username: &str, now: u64) -> SessionRecord {
    SessionRecord {
        sub: Some("3f1c-sub".into()),
        previous: Some(Box::new(PreviousToken {
            hash: TokenHash::of("the token before"),
            valid_until: now + 30,
        })),
        successor: Some("next-key".into()),
        cognito: Some(cognito_tokens()),
        id: Some(SessionId::random().expect("random bytes for a session id")),
        method: Some(LoginMethod::Password),
        claims: Claims::new()
            .with_groups(["admins", "staff"])
            .with_scopes(["orders/read", "orders/write"])
            .with_claim("custom:tenant", serde_json::json!("acme"))
            .with_claim(
                "custom:limits",
                serde_json::json!({ "max": 5, "list": [1, "a", null] }),
            ),
        ..record(username, now)
    }
}

fn cognito_tokens() -> CognitoTokens {
    CognitoTokens {
        access_token: Secret::new("eyJraWQiOiJrMSJ9.eyJzdWIiOiIzZjFjIn0.access-token-plaintext"),
        refresh_token: Secret::new(
            "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.refresh-token-plaintext",
        ),
        access_expires_at: 1_900_000_000,
    }
}
