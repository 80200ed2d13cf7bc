//! The metrics this crate records (feature `metrics`), through the [`metrics`](https://docs.rs/metrics)
//! crate's facade: install any recorder (a Prometheus exporter, StatsD, ...) and they
//! appear; with none installed they cost a load of the global recorder each.
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `cognito_session_requests_total` | counter | `outcome`, `reason` | requests through [`SessionLayer`](crate::SessionLayer), by how they ended (below) |
//! | `cognito_session_refreshes_total` | counter | `result`: `ok`, `refused`, `failed` | refreshes of Cognito tokens: new tokens stored (or adopted from a process that refreshed first); refused by Cognito or another session's (the session ended); Cognito or the store could not be asked (the session is unchanged) |
//! | `cognito_session_key_set_fetches_total` | counter | `result`: `ok`, `error`, `timeout` | fetches of the user pool's signing keys (JWKS) |
//! | `cognito_session_key_set_fetch_duration_seconds` | histogram | `result` | how long each of those fetches took |
//! | `cognito_session_cognito_call_duration_seconds` | histogram | `op` (Cognito's operation: `InitiateAuth`, `RespondToAuthChallenge`, `GetTokensFromRefreshToken`, `RevokeToken`, ...), `result`: `ok`, `error`, `timeout` | every call of Cognito's API; `error` is any error answer (a wrong password too) or no connection |
//! | `cognito_session_store_call_duration_seconds` | histogram | `op`: `create`, `load`, `update`, `touch`, `take`, `delete`, `delete_version`, `delete_user`, `list_user`; `result`: `ok`, `conflict`, `error` | every awaited call of the session store (not [`load_now`](crate::store::SessionStore::load_now), which answers from memory) |
//! | `cognito_session_cache_hits_total` | counter | | requests [`CachedStore`](crate::store::CachedStore) answered from its memory |
//! | `cognito_session_cache_misses_total` | counter | | requests it could not, which then read the store |
//! | `cognito_session_sessions_created_total` | counter | `kind`: `opaque`, `cognito` | sessions created by a log-in ([`create`](crate::SessionManager::create), a Cognito log-in); a rotation or a refresh creates none |
//! | `cognito_session_sessions_deleted_total` | counter | | sessions ended by a log-out: [`delete`](crate::SessionManager::delete), [`delete_user`](crate::SessionManager::delete_user) |
//! | `cognito_session_rows_refused_total` | counter | `reason`: `unsigned`, `invalid` | session rows the DynamoDB store refused for their MAC (see [Signed rows](crate::store::dynamodb#signed-rows)): a row the store did not write, or one changed since; each is a 401 |
//!
//! The `outcome` and `reason` of a request (also the fields of its tracing span):
//!
//! | `outcome` | `reason` | the answer |
//! |---|---|---|
//! | `ok` | `current` | the inner service runs with the user |
//! | `ok` | `new_token` | the same, and the client gets a new token (rotation, refresh) |
//! | `anonymous` | `no_token`, `malformed`, `not_found` | no usable token, and [none is required](crate::SessionLayer::with_required): the inner service runs without a user |
//! | `missing` | `no_token` | 401, no token in the request |
//! | `invalid` | `malformed`, `not_found` | 401: not a token this layer accepts; no live session holds it |
//! | `bad_request` | `ambiguous` | 400: two `Authorization` headers, or two session cookies |
//! | `forbidden` | `cross_site` | 403: a cookie request from another site ([CSRF](crate::csrf)) |
//! | `unavailable` | `store`, `cognito` | 503: the store, or Cognito or its key set, could not answer |
//!
//! Durations are in seconds. [`describe`] registers a description and unit for each name,
//! for exporters that print them (Prometheus' `# HELP`).
//!
//! ```
//! // Once at start, after installing the recorder:
//! cognito_session::metrics::describe();
//! ```

