//! The session record and the hashes that key it.

use std::fmt;

use std::num::NonZeroU64;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::Secret;

/// The SHA-256 of a token. The store keeps these, never the token itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a token.
    pub fn of(token: &str) -> Self {
        Self::of_bytes(token.as_bytes())
    }

    pub(crate) fn of_bytes(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The hash as lowercase hex: the session key of an opaque session, and how stores
    /// write the hash.
    pub fn to_hex(&self) -> String {
        self.hex().as_str().to_owned()
    }

    /// The hex on the stack, for look-ups that need no `String` (one per request).
    pub(crate) fn hex(&self) -> Hex {
        // Two digits a byte from one table look-up.
        const PAIRS: [[u8; 2]; 256] = {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            let mut pairs = [[0u8; 2]; 256];
            let mut b = 0;
            while b < 256 {
                pairs[b] = [DIGITS[b >> 4], DIGITS[b & 0xf]];
                b += 1;
            }
            pairs
        };
        let mut hex = [0u8; 64];
        for (digits, byte) in hex.chunks_exact_mut(2).zip(self.0) {
            digits.copy_from_slice(&PAIRS[usize::from(byte)]);
        }
        Hex(hex)
    }

    /// The hash's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses what [`TokenHash::to_hex`] wrote.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(out))
    }

    /// Compares in constant time, so a timing side channel can't reveal a stored hash.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        // Word by word, with one optimisation barrier at the end: a byte-wise `ct_eq` puts
        // one barrier on each of the 32 bytes, and this runs on every request.
        let words = |hash: &[u8; 32]| {
            let mut words = [0u64; 4];
            for (word, bytes) in words.iter_mut().zip(hash.chunks_exact(8)) {
                *word = u64::from_ne_bytes(bytes.try_into().expect("8 bytes"));
            }
            words
        };
        let (a, b) = (words(&self.0), words(&other.0));
        let diff = (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]);
        subtle::ConstantTimeEq::ct_eq(&diff, &0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell two hashes apart in a log.
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

/// A [`TokenHash`] in lowercase hex.
pub(crate) struct Hex([u8; 64]);

impl Hex {
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

/// The Cognito tokens a session holds server-side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CognitoTokens {
    /// The access token the client holds now; kept so that a request that lost a refresh race
    /// can be handed the winner's token.
    pub access_token: Secret,
    /// The refresh token. It never leaves the server.
    pub refresh_token: Secret,
    /// When the access token expires, in epoch seconds.
    pub access_expires_at: u64,
}

/// What a session knows of its user beyond the name: groups, scopes and other claims, kept
/// with the session (never a token).
///
/// For a Cognito session these are the verified claims of its access token — `cognito:groups`,
/// the space-separated `scope`, and every other claim that is not about the token itself
/// (custom claims a pre-token-generation trigger adds included) — written at log-in and
/// replaced at each refresh, so a change in the user pool takes effect within one token
/// lifetime. For an opaque session they are what the application gave
/// [`SessionManager::create_with`](crate::SessionManager::create_with).
///
/// Claims left out of [`other`](Self::other) are those about the token rather than the user
/// (`iss`, `sub`, `exp`, `iat`, `nbf`, `jti`, `origin_jti`, `event_id`, `token_use`,
/// `client_id`, `username`, `version`): they change at every refresh or are kept elsewhere.
///
/// ```
/// use cognito_session::Claims;
///
/// let claims = Claims::new()
///     .with_groups(["admins", "staff"])
///     .with_claim("custom:tenant", "acme".into());
/// assert!(claims.has_group("admins"));
/// assert!(!claims.has_scope("orders/write"));
/// assert_eq!(claims.get("custom:tenant"), Some(&"acme".into()));
/// ```
// One word while empty, as most sessions' claims are: every record in a store holds one.
#[derive(Clone, Default)]
pub struct Claims(Option<Box<ClaimSet>>);

#[derive(Clone, Default)]
struct ClaimSet {
    groups: Vec<String>,
    scopes: Vec<String>,
    other: serde_json::Map<String, serde_json::Value>,
}

impl Claims {
    /// No groups, no scopes, no other claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// These claims with `groups` as the groups (`cognito:groups`).
    #[must_use]
    pub fn with_groups<I>(mut self, groups: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.set().groups = groups.into_iter().map(Into::into).collect();
        self.normalized()
    }

    /// These claims with `scopes` as the scopes.
    #[must_use]
    pub fn with_scopes<I>(mut self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.set().scopes = scopes.into_iter().map(Into::into).collect();
        self.normalized()
    }

    /// These claims with `name` set to `value` among the other claims.
    #[must_use]
    pub fn with_claim(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.set().other.insert(name.into(), value);
        self
    }

    /// These claims with each of `claims` set among the other claims (a claim already there
    /// is replaced).
    #[must_use]
    pub fn with_claims<I>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = (String, serde_json::Value)>,
    {
        self.set().other.extend(claims);
        self.normalized()
    }

    /// The user's groups (`cognito:groups`), in the order the token lists them (Cognito's:
    /// by precedence).
    pub fn groups(&self) -> &[String] {
        self.0.as_ref().map_or(&[], |set| &set.groups)
    }

    /// The scopes the token grants (`scope`, split at spaces).
    pub fn scopes(&self) -> &[String] {
        self.0.as_ref().map_or(&[], |set| &set.scopes)
    }

    /// The other claims, by name.
    pub fn other(&self) -> &serde_json::Map<String, serde_json::Value> {
        static NONE: std::sync::LazyLock<serde_json::Map<String, serde_json::Value>> =
            std::sync::LazyLock::new(serde_json::Map::new);
        self.0.as_ref().map_or(&NONE, |set| &set.other)
    }

    /// The other claim `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.as_ref()?.other.get(name)
    }

    /// Whether the user is in `group` (names compare exactly, as Cognito's do).
    pub fn has_group(&self, group: &str) -> bool {
        self.groups().iter().any(|g| g == group)
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().iter().any(|s| s == scope)
    }

    /// Whether there is nothing in them.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    fn set(&mut self) -> &mut ClaimSet {
        self.0.get_or_insert_default()
    }

    /// Claims emptied again give their allocation back, so that `is_empty` reads one word.
    fn normalized(mut self) -> Self {
        if self
            .0
            .as_ref()
            .is_some_and(|s| s.groups.is_empty() && s.scopes.is_empty() && s.other.is_empty())
        {
            self.0 = None;
        }
        self
    }
}

