//! Checking a Cognito access token before anything in it is believed.
//!
//! In order, each step only run when the one before passed:
//!
//! 1. shape: at most [`MAX_TOKEN_LEN`] bytes, three base64url parts (no JSON is parsed for
//!    anything else);
//! 2. header: `alg` is RS256 — `none`, the HMAC family (the "public key as HMAC secret"
//!    attack) and every other algorithm are refused — and a `kid` of at most
//!    [`MAX_KID_LEN`] bytes; a `crit` header is refused (we understand no extension);
//! 3. key: the pool's key with that `kid`, from the [JWKS cache](super::jwks); keys declared
//!    for another algorithm are not in it;
//! 4. signature, then `iss` (one of the pool's [issuers](crate::CognitoSettings::issuers)), `token_use` = `access`, `client_id` (the app
//!    client or one of the extra ones), and `iat`/`nbf` not in the future beyond the leeway.
//!
//! `exp` is *not* a reason to refuse here: a correctly signed token that expired is how a
//! session whose client was away comes back, and the session layer decides (refresh, or 401
//! when the token is older than any session could be).

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use super::cache::TokenCache;
use super::jwks::{Jwks, KeyError};
use crate::AuthError;
use crate::{Claims, CognitoSettings, InvalidReason, TokenHash};

