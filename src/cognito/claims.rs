//! What verifying an access token yields: the claims sessions use, and the token's hash.
//! Data only, shared by the verifier and the verified-token cache.

use std::sync::Arc;

use crate::{Claims, TokenHash};

/// A token that passed verification: its claims, and its hash (what sessions store).
#[derive(Clone)]
pub(crate) struct Verified {
    pub(crate) hash: TokenHash,
    pub(crate) claims: Arc<AccessClaims>,
}

/// The claims of a verified access token that sessions use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessClaims {
    /// The user's id.
    pub(crate) sub: String,
    /// The user's name in the pool: what `SECRET_HASH` is computed over.
    pub(crate) username: String,
    /// The app client the token was issued to.
    pub(crate) client_id: String,
    /// Id of the log-in, the same for every token refreshed from it.
    pub(crate) origin_jti: Option<String>,
    /// When the token expires, epoch seconds.
    pub(crate) exp: u64,
    /// Groups, scopes and the other claims about the user, for the session record.
    pub(crate) claims: Claims,
}