impl PartialEq for Claims {
    fn eq(&self, other: &Self) -> bool {
        self.groups() == other.groups()
            && self.scopes() == other.scopes()
            && self.other() == other.other()
    }
}

impl Eq for Claims {}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("groups", &self.groups())
            .field("scopes", &self.scopes())
            .field("other", self.other())
            .finish()
    }
}

/// A token a session replaced (by rotation or refresh), still accepted for a grace period so
/// that requests sent with it before the client saw its successor go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreviousToken {
    /// The token's hash.
    pub hash: TokenHash,
    /// When the grace period ends, in epoch seconds: from then on the token is refused.
    pub valid_until: u64,
}

/// A session's public id: 64 random bits, shown to its user in a list of their sessions
/// and used to end one of them. It is no credential and no hash of one: knowing it opens
/// nothing, and [`SessionManager::end_session`](crate::SessionManager::end_session) ends a
/// session by its id only for the session's own user.
///
/// Written as 11 characters of URL-safe base64. Ids need to differ only among one user's
/// sessions, and guessing one gains nothing.
///
/// ```
/// use cognito_session::store::SessionId;
///
/// let id = SessionId::random()?;
/// let text = id.to_string();
/// assert_eq!(text.len(), 11);
/// assert_eq!(text.parse::<SessionId>(), Ok(id));
/// assert!("not an id".parse::<SessionId>().is_err());
/// # Ok::<(), getrandom::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(NonZeroU64);

impl SessionId {
    /// A new id from the operating system's RNG.
    pub fn random() -> Result<Self, getrandom::Error> {
        loop {
            if let Some(id) = NonZeroU64::new(getrandom::u64()?) {
                return Ok(Self(id));
            }
        }
    }

