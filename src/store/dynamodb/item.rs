//! A [`SessionRecord`] as a DynamoDB item and back, with the Cognito tokens sealed under the
//! store's key: the layout under [The table](super#the-table).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use super::error::{backend, backend_msg};
use super::{DynamoDbStore, attr};
use crate::store::LoginMethod;
use crate::store::StoreError;
use crate::{Claims, CognitoTokens, PreviousToken, Secret, SessionRecord, TokenHash};

pub(crate) type Item = HashMap<String, AttributeValue>;

impl DynamoDbStore {
    pub(crate) fn encode(&self, record: &SessionRecord) -> Result<Item, StoreError> {
        let pk = &self.table.partition_key;
        let mut item = Item::with_capacity(16);
        let mut put = |name: &str, value: AttributeValue| {
            item.insert(name.to_owned(), value);
        };
        put(pk, s(&record.key));
        put(attr::USERNAME, s(&record.username));
        if let Some(sub) = &record.sub {
            put(attr::SUB, s(sub));
        }
        put(attr::TOKEN_HASH, s(record.token_hash.to_hex()));
        if let Some(previous) = &record.previous {
            put(attr::PREVIOUS_TOKEN_HASH, s(previous.hash.to_hex()));
            put(attr::PREVIOUS_VALID_UNTIL, n(previous.valid_until));
        }
        if let Some(successor) = &record.successor {
            put(attr::SUCCESSOR, s(successor));
        }
        if let Some(cognito) = &record.cognito {
            let access = self.seal(&record.key, attr::ACCESS_TOKEN, &cognito.access_token)?;
            let refresh = self.seal(&record.key, attr::REFRESH_TOKEN, &cognito.refresh_token)?;
            put(attr::ACCESS_TOKEN, access);
            put(attr::REFRESH_TOKEN, refresh);
            put(attr::ACCESS_EXPIRES_AT, n(cognito.access_expires_at));
        }
        let claims = &record.claims;
        if !claims.groups().is_empty() {
            put(attr::GROUPS, list(claims.groups()));
        }
        if !claims.scopes().is_empty() {
            put(attr::SCOPES, list(claims.scopes()));
        }
        let other = claims_json(record)?;
        if let Some(json) = &other {
            put(attr::CLAIMS, s(json.as_str()));
        }
        put(attr::CREATED_AT, n(record.created_at));
        put(attr::LAST_SEEN_AT, n(record.last_seen_at));
        put(attr::REFRESHED_AT, n(record.refreshed_at));
        put(attr::EXPIRES_AT, n(record.expires_at));
        put(attr::VERSION, n(record.version));
        if let Some(id) = record.id {
            put(attr::ID, s(id.to_string()));
        }
        if let Some(method) = record.method {
            put(attr::METHOD, s(method.as_str()));
        }
        if let Some(mac) = self.sign(record, other.as_deref())? {
            put(attr::MAC, mac);
        }
        Ok(item)
    }

    /// The MAC attribute of `record`; `None` when the store has no key to sign with and
    /// unsigned rows are allowed, [`StoreError::Backend`] when they are not.
    pub(super) fn sign(
        &self,
        record: &SessionRecord,
        claims: Option<&str>,
    ) -> Result<Option<AttributeValue>, StoreError> {
        match self.row_keys.sign(record, claims) {
            Some(mac) => Ok(Some(AttributeValue::B(Blob::new(mac)))),
            None if self.allow_unsigned_rows => Ok(None),
            None => Err(backend_msg(
                "refusing to write an unsigned session row: the store has no encryption key \
                 (SESSION_ENCRYPTION_KEY) to sign it with, and unsigned rows are not allowed \
                 (ALLOW_UNSIGNED_ROWS)",
            )),
        }
    }

    /// The MAC attribute of a record whose times a touch changed, the record being
    /// otherwise as stored.
    pub(super) fn sign_touched(
        &self,
        record: &SessionRecord,
    ) -> Result<Option<AttributeValue>, StoreError> {
        self.sign(record, claims_json(record)?.as_deref())
    }

