//! The user pool's signing keys (its JWKS), fetched lazily and cached.
//!
//! The cache is built so that a flood of tokens with made-up key ids can't turn into a flood
//! of requests to the key endpoint, and so that a slow or failing endpoint never blocks the
//! requests whose key is already known:
//!
//! - keys are fetched on first use, and again when a token names a key id we don't know
//!   (the pool rotated its keys) or the keys are older than the maximum age;
//! - at most one fetch runs at a time: concurrent misses wait for that fetch and then look
//!   again (single flight), and no lock is held while the request is in flight;
//! - a fetch runs as a task of its own, so it ends and records its outcome even when every
//!   request waiting for it is abandoned (a client that hangs up can't restart the fetch, and
//!   so can't get around the cooldown);
//! - after a fetch a cooldown starts (a shorter one after a failure) during which unknown key
//!   ids are answered at once: as unknown after a success, as unavailable after a failure;
//! - keys past their maximum age keep working while a fresh copy is fetched, and if that
//!   fetch fails (stale-if-error), so an outage of the endpoint doesn't end every session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use tokio::sync::watch;

use crate::store::BoxError;

/// Longest key id we look up. Cognito's are 44 characters.
pub(crate) const MAX_KID_LEN: usize = 256;

/// Largest JWKS document we read. Cognito's holds two keys in about 1 KiB.
const MAX_BODY: usize = 64 * 1024;
/// Most keys we keep from one document.
const MAX_KEYS: usize = 32;

/// Why a key could not be had.
#[derive(Debug)]
pub(crate) enum KeyError {
    /// The pool has no key with this id (as of the last fetch).
    Unknown,
    /// The keys could not be fetched.
    Unavailable(BoxError),
}

/// Timing of the cache; see [`CognitoSettings`](super::CognitoSettings) for the defaults.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JwksTiming {
    pub(crate) timeout: Duration,
    pub(crate) cooldown: Duration,
    pub(crate) failure_cooldown: Duration,
    pub(crate) max_age: Duration,
    pub(crate) max_stale: Duration,
}

/// Whether keys may be fetched from `url`: over `https`, or plain `http` to this machine
/// only (an emulator in tests). Keys fetched in the clear could be swapped on the way, and
/// with them every token's signature.
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("JWKS URL {url:?}: {e}"))?;
    let loopback = parsed.host_str().is_some_and(|host| {
        let ip = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || ip
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "JWKS URL {url:?}: the keys must be fetched over https (plain http only from a loopback address)"
        )),
    }
}

/// The key cache of one user pool.
pub(crate) struct Jwks {
    shared: Arc<Shared>,
}

/// What the cache and its fetch tasks share.
struct Shared {
    url: String,
    http: reqwest::Client,
    timing: JwksTiming,
    state: Mutex<State>,
    /// Bumped whenever a fetch ends (or is abandoned), to wake the requests waiting for it.
    fetched: watch::Sender<u64>,
}

#[derive(Default)]
struct State {
    keys: Arc<HashMap<String, Arc<DecodingKey>>>,
    fetched_at: Option<Instant>,
    failed_at: Option<Instant>,
    last_error: Option<String>,
    fetching: bool,
}

enum Next {
    Wait(watch::Receiver<u64>),
    Fetch(watch::Receiver<u64>),
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("url", &self.shared.url)
            .field("timing", &self.shared.timing)
            .finish_non_exhaustive()
    }
}