    /// The id's 8 bytes.
    pub fn to_bytes(self) -> [u8; 8] {
        self.0.get().to_be_bytes()
    }

    /// The id of 8 bytes; all zeros, which no random id is, read as one.
    pub(crate) fn from_bytes(bytes: [u8; 8]) -> Self {
        Self(NonZeroU64::new(u64::from_be_bytes(bytes)).unwrap_or(NonZeroU64::MIN))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.to_bytes()))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// Why a string is not a [`SessionId`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a session id: expected 11 characters of URL-safe base64")]
pub struct ParseSessionIdError;

impl std::str::FromStr for SessionId {
    type Err = ParseSessionIdError;

    fn from_str(text: &str) -> Result<Self, ParseSessionIdError> {
        if text.len() != 11 {
            return Err(ParseSessionIdError);
        }
        let bytes: [u8; 8] = URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(ParseSessionIdError)?;
        NonZeroU64::new(u64::from_be_bytes(bytes))
            .map(Self)
            .ok_or(ParseSessionIdError)
    }
}

/// How a session was logged in: what a list of a user's sessions shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoginMethod {
    /// An opaque session the application made for a user it checked itself
    /// ([`SessionManager::create`](crate::SessionManager::create)).
    Opaque,
    /// A Cognito password log-in (`USER_PASSWORD_AUTH`), challenges included.
    Password,
    /// A Cognito SRP log-in (`USER_SRP_AUTH`), challenges included.
    Srp,
    /// Cognito's managed login (the hosted pages), federated sign-ins included.
    Managed,
    /// Tokens the application obtained elsewhere
    /// ([`SessionManager::create_from_tokens`](crate::SessionManager::create_from_tokens)).
    Tokens,
}

impl LoginMethod {
    /// The method's name: `opaque`, `password`, `srp`, `managed` or `tokens`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Password => "password",
            Self::Srp => "srp",
            Self::Managed => "managed",
            Self::Tokens => "tokens",
        }
    }

    /// The method named `name` (what [`as_str`](Self::as_str) gives).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Opaque,
            Self::Password,
            Self::Srp,
            Self::Managed,
            Self::Tokens,
        ]
        .into_iter()
        .find(|m| m.as_str() == name)
    }
}

/// One login: what a [`SessionStore`](crate::store::SessionStore) keeps per session.
///
/// Times are seconds since the Unix epoch. Stores treat the record as data; what the fields
/// mean is decided by [`SessionManager`](crate::SessionManager).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// The partition key: the token's hash in hex for opaque sessions; a verified claim
    /// (`origin_jti` or `sub`) for Cognito sessions.
    pub key: String,
    /// Who the session belongs to.
    pub username: String,
    /// The user's `sub`, for Cognito sessions.
    pub sub: Option<String>,
    /// Hash of the token the client holds now.
    pub token_hash: TokenHash,
    /// The token the current one replaced, while it is still accepted.
    // Boxed: few records have one, and every record pays for the field.
    pub previous: Option<Box<PreviousToken>>,
    /// For an opaque session that was rotated: the key of the record that replaced it. Such a
    /// record only lives out its grace period.
    pub successor: Option<String>,
    /// Cognito tokens, for Cognito sessions.
    pub cognito: Option<CognitoTokens>,
    /// The user's groups, scopes and other claims; empty unless given.
    pub claims: Claims,
    /// When the session was created.
    pub created_at: u64,
    /// When the session was last seen (written at most once per touch interval).
    pub last_seen_at: u64,
    /// When the token last changed.
    pub refreshed_at: u64,
    /// When the record expires; the DynamoDB TTL attribute. Stores must not return a record
    /// at or past this time, whether or not it was deleted yet.
    pub expires_at: u64,
    /// Incremented by every write that changes the token; conditional writes compare it.
    pub version: u64,
    /// The session's public id; kept across rotations and refreshes. `None` for sessions
    /// stored before ids existed.
    pub id: Option<SessionId>,
    /// How the session was logged in; kept across rotations and refreshes. `None` for
    /// sessions stored before methods were.
    pub method: Option<LoginMethod>,
}

