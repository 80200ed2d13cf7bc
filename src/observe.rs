//! What the crate tells an operator: one `tracing` span per request, a child span around
//! every call it awaits (store, Cognito, the key set) with the call's latency, and, with the
//! `metrics` feature, the counters and histograms listed in the `metrics` module.
//!
//! Everything here is cheap when nobody listens: a span no subscriber wants is
//! `Span::none()` (one relaxed load to find out), fields are computed only for a span that
//! is enabled, the clock is read only when a span or a metric will use it, and without the
//! `metrics` feature the metric calls compile to nothing.
//!
//! Nothing recorded here can give a token away: the request span carries where the token
//! came from and a 32-bit prefix of the SHA-256 of the *session key* (itself, for an opaque
//! session, the SHA-256 of the token), never the token or the key.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tracing::field::{Empty, display};
use tracing::{Instrument as _, Span};

use crate::store::{LoadNow, SessionStore, StoreError};
use crate::{InvalidReason, SessionRecord, TokenSource};

/// The span of one request through [`SessionLayer`](crate::SessionLayer), from the token
/// found to the decision. Its fields are set by [`finish`].
///
/// `None` when no subscriber wants INFO, found with one load: then there is no span to
/// drop either, which a disabled `Span` would make a call (with tracing's `log` feature,
/// which some dependencies turn on, dropping one asks the `log` crate about it).
#[inline]
pub(crate) fn request_span(source: Option<TokenSource>) -> Option<Span> {
    use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
    if STATIC_MAX_LEVEL < LevelFilter::INFO || LevelFilter::current() < LevelFilter::INFO {
        return None;
    }
    let source = match source {
        Some(TokenSource::Bearer) => "bearer",
        Some(TokenSource::Cookie) => "cookie",
        None => "none",
    };
    let span = tracing::info_span!(
        "session",
        source,
        outcome = Empty,
        reason = Empty,
        session = Empty
    );
    (!span.is_disabled()).then_some(span)
}

/// Runs `f` (an event about the request) in its span, if it has one.
pub(crate) fn in_span<T>(span: Option<&Span>, f: impl FnOnce() -> T) -> T {
    match span {
        Some(span) => span.in_scope(f),
        None => f(),
    }
}

/// How a request through the layer ended: `(outcome, reason)` in the span and the
/// `cognito_session_requests_total` labels.
macro_rules! outcomes {
    ($($variant:ident => $outcome:literal, $reason:literal;)*) => {
        /// How a request through the layer ended.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Outcome {
            $($variant,)*
        }

        impl Outcome {
            /// The `outcome` and `reason` labels.
            pub(crate) const fn labels(self) -> (&'static str, &'static str) {
                match self {
                    $(Self::$variant => ($outcome, $reason),)*
                }
            }

            /// Counts it. One arm per pair, so each key is a `static` (no allocation).
            #[cfg(feature = "metrics")]
            fn count(self) {
                match self {
                    $(Self::$variant => ::metrics::counter!(
                        crate::metrics::REQUESTS, "outcome" => $outcome, "reason" => $reason
                    ).increment(1),)*
                }
            }
        }
    };
}

outcomes! {
    Ok => "ok", "current";
    Renewed => "ok", "new_token";
    Anonymous => "anonymous", "no_token";
    AnonymousMalformed => "anonymous", "malformed";
    AnonymousNotFound => "anonymous", "not_found";
    Missing => "missing", "no_token";
    Malformed => "invalid", "malformed";
    NotFound => "invalid", "not_found";
    Ambiguous => "bad_request", "ambiguous";
    CrossSite => "forbidden", "cross_site";
    StoreDown => "unavailable", "store";
    CognitoDown => "unavailable", "cognito";
}

impl Outcome {
    /// A rejected token, refused (`required`) or let through without a user.
    pub(crate) fn invalid(reason: InvalidReason, required: bool) -> Self {
        match (reason, required) {
            (InvalidReason::Malformed, true) => Self::Malformed,
            (InvalidReason::NotFound, true) => Self::NotFound,
            (InvalidReason::Malformed, false) => Self::AnonymousMalformed,
            (InvalidReason::NotFound, false) => Self::AnonymousNotFound,
        }
    }