    /// The session an item holds, or `None` when its MAC refuses it: logged and counted,
    /// never with a token.
    pub(crate) fn session(&self, item: &Item) -> Result<Option<SessionRecord>, StoreError> {
        match self.decode(item)? {
            Ok(record) => Ok(Some(record)),
            Err(refusal) => {
                let key = Fields(item)
                    .string(&self.table.partition_key)
                    .ok()
                    .flatten();
                crate::observe::row_refused(refusal.as_str());
                tracing::warn!(
                    session = ?key.map(TokenHash::of),
                    reason = refusal.as_str(),
                    "session row refused: it was not written by a holder of the key"
                );
                Ok(None)
            }
        }
    }

    /// The record an item holds, or why its MAC refuses it; [`StoreError::Backend`] when it
    /// can't be read.
    pub(super) fn decode(&self, item: &Item) -> Result<Result<SessionRecord, Refusal>, StoreError> {
        let mac = match item.get(attr::MAC) {
            Some(AttributeValue::B(mac)) => Some(mac.as_ref()),
            None => None,
            Some(_) => return Ok(Err(Refusal::Invalid)),
        };
        if mac.is_none() && !self.allow_unsigned_rows {
            return Ok(Err(Refusal::Unsigned));
        }
        let record = self.decode_fields(item)?;
        let signed = match mac {
            // Without keys there is nothing to check a MAC with; that store takes unsigned
            // rows (it could not have written any other), and a MAC adds nothing to them.
            Some(_) if self.row_keys.is_empty() => self.allow_unsigned_rows,
            Some(mac) => {
                let claims = Fields(item).string(attr::CLAIMS)?;
                self.row_keys.verify(&record, claims, mac)
            }
            None => true,
        };
        Ok(if signed {
            Ok(record)
        } else {
            Err(Refusal::Invalid)
        })
    }

    fn decode_fields(&self, item: &Item) -> Result<SessionRecord, StoreError> {
        let pk = &self.table.partition_key;
        let fields = Fields(item);
        let key = fields.required(pk, Fields::string)?.to_owned();
        let access_token = self.open(&fields, &key, attr::ACCESS_TOKEN)?;
        let refresh_token = self.open(&fields, &key, attr::REFRESH_TOKEN)?;
        let access_expires_at = fields.number(attr::ACCESS_EXPIRES_AT)?;
        let cognito = match (access_token, refresh_token, access_expires_at) {
            (Some(access_token), Some(refresh_token), Some(access_expires_at)) => {
                Some(CognitoTokens {
                    access_token,
                    refresh_token,
                    access_expires_at,
                })
            }
            (None, None, None) => None,
            _ => {
                return Err(malformed(
                    attr::REFRESH_TOKEN,
                    "is not stored together with access_token and access_expires_at",
                ));
            }
        };
        let previous = match (
            fields.hash(attr::PREVIOUS_TOKEN_HASH)?,
            fields.number(attr::PREVIOUS_VALID_UNTIL)?,
        ) {
            (Some(hash), Some(valid_until)) => Some(Box::new(PreviousToken { hash, valid_until })),
            (None, None) => None,
            _ => {
                return Err(malformed(
                    attr::PREVIOUS_TOKEN_HASH,
                    "is not stored together with previous_valid_until",
                ));
            }
        };
        Ok(SessionRecord {
            username: fields.required(attr::USERNAME, Fields::string)?.to_owned(),
            sub: fields.string(attr::SUB)?.map(str::to_owned),
            token_hash: fields.required(attr::TOKEN_HASH, Fields::hash)?,
            previous,
            successor: fields.string(attr::SUCCESSOR)?.map(str::to_owned),
            cognito,
            claims: Claims::new()
                .with_groups(fields.strings(attr::GROUPS)?)
                .with_scopes(fields.strings(attr::SCOPES)?)
                .with_claims(
                    fields
                        .string(attr::CLAIMS)?
                        .map(|json| {
                            serde_json::from_str::<serde_json::Map<_, _>>(json)
                                .map_err(|_| malformed(attr::CLAIMS, "is not a JSON object"))
                        })
                        .transpose()?
                        .unwrap_or_default(),
                ),
            created_at: fields.required(attr::CREATED_AT, Fields::number)?,
            last_seen_at: fields.required(attr::LAST_SEEN_AT, Fields::number)?,
            refreshed_at: fields.required(attr::REFRESHED_AT, Fields::number)?,
            expires_at: fields.required(attr::EXPIRES_AT, Fields::number)?,
            version: fields.required(attr::VERSION, Fields::number)?,
            id: fields
                .string(attr::ID)?
                .map(|id| {
                    id.parse()
                        .map_err(|_| malformed(attr::ID, "is not a session id"))
                })
                .transpose()?,
            method: fields
                .string(attr::METHOD)?
                .map(|name| {
                    LoginMethod::from_name(name)
                        .ok_or_else(|| malformed(attr::METHOD, "is not a log-in method"))
                })
                .transpose()?,
            key,
        })
    }