impl Jwks {
    pub(crate) fn new(url: String, http: reqwest::Client, timing: JwksTiming) -> Self {
        Self {
            shared: Arc::new(Shared {
                url,
                http,
                timing,
                state: Mutex::new(State::default()),
                fetched: watch::Sender::new(0),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }

    /// The key with id `kid`, fetching the pool's keys if need be.
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, KeyError> {
        // One fetch per look-up at most, whatever the cooldowns say.
        let mut fetched = false;
        loop {
            let next = {
                let mut state = self.state();
                let known = state.keys.get(kid).cloned();
                let shared = &self.shared;
                let age = state.fetched_at.map(|at| at.elapsed());
                let stale = age.is_none_or(|age| age >= shared.timing.max_age);
                // Past the stale limit a key is no longer trusted, fetch or no fetch.
                let known = known.filter(|_| age.is_some_and(|age| age < shared.timing.max_stale));
                match known {
                    Some(key) if !stale => return Ok(key),
                    // Someone is fetching fresh keys: the stale ones do meanwhile.
                    Some(key) if state.fetching => return Ok(key),
                    None if state.fetching => Next::Wait(shared.fetched.subscribe()),
                    known if !fetched && shared.may_fetch(&state) => {
                        state.fetching = true;
                        drop(known);
                        Next::Fetch(shared.fetched.subscribe())
                    }
                    Some(key) => return Ok(key),
                    None => return Err(shared.miss(&state)),
                }
            };
            let mut done = match next {
                Next::Wait(done) => done,
                Next::Fetch(done) => {
                    let shared = self.shared.clone();
                    let fetch = async move { shared.refetch().await };
                    tokio::spawn(crate::observe::in_key_set_span(fetch));
                    fetched = true;
                    done
                }
            };
            // The sender lives as long as the cache; an error can't happen, and would only
            // mean looking again.
            let _ = done.changed().await;
        }
    }

    /// Fetches the keys now, at start, so that the first request needs no fetch; the
    /// reason when that failed (requests then fetch again, past the failure cooldown).
    pub(crate) async fn prefetch(&self) -> Result<(), String> {
        let started = {
            let mut state = self.state();
            !std::mem::replace(&mut state.fetching, true)
        };
        if started {
            self.shared.refetch().await;
        } else {
            let mut done = self.shared.fetched.subscribe();
            let _ = done.changed().await;
        }
        let state = self.state();
        match (&state.last_error, state.fetched_at) {
            (None, Some(_)) => Ok(()),
            (error, _) => Err(format!(
                "cannot fetch the pool's keys from {}: {}",
                self.shared.url,
                error.as_deref().unwrap_or("no answer")
            )),
        }
    }

    /// A cache that already holds `keys` and never fetches (for tests of what uses keys, and
    /// the `__fuzz` entry points).
    #[cfg(any(test, feature = "__fuzz"))]
    pub(crate) fn fixed(keys: impl IntoIterator<Item = (String, DecodingKey)>) -> Self {
        let jwks = Self::new(
            "http://127.0.0.1:9/unused".into(),
            reqwest::Client::new(),
            JwksTiming {
                timeout: Duration::from_secs(1),
                cooldown: Duration::MAX,
                failure_cooldown: Duration::MAX,
                max_age: Duration::MAX,
                max_stale: Duration::MAX,
            },
        );
        {
            let mut state = jwks.state();
            state.keys = Arc::new(
                keys.into_iter()
                    .map(|(kid, key)| (kid, Arc::new(key)))
                    .collect(),
            );
            state.fetched_at = Some(Instant::now());
        }
        jwks
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding the lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a fetch may start now, given the cooldowns.
    fn may_fetch(&self, state: &State) -> bool {
        let cooling =
            |at: Option<Instant>, cooldown: Duration| at.is_some_and(|at| at.elapsed() < cooldown);
        !cooling(state.failed_at, self.timing.failure_cooldown)
            && !cooling(state.fetched_at, self.timing.cooldown)
    }

    /// What an unknown key id is, when no fetch may start: unknown if the last fetch worked,
    /// unavailable if it failed (we can't tell a forged key id from a new key).
    fn miss(&self, state: &State) -> KeyError {
        let failed_last = match (state.failed_at, state.fetched_at) {
            (Some(failed), Some(fetched)) => failed > fetched,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if failed_last {
            let error = state.last_error.as_deref().unwrap_or("fetch failed");
            KeyError::Unavailable(format!("JWKS {}: {error}", self.url).into())
        } else {
            KeyError::Unknown
        }
    }

    /// Fetches the keys and records the outcome. The caller set `fetching`.
    async fn refetch(&self) {
        // Resets `fetching` and wakes the waiters whatever happens to this task (a panic, the
        // runtime shutting down): one of them then fetches instead.
        struct Done<'a>(&'a Shared);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.state().fetching = false;
                self.0.fetched.send_modify(|n| *n = n.wrapping_add(1));
            }
        }
        let _done = Done(self);
        let fetch = tokio::time::timeout(self.timing.timeout, self.fetch());
        let result = crate::observe::key_set_fetch(fetch)
            .await
            .unwrap_or_else(|_| Err(format!("timed out after {:?}", self.timing.timeout).into()));
        let mut state = self.state();
        match result {
            Ok(keys) => {
                tracing::debug!(url = %self.url, keys = keys.len(), "JWKS fetched");
                state.keys = Arc::new(keys);
                state.fetched_at = Some(Instant::now());
                state.last_error = None;
            }
            Err(error) => {
                tracing::warn!(url = %self.url, %error, "JWKS fetch failed");
                state.failed_at = Some(Instant::now());
                state.last_error = Some(error.to_string());
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, BoxError> {
        let mut response = self.http.get(&self.url).send().await?;
        if response.url().as_str() != self.url {
            // A client that follows redirects (one given through the options) was sent
            // elsewhere: the keys must come from where they were configured to.
            return Err(format!("redirected to {}", response.url()).into());
        }
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP {status}").into());
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY as u64)
        {
            return Err("document too large".into());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err("document too large".into());
            }
            body.extend_from_slice(&chunk);
        }
        parse(&body)
    }
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

/// One key as Cognito publishes it; other members are ignored.
#[derive(Deserialize)]
struct RsaJwk {
    kid: String,
    kty: String,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: String,
    e: String,
}

/// The usable keys of a JWKS document: RSA keys for signatures, declared RS256 or not
/// declared at all. Any other key is skipped, so a token naming it is rejected as unknown:
/// this is what "the algorithm must match the key" comes down to.
fn parse(body: &[u8]) -> Result<HashMap<String, Arc<DecodingKey>>, BoxError> {
    let document: Document =
        serde_json::from_slice(body).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = HashMap::new();
    for value in document.keys {
        let Ok(jwk) = serde_json::from_value::<RsaJwk>(value) else {
            continue;
        };
        let usable = jwk.kty == "RSA"
            && jwk.alg.as_deref().is_none_or(|alg| alg == "RS256")
            && jwk.use_.as_deref().is_none_or(|use_| use_ == "sig");
        if !usable || jwk.kid.len() > MAX_KID_LEN || keys.len() >= MAX_KEYS {
            tracing::debug!(kid = %jwk.kid.chars().take(64).collect::<String>(), "JWKS key skipped");
            continue;
        }
        match DecodingKey::from_rsa_components(&jwk.n, &jwk.e) {
            Ok(key) => {
                keys.insert(jwk.kid, Arc::new(key));
            }
            Err(e) => tracing::debug!(kid = %jwk.kid, error = %e, "JWKS key unreadable"),
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests;
