//! Checking a Cognito access token before anything in it is believed.
//!
//! In order, each step only run when the one before passed:
//!
//! 1. shape: at most [`MAX_TOKEN_LEN`] bytes, three base64url parts (no JSON is parsed for
//!    anything else);
//! 2. header: `alg` is RS256 — `none`, the HMAC family (the "public key as HMAC secret"
//!    attack) and every other algorithm are refused — and a `kid` of at most
//!    [`MAX_KID_LEN`](super::jwks::MAX_KID_LEN) bytes; a `crit` header is refused (we understand no extension);
//! 3. key: the pool's key with that `kid`, from the [JWKS cache](super::jwks); keys declared
//!    for another algorithm are not in it;
//! 4. signature, then `iss` (one of the pool's [issuers](crate::cognito::CognitoSettings::issuers)), `token_use` = `access`, `client_id` (the app
//!    client or one of the extra ones), and `iat`/`nbf` not in the future beyond the leeway.
//!
//! `exp` is *not* a reason to refuse here: a correctly signed token that expired is how a
//! session whose client was away comes back, and the session layer decides (refresh, or 401
//! when the token is older than any session could be).

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use super::cache::{KeptView, TokenCache};
pub(crate) use super::claims::{AccessClaims, Verified};
use super::jwks::{Jwks, KeyError, MAX_KID_LEN};
use crate::AuthError;
use crate::cognito::CognitoSettings;
use crate::{Claims, InvalidReason, TokenHash};

/// Longest token we look at. Cognito access tokens are about 1 KiB, more with many groups;
/// a cookie can't hold more than 4 KiB anyway.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The payload as Cognito writes it; `iss` and `exp` are also checked by `jsonwebtoken`.
#[derive(Deserialize)]
struct Payload {
    sub: String,
    username: String,
    client_id: String,
    token_use: String,
    exp: u64,
    iat: u64,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    origin_jti: Option<String>,
    #[serde(default, rename = "cognito:groups")]
    groups: Vec<String>,
    #[serde(default)]
    scope: Option<String>,
    /// Every claim not named above.
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

/// Claims about the token rather than the user, which are not kept among
/// [`Claims::other`] (those not already taken by [`Payload`]'s fields).
const TOKEN_CLAIMS: [&str; 5] = ["iss", "aud", "jti", "event_id", "version"];

/// The payload of an ID token, as far as it is checked; `iss`, `aud` and `exp` are also
/// checked by `jsonwebtoken`.
#[derive(Deserialize)]
struct IdPayload {
    sub: String,
    token_use: String,
    exp: u64,
    iat: u64,
    #[serde(default)]
    nbf: Option<u64>,
    /// Every claim not named above.
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

/// Claims of an ID token about the token rather than the user: never taken, whatever the
/// [names](IdClaimNames) say.
const ID_TOKEN_CLAIMS: [&str; 10] = [
    "iss",
    "aud",
    "azp",
    "jti",
    "origin_jti",
    "event_id",
    "at_hash",
    "nonce",
    "version",
    "cognito:groups",
];

/// Which claims of the ID token a session keeps: names, and prefixes written `name*`
/// (e.g. `custom:*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct IdClaimNames(Vec<String>);

impl IdClaimNames {
    pub(crate) fn new(names: Vec<String>) -> Self {
        Self(names)
    }

    /// Whether no claim is wanted: the ID token is not read at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the claim `name` is wanted.
    pub(crate) fn wants(&self, name: &str) -> bool {
        !ID_TOKEN_CLAIMS.contains(&name)
            && self.0.iter().any(|wanted| match wanted.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => wanted == name,
            })
    }
}

/// Verifies access tokens of one user pool.
pub(crate) struct Verifier {
    clients: Vec<String>,
    leeway: u64,
    validation: Validation,
    /// For ID tokens: `aud` must be the app client that logs in and refreshes.
    id_validation: Validation,
    jwks: Jwks,
    cache: TokenCache,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("clients", &self.clients)
            .field("leeway", &self.leeway)
            .field("jwks", &self.jwks)
            .finish_non_exhaustive()
    }
}