    /// A backend that could not answer: the store, or else Cognito or its key set.
    pub(crate) fn unavailable(error: &(dyn std::error::Error + 'static)) -> Self {
        if error.is::<StoreError>() {
            Self::StoreDown
        } else {
            Self::CognitoDown
        }
    }
}

/// Records how the request of `span` ended, and counts it.
#[inline]
pub(crate) fn finish(span: Option<&Span>, outcome: Outcome, session_key: Option<&str>) {
    #[cfg(feature = "metrics")]
    outcome.count();
    let Some(span) = span else {
        return;
    };
    let (label, reason) = outcome.labels();
    span.record("outcome", label);
    span.record("reason", reason);
    if let Some(key) = session_key {
        span.record("session", display(ShortHash::of(key)));
    }
}

/// The first 4 bytes of the SHA-256 of a session key, in hex: enough to follow one session
/// through the logs, too short to stand for the key (and the key can't give the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ShortHash([u8; 4]);

impl ShortHash {
    pub(crate) fn of(key: &str) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        Self([digest[0], digest[1], digest[2], digest[3]])
    }
}

impl fmt::Display for ShortHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// What an awaited call was, for its metric.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
enum Call {
    Store(&'static str),
    #[cfg(feature = "cognito")]
    Cognito(&'static str),
    #[cfg(feature = "cognito")]
    KeySet,
}

/// Awaits `call` in `span`, then sets the span's `result` (what `classify` says) and
/// `latency_us`, and records the call's metrics.
async fn timed<F: Future>(
    span: Span,
    what: Call,
    call: F,
    classify: impl FnOnce(&F::Output) -> &'static str,
) -> F::Output {
    let started = (cfg!(feature = "metrics") || !span.is_disabled()).then(Instant::now);
    let call = std::pin::pin!(call.instrument(span));
    let mut call = call;
    let output = call.as_mut().await;
    if let Some(started) = started {
        let elapsed = started.elapsed();
        let result = classify(&output);
        let span = call.span();
        span.record("result", result);
        span.record("latency_us", elapsed.as_micros() as u64);
        record_call(what, result, elapsed);
    }
    output
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
fn record_call(what: Call, result: &'static str, elapsed: Duration) {
    #[cfg(feature = "metrics")]
    {
        use crate::metrics::*;
        let seconds = elapsed.as_secs_f64();
        match what {
            Call::Store(op) => {
                ::metrics::histogram!(STORE_CALL_SECONDS, "op" => op, "result" => result)
                    .record(seconds)
            }
            #[cfg(feature = "cognito")]
            Call::Cognito(op) => {
                ::metrics::histogram!(COGNITO_CALL_SECONDS, "op" => op, "result" => result)
                    .record(seconds)
            }
            #[cfg(feature = "cognito")]
            Call::KeySet => {
                ::metrics::histogram!(KEY_SET_FETCH_SECONDS, "result" => result).record(seconds);
                ::metrics::counter!(KEY_SET_FETCHES, "result" => result).increment(1);
            }
        }
    }
}

/// One call of the session store, in a `store` span.
async fn store_call<T>(
    op: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let span = tracing::info_span!("store", op, result = Empty, latency_us = Empty);
    timed(span, Call::Store(op), call, |output| match output {
        Ok(_) => "ok",
        Err(StoreError::Conflict) => "conflict",
        Err(_) => "error",
    })
    .await
}

/// One call of Cognito's API under the crate's timeout, in a `cognito` span: `ok`,
/// `error` (an error answer, a refused password included, or no connection) or `timeout`.
#[cfg(feature = "cognito")]
pub(crate) async fn cognito_call<T, E>(
    op: &'static str,
    call: impl Future<Output = Result<Result<T, E>, tokio::time::error::Elapsed>>,
) -> Result<Result<T, E>, tokio::time::error::Elapsed> {
    let span = tracing::info_span!("cognito", op, result = Empty, latency_us = Empty);
    timed(span, Call::Cognito(op), call, |output| match output {
        Ok(Ok(_)) => "ok",
        Ok(Err(_)) => "error",
        Err(_) => "timeout",
    })
    .await
}

/// `fetch` in a `key_set_fetch` span, made where the fetch is started (a request's check),
/// so that it is that request's child although it runs as a task of its own.
/// [`key_set_fetch`] fills the span in.
#[cfg(feature = "cognito")]
pub(crate) fn in_key_set_span<F: Future>(fetch: F) -> tracing::instrument::Instrumented<F> {
    fetch.instrument(tracing::info_span!(
        "key_set_fetch",
        result = Empty,
        latency_us = Empty
    ))
}

/// A fetch of the key set under its timeout, in the current span (see [`key_set_span`]).
#[cfg(feature = "cognito")]
pub(crate) async fn key_set_fetch<T, E>(
    fetch: impl Future<Output = Result<Result<T, E>, tokio::time::error::Elapsed>>,
) -> Result<Result<T, E>, tokio::time::error::Elapsed> {
    timed(
        Span::current(),
        Call::KeySet,
        fetch,
        |output| match output {
            Ok(Ok(_)) => "ok",
            Ok(Err(_)) => "error",
            Err(_) => "timeout",
        },
    )
    .await
}

/// How a refresh of a session's Cognito tokens ended.
#[cfg(feature = "cognito")]
#[derive(Clone, Copy, Debug)]
pub(crate) enum Refresh {
    /// The session holds new tokens (ours, or those of a process that refreshed first).
    Ok,
    /// Cognito refused the refresh token, or it was another session's: the session is over.
    Refused,
    /// Cognito or the store could not be asked; the session is unchanged.
    Failed,
}

/// Counts a refresh.
#[cfg(feature = "cognito")]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn refresh(result: Refresh) {
    #[cfg(feature = "metrics")]
    {
        use crate::metrics::REFRESHES;
        let counter = match result {
            Refresh::Ok => ::metrics::counter!(REFRESHES, "result" => "ok"),
            Refresh::Refused => ::metrics::counter!(REFRESHES, "result" => "refused"),
            Refresh::Failed => ::metrics::counter!(REFRESHES, "result" => "failed"),
        };
        counter.increment(1);
    }
}

/// Counts a session created by a log-in (not a rotation's or a refresh's new token).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn session_created(record: &SessionRecord) {
    #[cfg(feature = "metrics")]
    if record.cognito.is_some() {
        ::metrics::counter!(crate::metrics::SESSIONS_CREATED, "kind" => "cognito").increment(1);
    } else {
        ::metrics::counter!(crate::metrics::SESSIONS_CREATED, "kind" => "opaque").increment(1);
    }
}

/// Counts session rows a store refused for their MAC (`reason`: `unsigned`, `invalid`).
#[cfg(feature = "dynamodb")]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn row_refused(reason: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(crate::metrics::ROWS_REFUSED, "reason" => reason).increment(1);
}