/// `cognito_session_requests_total`: requests through the layer, by `outcome` and `reason`.
pub const REQUESTS: &str = "cognito_session_requests_total";
/// `cognito_session_refreshes_total`: refreshes of Cognito tokens, by `result`.
pub const REFRESHES: &str = "cognito_session_refreshes_total";
/// `cognito_session_key_set_fetches_total`: fetches of the pool's key set, by `result`.
pub const KEY_SET_FETCHES: &str = "cognito_session_key_set_fetches_total";
/// `cognito_session_key_set_fetch_duration_seconds`: how long fetches of the key set took.
pub const KEY_SET_FETCH_SECONDS: &str = "cognito_session_key_set_fetch_duration_seconds";
/// `cognito_session_cognito_call_duration_seconds`: how long calls of Cognito took, by `op`
/// and `result`.
pub const COGNITO_CALL_SECONDS: &str = "cognito_session_cognito_call_duration_seconds";
/// `cognito_session_store_call_duration_seconds`: how long calls of the store took, by `op`
/// and `result`.
pub const STORE_CALL_SECONDS: &str = "cognito_session_store_call_duration_seconds";
/// `cognito_session_cache_hits_total`: look-ups `CachedStore` answered from memory.
pub const CACHE_HITS: &str = "cognito_session_cache_hits_total";
/// `cognito_session_cache_misses_total`: look-ups `CachedStore` could not answer.
pub const CACHE_MISSES: &str = "cognito_session_cache_misses_total";
/// `cognito_session_sessions_created_total`: sessions created by a log-in, by `kind`.
pub const SESSIONS_CREATED: &str = "cognito_session_sessions_created_total";
/// `cognito_session_sessions_deleted_total`: sessions ended by a log-out.
pub const SESSIONS_DELETED: &str = "cognito_session_sessions_deleted_total";
/// `cognito_session_rows_refused_total`: session rows refused for their MAC, by `reason`.
pub const ROWS_REFUSED: &str = "cognito_session_rows_refused_total";

/// Every metric's name, kind, unit and description: what [`describe`] registers.
pub const ALL: [(&str, Kind, &str); 11] = [
    (
        REQUESTS,
        Kind::Counter,
        "Requests through SessionLayer, by outcome and reason.",
    ),
    (
        REFRESHES,
        Kind::Counter,
        "Refreshes of Cognito tokens, by result (ok, refused, failed).",
    ),
    (
        KEY_SET_FETCHES,
        Kind::Counter,
        "Fetches of the user pool's signing keys, by result.",
    ),
    (
        KEY_SET_FETCH_SECONDS,
        Kind::Histogram,
        "How long fetches of the user pool's signing keys took.",
    ),
    (
        COGNITO_CALL_SECONDS,
        Kind::Histogram,
        "How long calls of Cognito's API took, by operation and result.",
    ),
    (
        STORE_CALL_SECONDS,
        Kind::Histogram,
        "How long calls of the session store took, by operation and result.",
    ),
    (
        CACHE_HITS,
        Kind::Counter,
        "Look-ups CachedStore answered from its memory.",
    ),
    (
        CACHE_MISSES,
        Kind::Counter,
        "Look-ups CachedStore could not answer from its memory.",
    ),
    (
        SESSIONS_CREATED,
        Kind::Counter,
        "Sessions created by a log-in, by kind (opaque, cognito).",
    ),
    (
        SESSIONS_DELETED,
        Kind::Counter,
        "Sessions ended by a log-out.",
    ),
    (
        ROWS_REFUSED,
        Kind::Counter,
        "Session rows refused for a missing or invalid MAC, by reason.",
    ),
];

/// What kind of metric a name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A count that only goes up.
    Counter,
    /// A distribution of durations, in seconds.
    Histogram,
}

/// Registers the description and unit of every metric with the installed recorder. Call it
/// once after installing one; metrics work without it, but exporters then print no help
/// text.
pub fn describe() {
    for (name, kind, description) in ALL {
        match kind {
            Kind::Counter => {
                ::metrics::describe_counter!(name, ::metrics::Unit::Count, description)
            }
            Kind::Histogram => {
                ::metrics::describe_histogram!(name, ::metrics::Unit::Seconds, description)
            }
        }
    }
}