impl SessionRecord {
    /// A new session's record: keyed `key`, holding the token whose hash is `token_hash`,
    /// created and last seen at `now`, expiring at `expires_at`, at version 0. The
    /// optional fields are unset and the claims empty; set `sub`, `cognito`, `claims`, `id`
    /// and `method` with struct update syntax.
    ///
    /// ```
    /// use cognito_session::store::{SessionRecord, TokenHash};
    ///
    /// let hash = TokenHash::of("a token");
    /// let record = SessionRecord {
    ///     sub: Some("the-sub".into()),
    ///     ..SessionRecord::new(hash.to_hex(), "alice", hash, 1_800_000_000, 1_800_003_600)
    /// };
    /// assert_eq!(record.version, 0);
    /// ```
    pub fn new(
        key: impl Into<String>,
        username: impl Into<String>,
        token_hash: TokenHash,
        now: u64,
        expires_at: u64,
    ) -> Self {
        Self {
            key: key.into(),
            username: username.into(),
            sub: None,
            token_hash,
            previous: None,
            successor: None,
            cognito: None,
            claims: Claims::default(),
            created_at: now,
            last_seen_at: now,
            refreshed_at: now,
            expires_at,
            version: 0,
            id: None,
            method: None,
        }
    }

    /// Whether `hash` is the current token, or the previous one within its grace period.
    pub(crate) fn accepts(&self, hash: &TokenHash, now: u64) -> TokenMatch {
        if self.token_hash.ct_eq(hash) {
            return TokenMatch::Current;
        }
        match &self.previous {
            Some(previous) if previous.hash.ct_eq(hash) && now < previous.valid_until => {
                TokenMatch::Previous
            }
            _ => TokenMatch::None,
        }
    }
}

#[cfg(test)]
impl SessionRecord {
    /// A live opaque-style record for unit tests: keyed `key` (and holding the hash of
    /// `key`), created at `now`, expiring an hour later, every optional field unset.
    pub(crate) fn for_test(key: &str, username: &str, now: u64) -> Self {
        Self::new(key, username, TokenHash::of(key), now, now + 3600)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenMatch {
    Current,
    Previous,
    None,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_hex_round_trips() {
        let h = TokenHash::of("abc");
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(TokenHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(TokenHash::from_hex("zz"), None);
        assert_eq!(TokenHash::from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn hashes_are_equal_only_in_every_byte() {
        let h = TokenHash::of("abc");
        assert!(h.ct_eq(&h));
        for i in 0..32 {
            for bit in 0..8 {
                let mut other = h;
                other.0[i] ^= 1 << bit;
                assert!(!h.ct_eq(&other), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn claims_emptied_again_are_equal_to_none() {
        let emptied = Claims::new().with_groups(["admins"]).with_groups([""; 0]);
        assert!(emptied.is_empty());
        assert_eq!(emptied, Claims::new());
        assert!(emptied.0.is_none());
        let some = Claims::new().with_scopes(["orders/read"]);
        assert!(!some.is_empty());
        assert_ne!(some, Claims::new());
        assert_eq!(Claims::new().with_claims([]), Claims::new());
    }

    #[test]
    fn with_claims_adds_and_replaces() {
        let claims = Claims::new()
            .with_claim("a", 1.into())
            .with_claims([("a".to_owned(), 2.into()), ("b".to_owned(), 3.into())]);
        assert_eq!(claims.get("a"), Some(&2.into()));
        assert_eq!(claims.get("b"), Some(&3.into()));
        assert_eq!(claims.other().len(), 2);
        assert_eq!(Claims::new().get("a"), None);
        assert!(Claims::new().other().is_empty());
    }

    /// Every session a store keeps holds a record: what most of them don't use (claims, a
    /// previous token) must cost them a word, not its whole size.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_record_stays_small() {
        assert_eq!(std::mem::size_of::<Claims>(), 8);
        // 224 before the public id and the log-in method.
        assert!(std::mem::size_of::<SessionRecord>() <= 240);
    }

    #[test]
    fn debug_shows_only_a_prefix() {
        assert_eq!(
            format!("{:?}", TokenHash::of("abc")),
            "TokenHash(ba7816bf…)"
        );
    }
}