/// Longest token we look at. Cognito access tokens are about 1 KiB, more with many groups;
/// a cookie can't hold more than 4 KiB anyway.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Longest key id we look up. Cognito's are 44 characters.
pub(crate) const MAX_KID_LEN: usize = 256;

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
const TOKEN_CLAIMS: [&str; 4] = ["iss", "jti", "event_id", "version"];

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

    /// The verified claims of `token` at time `now`, and its hash.
    pub(crate) async fn verify(&self, token: &str, now: u64) -> Result<Verified, AuthError> {
        if let Some(verified) = self.cached(token, now) {
            return Ok(verified);
        }
        // Boxed so that the cache hit, the common case, carries no space for a key fetch.
        let claims = Arc::new(Box::pin(self.verify_uncached(token, now)).await?);
        let hash = TokenHash::of(token);
        self.cache.insert(token, hash, claims.clone(), now);
        Ok(Verified { hash, claims })
    }

    /// What verifying `token` found before, if the cache holds it and it has not expired.
    pub(crate) fn cached(&self, token: &str, now: u64) -> Option<Verified> {
        self.cache.get(token, now)
    }

    /// The claims named by `names` of the ID token `token`, which must be signed by the
    /// pool, issued by it, for the app client (`aud`), an ID token (`token_use` = `id`),
    /// not expired (beyond the leeway), and about the user `sub` (the access token's).
    pub(crate) async fn verify_id(
        &self,
        token: &str,
        sub: &str,
        names: &IdClaimNames,
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
            claims: Claims {
                groups: payload.groups,
                scopes: scopes.split_ascii_whitespace().map(str::to_owned).collect(),
                other,
            },
        })
    }
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
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{Value, json};

    use super::test_keys::{key, other, sign};
    use super::*;

    const NOW: u64 = 1_700_000_000;
    const POOL: &str = "us-east-1_abc";

    fn settings() -> CognitoSettings {
        let mut settings = CognitoSettings::new(POOL, "client");
        settings.extra_client_ids = vec!["mobile".into()];
        settings
    }

    fn verifier() -> Verifier {
        let jwks = Jwks::fixed([("k1".to_owned(), key().decoding.clone())]);
        Verifier::new(
            &settings(),
            Duration::from_secs(60),
            jwks,
            TokenCache::new(100, 1 << 20),
        )
    }

    fn claims() -> Value {
        json!({
            "sub": "sub-1",
            "iss": settings().issuer(),
            "client_id": "client",
            "origin_jti": "ojti-1",
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "username": "alice",
            "iat": NOW - 10,
            "exp": NOW + 3590,
            "jti": "jti-1",
        })
    }

    fn with(changes: Value) -> Value {
        let mut claims = claims();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    }

    async fn check(v: &Verifier, token: &str) -> Result<Arc<AccessClaims>, AuthError> {
        v.verify(token, NOW).await.map(|verified| verified.claims)
    }

    fn assert_malformed(result: Result<Arc<AccessClaims>, AuthError>, what: &str) {
        match result {
            Err(AuthError::Invalid(InvalidReason::Malformed)) => {}
            other => panic!("{what}: expected Malformed, got {other:?}"),
        }
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[tokio::test]
    async fn a_good_token_verifies_and_decodes() {
        // Also proves that jsonwebtoken has exactly one crypto backend: with none or two it
        // panics at the first decode.
        let v = verifier();
        let claims = check(&v, &sign(&claims(), key(), "k1")).await.unwrap();
        assert_eq!(
            *claims,
            AccessClaims {
                sub: "sub-1".into(),
                username: "alice".into(),
                client_id: "client".into(),
                origin_jti: Some("ojti-1".into()),
                exp: NOW + 3590,
                claims: Claims::new().with_scopes(["aws.cognito.signin.user.admin"]),
            }
        );
        let mobile = sign(&with(json!({ "client_id": "mobile" })), key(), "k1");
        assert!(
            check(&v, &mobile).await.is_ok(),
            "extra client ids are accepted"
        );
    }

    #[tokio::test]
    async fn groups_scopes_and_custom_claims_are_kept_and_token_claims_are_not() {
        let v = verifier();
        let token = sign(
            &with(json!({
                "cognito:groups": ["admins", "staff"],
                "scope": "orders/read  orders/write openid",
                "custom:tenant": "acme",
                "auth_time": NOW - 100,
                "event_id": "e-1",
                "version": 2,
            })),
            key(),
            "k1",
        );
        let claims = check(&v, &token).await.unwrap();
        assert_eq!(claims.claims.groups, ["admins", "staff"]);
        assert_eq!(
            claims.claims.scopes,
            ["orders/read", "orders/write", "openid"]
        );
        let mut names: Vec<&str> = claims.claims.other.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["auth_time", "custom:tenant"]);
        assert_eq!(claims.claims.other["custom:tenant"], "acme");

        // A groups claim that isn't a list of names is not a token Cognito signed.
        let odd = sign(&with(json!({ "cognito:groups": "admins" })), key(), "k1");
        assert_malformed(check(&v, &odd).await, "groups as a string");
    }

    #[tokio::test]
    async fn both_issuer_forms_and_configured_extra_regions_are_accepted() {
        let mut settings = settings();
        settings.extra_regions = vec!["eu-west-1".into()];
        let jwks = Jwks::fixed([("k1".to_owned(), key().decoding.clone())]);
        let v = Verifier::new(
            &settings,
            Duration::from_secs(60),
            jwks,
            TokenCache::new(10, 1 << 20),
        );
        let with_iss = |iss: &str| sign(&with(json!({ "iss": iss })), key(), "k1");
        for host in ["cognito-idp", "issuer-cognito-idp"] {
            for region in ["us-east-1", "eu-west-1"] {
                let iss = format!("https://{host}.{region}.amazonaws.com/{POOL}");
                assert!(check(&v, &with_iss(&iss)).await.is_ok(), "{iss}");
            }
            // A region that isn't configured, and the right region with another pool.
            let unconfigured = format!("https://{host}.ap-south-1.amazonaws.com/{POOL}");
            assert_malformed(check(&v, &with_iss(&unconfigured)).await, &unconfigured);
            let other_pool = format!("https://{host}.us-east-1.amazonaws.com/us-east-1_xyz");
            assert_malformed(check(&v, &with_iss(&other_pool)).await, &other_pool);
        }
        // Without extra regions, the replica's issuer is refused.
        let replica = "https://issuer-cognito-idp.eu-west-1.amazonaws.com/us-east-1_abc";
        assert_malformed(check(&verifier(), &with_iss(replica)).await, replica);
        let lookalike = "https://issuer-cognito-idp.us-east-1.amazonaws.com.evil/us-east-1_abc";
        assert_malformed(check(&verifier(), &with_iss(lookalike)).await, lookalike);
    }

    #[tokio::test]
    async fn an_expired_token_still_verifies() {
        let v = verifier();
        let expired = sign(
            &with(json!({ "iat": NOW - 7200, "exp": NOW - 3600 })),
            key(),
            "k1",
        );
        assert_eq!(check(&v, &expired).await.unwrap().exp, NOW - 3600);
    }

    #[tokio::test]
    async fn wrong_claims_are_refused() {
        let v = verifier();
        let cases = [
            (
                "issuer",
                json!({ "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other" }),
            ),
            ("no issuer", json!({ "iss": null })),
            ("id token", json!({ "token_use": "id" })),
            ("other client", json!({ "client_id": "stranger" })),
            ("no client", json!({ "client_id": null })),
            ("no username", json!({ "username": null })),
            ("no exp", json!({ "exp": null })),
            ("no sub", json!({ "sub": null })),
            ("iat in the future", json!({ "iat": NOW + 61 })),
            ("nbf in the future", json!({ "nbf": NOW + 61 })),
        ];
        for (what, changes) in cases {
            assert_malformed(check(&v, &sign(&with(changes), key(), "k1")).await, what);
        }
        let within_leeway = sign(
            &with(json!({ "iat": NOW + 60, "nbf": NOW + 60 })),
            key(),
            "k1",
        );
        assert!(check(&v, &within_leeway).await.is_ok());
    }

    #[tokio::test]
    async fn forged_signatures_and_algorithms_are_refused() {
        let v = verifier();
        let good = sign(&claims(), key(), "k1");
        let (header, rest) = good.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();

        let other_key = sign(&claims(), other(), "k1");
        let altered = format!(
            "{header}.{}.{signature}",
            b64(&with(json!({ "sub": "sub-2" })))
        );
        let none = format!(
            "{}.{}.",
            b64(&json!({ "alg": "none", "kid": "k1" })),
            b64(&claims())
        );
        let none_signed = format!(
            "{}.{}.{signature}",
            b64(&json!({ "alg": "none", "kid": "k1" })),
            b64(&claims())
        );
        // The classic confusion: HMAC with the public key as the secret.
        let mut hs = Header::new(jsonwebtoken::Algorithm::HS256);
        hs.kid = Some("k1".into());
        let hs256 = jsonwebtoken::encode(
            &hs,
            &claims(),
            &EncodingKey::from_secret(key().public_n.as_bytes()),
        )
        .unwrap();
        let mut rs512 = Header::new(jsonwebtoken::Algorithm::RS512);
        rs512.kid = Some("k1".into());
        let rs512 = jsonwebtoken::encode(&rs512, &claims(), &key().encoding).unwrap();
        let mut crit = Header::new(jsonwebtoken::Algorithm::RS256);
        crit.kid = Some("k1".into());
        crit.crit = Some(vec!["exp".into()]);
        let crit = jsonwebtoken::encode(&crit, &claims(), &key().encoding).unwrap();
        let no_kid = jsonwebtoken::encode(
            &Header::new(jsonwebtoken::Algorithm::RS256),
            &claims(),
            &key().encoding,
        )
        .unwrap();
        let long_kid = sign(&claims(), key(), &"k".repeat(MAX_KID_LEN + 1));

        let cases = [
            ("signed by another key", other_key),
            ("altered payload", altered),
            ("alg none", none),
            ("alg none with a signature", none_signed),
            ("HS256 with the public key", hs256),
            ("RS512", rs512),
            ("crit", crit),
            ("no kid", no_kid),
            ("long kid", long_kid),
            ("unknown kid", sign(&claims(), key(), "k2")),
            ("two parts", format!("{header}.{}", b64(&claims()))),
            ("four parts", format!("{good}.{signature}")),
            ("not base64", format!("{header}.{{}}.{signature}")),
            (
                "huge",
                format!("{header}.{}.{signature}", "A".repeat(MAX_TOKEN_LEN)),
            ),
            ("empty", String::new()),
        ];
        for (what, token) in cases {
            assert_malformed(check(&v, &token).await, what);
        }
        assert!(check(&v, &good).await.is_ok());
    }

    fn id_claims() -> Value {
        json!({
            "sub": "sub-1",
            "iss": settings().issuer(),
            "aud": "client",
            "token_use": "id",
            "cognito:username": "alice",
            "cognito:groups": ["admins"],
            "email": "alice@example.com",
            "email_verified": true,
            "name": "Alice",
            "custom:team": "blue",
            "custom:level": "3",
            "origin_jti": "ojti-1",
            "at_hash": "h",
            "iat": NOW - 10,
            "exp": NOW + 3590,
            "jti": "jti-2",
        })
    }

    fn id_with(changes: Value) -> String {
        let mut claims = id_claims();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        sign(&claims, key(), "k1")
    }

    fn names(names: &[&str]) -> IdClaimNames {
        IdClaimNames::new(names.iter().map(|&n| n.to_owned()).collect())
    }

    #[tokio::test]
    async fn an_id_token_gives_the_chosen_claims_only() {
        let v = verifier();
        let wanted = names(&["email", "custom:*", "aud", "cognito:groups", "at_hash"]);
        let claims = v
            .verify_id(&id_with(json!({})), "sub-1", &wanted, NOW)
            .await
            .unwrap();
        let mut got: Vec<&str> = claims.keys().map(String::as_str).collect();
        got.sort_unstable();
        // Token claims and groups are never taken, even when named.
        assert_eq!(got, ["custom:level", "custom:team", "email"]);
        assert_eq!(claims["email"], "alice@example.com");
        let none = v
            .verify_id(&id_with(json!({})), "sub-1", &names(&["phone_number"]), NOW)
            .await
            .unwrap();
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn an_id_token_for_another_client_user_or_use_is_refused() {
        let v = verifier();
        let wanted = names(&["email"]);
        let cases = [
            ("another audience", id_with(json!({ "aud": "stranger" }))),
            // Extra client ids are for access tokens: log-in and refresh use the main one.
            (
                "an extra client's audience",
                id_with(json!({ "aud": "mobile" })),
            ),
            ("no audience", id_with(json!({ "aud": null }))),
            ("an access token", id_with(json!({ "token_use": "access" }))),
            ("no token_use", id_with(json!({ "token_use": null }))),
            (
                "expired",
                id_with(json!({ "iat": NOW - 7200, "exp": NOW - 61 })),
            ),
            ("iat in the future", id_with(json!({ "iat": NOW + 61 }))),
            (
                "another issuer",
                id_with(
                    json!({ "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x" }),
                ),
            ),
            ("signed by another key", sign(&id_claims(), other(), "k1")),
            ("not a JWT", "a.b".to_owned()),
        ];
        for (what, token) in cases {
            match v.verify_id(&token, "sub-1", &wanted, NOW).await {
                Err(AuthError::Invalid(InvalidReason::Malformed)) => {}
                other => panic!("{what}: expected Malformed, got {other:?}"),
            }
        }
        match v
            .verify_id(&id_with(json!({})), "sub-2", &wanted, NOW)
            .await
        {
            Err(AuthError::Invalid(InvalidReason::Malformed)) => {}
            other => panic!("another user's ID token: {other:?}"),
        }
        // Expired within the leeway still passes: it was issued moments ago.
        let late = id_with(json!({ "exp": NOW - 30 }));
        assert!(v.verify_id(&late, "sub-1", &wanted, NOW).await.is_ok());
    }

    #[tokio::test]
    async fn verified_tokens_are_cached_until_exp() {
        let v = verifier();
        let token = sign(&claims(), key(), "k1");
        let first = v.verify(&token, NOW).await.unwrap().claims;
        let again = v.verify(&token, NOW + 1).await.unwrap().claims;
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second look-up is a cache hit"
        );
        assert_eq!(v.cache.len(), 1);
        // Past exp the token is verified again (and is still valid: expiry is for the
        // session layer), but not cached.
        let late = v.verify(&token, NOW + 4000).await.unwrap().claims;
        assert!(!Arc::ptr_eq(&first, &late));
        assert_eq!(v.cache.len(), 0);
    }
}
