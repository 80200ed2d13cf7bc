//! The row MAC: an HMAC-SHA256 over everything in a session item that grants access, keyed
//! from the [`EncryptionKeys`], so that someone who can write the table but not read the key
//! can neither make a session nor change one (see [Signed rows](super#signed-rows)).

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::EncryptionKeys;
use crate::SessionRecord;

type HmacSha256 = Hmac<Sha256>;

/// What HKDF derives a MAC key with, from an encryption key: the two never key the same
/// primitive, and a MAC key says nothing of the key that encrypts.
const LABEL: &[u8] = b"cognito-session row mac v1";

/// The first byte of a MAC attribute, naming this layout: key id, then the tag.
const FORMAT: u8 = 0x01;

const TAG_LEN: usize = 32;

/// How long a MAC attribute is: format, key id, tag.
pub(super) const MAC_LEN: usize = 2 + TAG_LEN;

/// A row MAC key for each encryption key, newest first: the first signs, all verify.
#[derive(Clone, Default)]
pub(super) struct RowKeys(Vec<(u8, HmacSha256)>);

impl RowKeys {
    pub(super) fn derive(keys: &EncryptionKeys) -> Self {
        let derived = keys.keys().iter().map(|(id, key)| {
            let mut okm = [0u8; 32];
            Hkdf::<Sha256>::new(None, key)
                .expand(LABEL, &mut okm)
                .expect("32 bytes is a valid HKDF-SHA256 output length");
            let mac = HmacSha256::new_from_slice(&okm).expect("HMAC takes a key of any length");
            (*id, mac)
        });
        Self(derived.collect())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The MAC attribute of `record` under the newest key; `None` without keys. `claims` is
    /// the record's other claims as the item holds them (absent when empty).
    pub(super) fn sign(&self, record: &SessionRecord, claims: Option<&str>) -> Option<Vec<u8>> {
        let (id, key) = self.0.first()?;
        let mut attribute = Vec::with_capacity(MAC_LEN);
        attribute.extend_from_slice(&[FORMAT, *id]);
        attribute.extend_from_slice(&tag(key, record, claims).finalize().into_bytes());
        Some(attribute)
    }

    /// Whether `attribute` is a MAC of `record` under the key it names. Compared in
    /// constant time; a key id the ring doesn't hold, a short value or another format is
    /// no MAC.
    pub(super) fn verify(
        &self,
        record: &SessionRecord,
        claims: Option<&str>,
        attribute: &[u8],
    ) -> bool {
        let [FORMAT, id, tag_bytes @ ..] = attribute else {
            return false;
        };
        if tag_bytes.len() != TAG_LEN {
            return false;
        }
        self.0
            .iter()
            .find(|(i, _)| i == id)
            .is_some_and(|(_, key)| tag(key, record, claims).verify_slice(tag_bytes).is_ok())
    }
}

/// The MAC state over `record`. Every field is written with its length or a presence byte
/// before it, so that no two records are spelled the same; the order is fixed here, and a
/// change to it needs a new [`FORMAT`].
///
/// The key is in it, so a MAC moved to another item fails; so are the version and the
/// Cognito tokens, so an older copy of the same item's fields fails too. The kind of
/// session (opaque, or Cognito with its tokens) follows from whether tokens are there.
fn tag(key: &HmacSha256, record: &SessionRecord, claims: Option<&str>) -> HmacSha256 {
    let mut mac = key.clone();
    let mut bytes = |value: &[u8]| {
        mac.update(&(value.len() as u64).to_be_bytes());
        mac.update(value);
    };
    let absent: &[u8] = &[];
    bytes(record.key.as_bytes());
    bytes(record.username.as_bytes());
    for optional in [record.sub.as_deref(), record.successor.as_deref(), claims] {
        bytes(&[u8::from(optional.is_some())]);
        bytes(optional.map_or(absent, str::as_bytes));
    }
    bytes(record.token_hash.as_bytes());
    match &record.previous {
        Some(previous) => {
            bytes(&[1]);
            bytes(previous.hash.as_bytes());
            bytes(&previous.valid_until.to_be_bytes());
        }
        None => bytes(&[0]),
    }
    match &record.cognito {
        Some(tokens) => {
            bytes(&[1]);
            bytes(tokens.access_token.expose().as_bytes());
            bytes(tokens.refresh_token.expose().as_bytes());
            bytes(&tokens.access_expires_at.to_be_bytes());
        }
        None => bytes(&[0]),
    }
    for list in [record.claims.groups(), record.claims.scopes()] {
        bytes(&(list.len() as u64).to_be_bytes());
        for value in list {
            bytes(value.as_bytes());
        }
    }
    bytes(&record.id.map_or([0; 8], |id| id.to_bytes()));
    bytes(record.method.map_or("", |m| m.as_str()).as_bytes());
    for time in [
        record.created_at,
        record.last_seen_at,
        record.refreshed_at,
        record.expires_at,
        record.version,
    ] {
        bytes(&time.to_be_bytes());
    }
    mac
}