/// Counts sessions ended by a log-out (`delete`, `delete_user`, `sign_out_everywhere`).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn sessions_deleted(count: usize) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(crate::metrics::SESSIONS_DELETED).increment(count as u64);
}

/// A store whose every awaited call runs in a `store` span, timed. What the manager holds,
/// around the store it was given; [`load_now`](SessionStore::load_now), which never waits,
/// goes straight through.
pub(crate) struct Observed<S>(pub(crate) S);

#[async_trait]
impl<S: SessionStore> SessionStore for Observed<S> {
    async fn create(&self, record: &SessionRecord, now: u64) -> Result<(), StoreError> {
        store_call("create", self.0.create(record, now)).await
    }

    async fn load(&self, key: &str, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        store_call("load", self.0.load(key, now)).await
    }

    #[inline]
    fn load_now(&self, key: &str, now: u64) -> LoadNow {
        self.0.load_now(key, now)
    }

    async fn update(
        &self,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        store_call("update", self.0.update(record, expected_version)).await
    }

    async fn touch(&self, record: &SessionRecord) -> Result<(), StoreError> {
        store_call("touch", self.0.touch(record)).await
    }

    async fn take(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        store_call("take", self.0.take(key)).await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        store_call("delete", self.0.delete(key)).await
    }

    async fn delete_version(&self, key: &str, version: u64) -> Result<(), StoreError> {
        store_call("delete_version", self.0.delete_version(key, version)).await
    }

    async fn delete_user(&self, username: &str) -> Result<usize, StoreError> {
        store_call("delete_user", self.0.delete_user(username)).await
    }

    async fn list_user(&self, username: &str, now: u64) -> Result<Vec<SessionRecord>, StoreError> {
        store_call("list_user", self.0.list_user(username, now)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_hash_is_eight_hex_digits_of_the_keys_sha256() {
        // SHA-256("abc") = ba7816bf 8f01cfea ...
        assert_eq!(ShortHash::of("abc").to_string(), "ba7816bf");
        assert_ne!(ShortHash::of("abd"), ShortHash::of("abc"));
    }

    #[test]
    fn unavailable_tells_the_store_from_the_rest() {
        let store = StoreError::Unavailable("down".into());
        assert_eq!(Outcome::unavailable(&store), Outcome::StoreDown);
        let other: Box<dyn std::error::Error + Send + Sync> = "JWKS: timed out".into();
        assert_eq!(Outcome::unavailable(&*other), Outcome::CognitoDown);
    }
}