const fn malformed() -> AuthError {
    AuthError::Invalid(InvalidReason::Malformed)
}

impl Verifier {
    pub(crate) fn new(
        settings: &CognitoSettings,
        leeway: Duration,
        jwks: Jwks,
        cache: TokenCache,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&settings.issuers());
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // Time is checked below, by the manager's clock; `aud` is not in access tokens,
        // `client_id` is checked instead.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let mut id_validation = Validation::new(Algorithm::RS256);
        id_validation.set_issuer(&settings.issuers());
        id_validation.set_audience(&[&settings.client_id]);
        id_validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        id_validation.validate_exp = false;
        id_validation.validate_nbf = false;
        let mut clients = vec![settings.client_id.clone()];
        clients.extend(settings.extra_client_ids.iter().cloned());
        Self {
            clients,
            leeway: leeway.as_secs(),
            validation,
            id_validation,
            jwks,
            cache,
        }
    }

    /// Fetches the pool's keys now (see [`Jwks::prefetch`]).
    pub(crate) async fn prefetch_keys(&self) -> Result<(), String> {
        self.jwks.prefetch().await
    }

    /// The verified claims of `token` at time `now`, and its hash.
    pub(crate) async fn verify(&self, token: &str, now: u64) -> Result<Verified, AuthError> {
        if let Some(verified) = self.cache.get(token, now) {
            return Ok(verified);
        }
        // Boxed so that the cache hit, the common case, carries no space for a key fetch.
        let claims = Arc::new(Box::pin(self.verify_uncached(token, now)).await?);
        let hash = TokenHash::of(token);
        self.cache.insert(token, hash, claims.clone(), now);
        Ok(Verified { hash, claims })
    }

    /// What verifying `token` found before, if the cache holds it and it has not expired,
    /// with what the cache keeps of the token's session for [`user_view`](Self::user_view).
    pub(crate) fn cached_with_view(&self, token: &str, now: u64) -> Option<(Verified, KeptView)> {
        self.cache.get_with_view(token, now)
    }

    /// The session `record` of `token` as its user sees it (without its tokens), shared by
    /// the token's requests while the record stays the same (see the cache).
    pub(crate) fn user_view(
        &self,
        token: &str,
        record: &Arc<crate::SessionRecord>,
        kept: KeptView,
    ) -> Arc<crate::SessionRecord> {
        self.cache.user_view(token, record, kept)
    }

    /// The claims named by `names` of the ID token `token`, which must be signed by the
    /// pool, issued by it, for the app client (`aud`), an ID token (`token_use` = `id`),
    /// not expired (beyond the leeway), about the user `sub` (the access token's), and,
    /// when `nonce` is given, carrying it (a managed login's ID token).
    pub(crate) async fn verify_id(
        &self,
        token: &str,
        sub: &str,
        names: &IdClaimNames,
        nonce: Option<&str>,
        now: u64,
    ) -> Result<serde_json::Map<String, serde_json::Value>, AuthError> {
        let key = Box::pin(self.key_for(token)).await?;
        let payload = decode::<IdPayload>(token, &key, &self.id_validation)
            .map_err(|e| {
                tracing::debug!(error = ?e.kind(), "ID token refused");
                malformed()
            })?
            .claims;
        let future = |t: u64| t > now.saturating_add(self.leeway);
        if payload.token_use != "id"
            || payload.sub != sub
            || payload.exp.saturating_add(self.leeway) <= now
            || future(payload.iat)
            || payload.nbf.is_some_and(future)
            || nonce.is_some_and(|nonce| !same_nonce(&payload.other, nonce))
        {
            tracing::debug!(token_use = %payload.token_use, "ID token refused: claims");
            return Err(malformed());
        }
        let mut claims = payload.other;
        claims.retain(|name, _| names.wants(name));
        Ok(claims)
    }

    /// The pool's key that signed `token`, once its shape and header pass.
    async fn key_for(&self, token: &str) -> Result<Arc<DecodingKey>, AuthError> {
        if !well_formed(token) {
            return Err(malformed());
        }
        let header = decode_header(token).map_err(|_| malformed())?;
        if header.alg != Algorithm::RS256 || header.crit.is_some() {
            tracing::debug!(alg = ?header.alg, "token refused: algorithm");
            return Err(malformed());
        }
        let kid = header
            .kid
            .filter(|kid| !kid.is_empty() && kid.len() <= MAX_KID_LEN)
            .ok_or_else(malformed)?;
        match self.jwks.key(&kid).await {
            Ok(key) => Ok(key),
            Err(KeyError::Unknown) => {
                tracing::debug!("token refused: unknown key id");
                Err(malformed())
            }
            Err(KeyError::Unavailable(e)) => Err(AuthError::Unavailable(e)),
        }
    }

    async fn verify_uncached(&self, token: &str, now: u64) -> Result<AccessClaims, AuthError> {
        let key = self.key_for(token).await?;
        let payload = decode::<Payload>(token, &key, &self.validation)
            .map_err(|e| {
                tracing::debug!(error = ?e.kind(), "token refused");
                malformed()
            })?
            .claims;
        let future = |t: u64| t > now.saturating_add(self.leeway);
        if payload.token_use != "access"
            || !self.clients.contains(&payload.client_id)
            || future(payload.iat)
            || payload.nbf.is_some_and(future)
        {
            tracing::debug!(token_use = %payload.token_use, "token refused: claims");
            return Err(malformed());
        }
        let mut other = payload.other;
        for name in TOKEN_CLAIMS {
            other.remove(name);
        }
        let scopes = payload.scope.as_deref().unwrap_or_default();
        Ok(AccessClaims {
            sub: payload.sub,
            username: payload.username,
            client_id: payload.client_id,
            origin_jti: payload.origin_jti,
            exp: payload.exp,
            claims: Claims::new()
                .with_groups(payload.groups)
                .with_scopes(scopes.split_ascii_whitespace())
                .with_claims(other),
        })
    }
}