    /// A Cognito token as it is written: sealed under the newest key, or in plaintext when
    /// the store has no key and allows it.
    fn seal(
        &self,
        key: &str,
        attribute: &str,
        secret: &Secret,
    ) -> Result<AttributeValue, StoreError> {
        let Some((id, cipher)) = self.ciphers.first() else {
            if self.allow_plaintext_tokens {
                return Ok(s(secret.expose()));
            }
            return Err(backend_msg(format!(
                "refusing to store {attribute} in plaintext: the store has no encryption key \
                 (SESSION_ENCRYPTION_KEY), and plaintext tokens are not allowed \
                 (ALLOW_PLAINTEXT_TOKENS)"
            )));
        };
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(backend)?;
        let header = [FORMAT_KEY_ID, *id];
        let aad = associated_data(&header, key, attribute);
        let payload = Payload {
            msg: secret.expose().as_bytes(),
            aad: &aad,
        };
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| backend_msg(format!("could not encrypt {attribute}")))?;
        let mut sealed = Vec::with_capacity(header.len() + NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&header);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(AttributeValue::B(Blob::new(sealed)))
    }

    /// Reads what [`seal`](Self::seal) wrote, and what it wrote before key ids existed.
    fn open(
        &self,
        fields: &Fields<'_>,
        key: &str,
        attribute: &'static str,
    ) -> Result<Option<Secret>, StoreError> {
        let sealed = match fields.0.get(attribute) {
            None => return Ok(None),
            Some(AttributeValue::S(_)) if !self.allow_plaintext_tokens => {
                return Err(malformed(
                    attribute,
                    "is stored in plaintext, and plaintext tokens are not allowed \
                     (ALLOW_PLAINTEXT_TOKENS)",
                ));
            }
            Some(AttributeValue::S(plain)) => return Ok(Some(Secret::new(plain.as_str()))),
            Some(AttributeValue::B(sealed)) => sealed.as_ref(),
            Some(_) => return Err(malformed(attribute, "is neither a string nor binary")),
        };
        if self.ciphers.is_empty() {
            return Err(malformed(
                attribute,
                "is encrypted, but the store has no encryption key",
            ));
        }
        let cipher = |id: u8| self.ciphers.iter().find(|(i, _)| *i == id).map(|(_, c)| c);
        let decrypt = |cipher: &Aes256Gcm, header: &[u8], rest: &[u8]| {
            let (nonce, ciphertext) = rest.split_at_checked(NONCE_LEN)?;
            let aad = associated_data(header, key, attribute);
            let payload = Payload {
                msg: ciphertext,
                aad: &aad,
            };
            cipher.decrypt(Nonce::from_slice(nonce), payload).ok()
        };
        // `[FORMAT_KEY_ID, id, nonce, ciphertext]`, sealed under key `id`.
        let current = match sealed {
            [FORMAT_KEY_ID, id, rest @ ..] => {
                cipher(*id).and_then(|c| decrypt(c, &sealed[..2], rest))
            }
            _ => None,
        };
        // `[nonce, ciphertext]`, as sealed before key ids, under key 1. Also tried when the
        // value merely looked like the format above: a legacy nonce may begin with its bytes.
        let plain = current.or_else(|| cipher(LEGACY_KEY_ID).and_then(|c| decrypt(c, &[], sealed)));
        // The reason is left out on purpose: "wrong key", "moved from another item" and
        // "tampered with" look alike to AES-GCM, and the error may end up in a log.
        let undecryptable = || malformed(attribute, "could not be decrypted");
        let plain = plain.ok_or_else(undecryptable)?;
        String::from_utf8(plain)
            .map(|token| Some(Secret::new(token)))
            .map_err(|_| undecryptable())
    }

    pub(super) fn key_of(&self, key: &str) -> (String, AttributeValue) {
        (self.table.partition_key.clone(), s(key))
    }
}