/// Whether the ID token's `nonce` claim is `expected`, compared in constant time.
fn same_nonce(claims: &serde_json::Map<String, serde_json::Value>, expected: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    claims
        .get("nonce")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|nonce| bool::from(nonce.as_bytes().ct_eq(expected.as_bytes())))
}

/// Three non-empty base64url parts (the signature may not be empty either), short enough.
fn well_formed(token: &str) -> bool {
    let b64url = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    token.len() <= MAX_TOKEN_LEN && {
        let mut parts = token.split('.');
        parts.by_ref().take(3).all(b64url)
            && parts.next().is_none()
            && token.matches('.').count() == 2
    }
}

// The tests' own key code, shared with tests/ and benches/.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../../tests/common/keys.rs"]
mod shared_keys;

#[cfg(test)]
pub(crate) mod test_keys {
    //! RSA keys made for the tests, and a signer.

    use std::sync::OnceLock;

    use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
    use jsonwebtoken::{DecodingKey, EncodingKey, Header};

    /// A 2048-bit RSA key pair, made once per test binary.
    pub(crate) struct TestKey {
        pub(crate) encoding: EncodingKey,
        pub(crate) decoding: DecodingKey,
        /// The public modulus (base64url), for the "public key as HMAC secret" attack.
        pub(crate) public_n: String,
    }

    fn make(encoding: EncodingKey) -> TestKey {
        let jwk = Jwk::from_encoding_key(&encoding, jsonwebtoken::Algorithm::RS256).unwrap();
        let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
            unreachable!("an RSA key")
        };
        TestKey {
            decoding: DecodingKey::from_rsa_components(&rsa.n, &rsa.e).unwrap(),
            public_n: rsa.n.clone(),
            encoding,
        }
    }

    /// The first test key (the committed fixture); `other()` is a second one, made once
    /// per test binary.
    pub(crate) fn key() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(|| make(super::shared_keys::fixture()))
    }

    pub(crate) fn other() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(|| make(super::shared_keys::fresh()))
    }

    /// Signs `claims` with `key` under `kid`, RS256.
    pub(crate) fn sign(claims: &serde_json::Value, key: &TestKey, kid: &str) -> String {
        let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
    }
}

#[cfg(test)]
mod tests;