const NONCE_LEN: usize = 12;

/// The first byte of a sealed value that names its key: the key id follows.
const FORMAT_KEY_ID: u8 = 0xE1;

/// The key that reads values sealed before key ids existed: [`EncryptionKeys::single`]'s.
///
/// [`EncryptionKeys::single`]: crate::store::dynamodb::EncryptionKeys::single
const LEGACY_KEY_ID: u8 = 1;

/// What AES-GCM authenticates along with a token: the value's header (format and key id,
/// empty for the legacy format), the attribute and the item's key, each length-prefixed so
/// that no other (header, attribute, key) triple is spelled the same.
fn associated_data(header: &[u8], key: &str, attribute: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 16 + key.len() + attribute.len());
    aad.extend_from_slice(header);
    for part in [attribute, key] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

/// Why an item that could be read is no session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// It has no MAC, and the store doesn't take unsigned rows.
    Unsigned,
    /// Its MAC is not one of this record under any of the store's keys: forged, edited,
    /// truncated, moved from another item, or made under a key the store doesn't hold.
    Invalid,
}

impl Refusal {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned",
            Self::Invalid => "invalid",
        }
    }
}

/// A record's other claims as the item holds them: JSON, absent when there are none.
fn claims_json(record: &SessionRecord) -> Result<Option<String>, StoreError> {
    let other = record.claims.other();
    if other.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(other).map(Some).map_err(backend)
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.as_str())).collect())
}

pub(super) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Typed reads from an item; `Ok(None)` when the attribute is absent, an error when it has
/// the wrong type or shape.
pub(super) struct Fields<'a>(pub(super) &'a Item);

impl<'a> Fields<'a> {
    pub(super) fn string(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value)),
            Some(_) => Err(malformed(name, "is not a string")),
        }
    }

    fn number(&self, name: &str) -> Result<Option<u64>, StoreError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(AttributeValue::N(value)) => value
                .parse()
                .map(Some)
                .map_err(|_| malformed(name, "is not a whole number of seconds")),
            Some(_) => Err(malformed(name, "is not a number")),
        }
    }

    /// A list of strings; empty when absent.
    fn strings(&self, name: &str) -> Result<Vec<String>, StoreError> {
        let not_strings = || malformed(name, "is not a list of strings");
        match self.0.get(name) {
            None => Ok(Vec::new()),
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| v.as_s().cloned().map_err(|_| not_strings()))
                .collect(),
            Some(_) => Err(not_strings()),
        }
    }

    fn hash(&self, name: &str) -> Result<Option<TokenHash>, StoreError> {
        self.string(name)?
            .map(|hex| TokenHash::from_hex(hex).ok_or_else(|| malformed(name, "is not a hash")))
            .transpose()
    }

    pub(super) fn required<T>(
        &self,
        name: &str,
        read: impl Fn(&Self, &str) -> Result<Option<T>, StoreError>,
    ) -> Result<T, StoreError> {
        read(self, name)?.ok_or_else(|| malformed(name, "is missing"))
    }
}

/// An item this store can't read. It names the attribute, never its value: the value may
/// be a token.
#[derive(Debug)]
struct MalformedItem {
    attribute: String,
    problem: &'static str,
}

impl fmt::Display for MalformedItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed session item: attribute {} {}",
            self.attribute, self.problem
        )
    }
}

impl StdError for MalformedItem {}

fn malformed(attribute: &str, problem: &'static str) -> StoreError {
    StoreError::Backend(Box::new(MalformedItem {
        attribute: attribute.to_owned(),
        problem,
    }))
}

#[cfg(test)]
mod tests;
