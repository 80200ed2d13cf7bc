//! A [`SessionRecord`] as a DynamoDB item and back, with the Cognito tokens sealed under the
//! store's key: the layout under [The table](super#the-table).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;

use aes_gcm::Nonce;
use aes_gcm::aead::{Aead, Payload};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use super::error::{backend, backend_msg};
use super::{DynamoDbStore, attr};
use crate::store::StoreError;
use crate::{Claims, CognitoTokens, Secret, SessionRecord, TokenHash};

pub(super) type Item = HashMap<String, AttributeValue>;

impl DynamoDbStore {
    pub(super) fn encode(&self, record: &SessionRecord) -> Result<Item, StoreError> {
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
        if let Some(previous) = &record.previous_token_hash {
            put(attr::PREVIOUS_TOKEN_HASH, s(previous.to_hex()));
        }
        if let Some(until) = record.previous_valid_until {
            put(attr::PREVIOUS_VALID_UNTIL, n(until));
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
        if !claims.groups.is_empty() {
            put(attr::GROUPS, list(&claims.groups));
        }
        if !claims.scopes.is_empty() {
            put(attr::SCOPES, list(&claims.scopes));
        }
        if !claims.other.is_empty() {
            let json = serde_json::to_string(&claims.other).map_err(backend)?;
            put(attr::CLAIMS, s(json));
        }
        put(attr::CREATED_AT, n(record.created_at));
        put(attr::LAST_SEEN_AT, n(record.last_seen_at));
        put(attr::REFRESHED_AT, n(record.refreshed_at));
        put(attr::EXPIRES_AT, n(record.expires_at));
        put(attr::VERSION, n(record.version));
        Ok(item)
    }

    pub(super) fn decode(&self, item: &Item) -> Result<SessionRecord, StoreError> {
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
        Ok(SessionRecord {
            username: fields.required(attr::USERNAME, Fields::string)?.to_owned(),
            sub: fields.string(attr::SUB)?.map(str::to_owned),
            token_hash: fields.required(attr::TOKEN_HASH, Fields::hash)?,
            previous_token_hash: fields.hash(attr::PREVIOUS_TOKEN_HASH)?,
            previous_valid_until: fields.number(attr::PREVIOUS_VALID_UNTIL)?,
            successor: fields.string(attr::SUCCESSOR)?.map(str::to_owned),
            cognito,
            claims: Claims {
                groups: fields.strings(attr::GROUPS)?,
                scopes: fields.strings(attr::SCOPES)?,
                other: fields
                    .string(attr::CLAIMS)?
                    .map(|json| {
                        serde_json::from_str(json)
                            .map_err(|_| malformed(attr::CLAIMS, "is not a JSON object"))
                    })
                    .transpose()?
                    .unwrap_or_default(),
            },
            created_at: fields.required(attr::CREATED_AT, Fields::number)?,
            last_seen_at: fields.required(attr::LAST_SEEN_AT, Fields::number)?,
            refreshed_at: fields.required(attr::REFRESHED_AT, Fields::number)?,
            expires_at: fields.required(attr::EXPIRES_AT, Fields::number)?,
            version: fields.required(attr::VERSION, Fields::number)?,
            key,
        })
    }

    /// A Cognito token as it is written: encrypted when the store has a key.
    fn seal(
        &self,
        key: &str,
        attribute: &str,
        secret: &Secret,
    ) -> Result<AttributeValue, StoreError> {
        let Some(cipher) = &self.cipher else {
            return Ok(s(secret.expose()));
        };
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(backend)?;
        let aad = associated_data(key, attribute);
        let payload = Payload {
            msg: secret.expose().as_bytes(),
            aad: &aad,
        };
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| backend_msg(format!("could not encrypt {attribute}")))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(AttributeValue::B(Blob::new(sealed)))
    }

    /// Reads what [`seal`](Self::seal) wrote.
    fn open(
        &self,
        fields: &Fields<'_>,
        key: &str,
        attribute: &'static str,
    ) -> Result<Option<Secret>, StoreError> {
        let sealed = match fields.0.get(attribute) {
            None => return Ok(None),
            Some(AttributeValue::S(plain)) => return Ok(Some(Secret::new(plain.as_str()))),
            Some(AttributeValue::B(sealed)) => sealed.as_ref(),
            Some(_) => return Err(malformed(attribute, "is neither a string nor binary")),
        };
        let Some(cipher) = &self.cipher else {
            return Err(malformed(
                attribute,
                "is encrypted, but the store has no encryption key",
            ));
        };
        // The reason is left out on purpose: "wrong key", "moved from another item" and
        // "tampered with" look alike to AES-GCM, and the error may end up in a log.
        let undecryptable = || malformed(attribute, "could not be decrypted");
        if sealed.len() < NONCE_LEN {
            return Err(undecryptable());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let aad = associated_data(key, attribute);
        let payload = Payload {
            msg: ciphertext,
            aad: &aad,
        };
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| undecryptable())?;
        String::from_utf8(plain)
            .map(|token| Some(Secret::new(token)))
            .map_err(|_| undecryptable())
    }

    pub(super) fn key_of(&self, key: &str) -> (String, AttributeValue) {
        (self.table.partition_key.clone(), s(key))
    }
}

const NONCE_LEN: usize = 12;

/// What AES-GCM authenticates along with a token: the item's key and the attribute, each
/// length-prefixed so that no other (key, attribute) pair is spelled the same.
fn associated_data(key: &str, attribute: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + key.len() + attribute.len());
    for part in [attribute, key] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
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
mod tests {
    use super::super::tests::{full_record, record, store};
    use super::*;

    fn is_malformed(result: Result<SessionRecord, StoreError>, attribute: &str) -> bool {
        match result {
            Err(StoreError::Backend(e)) => e.to_string().contains(attribute),
            _ => false,
        }
    }

    #[test]
    fn records_round_trip_with_and_without_a_key() {
        for store in [store(), store().with_encryption_key([9; 32])] {
            for record in [record(false), record(true), full_record()] {
                let item = store.encode(&record).unwrap();
                assert_eq!(store.decode(&item).unwrap(), record);
            }
        }
    }

    #[test]
    fn attributes_are_typed_and_absent_options_are_omitted() {
        let item = store().encode(&record(false)).unwrap();
        let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "SessionToken",
                "created_at",
                "expires_at",
                "last_seen_at",
                "refreshed_at",
                "token_hash",
                "username",
                "version"
            ]
        );
        assert_eq!(item["expires_at"], AttributeValue::N("1700604800".into()));
        assert_eq!(item["version"], AttributeValue::N("3".into()));
        assert_eq!(
            item["token_hash"],
            AttributeValue::S(TokenHash::of("token").to_hex())
        );

        let full = store().encode(&full_record()).unwrap();
        assert_eq!(full["user_sub"], AttributeValue::S("sub-1".into()));
        assert_eq!(
            full["refresh_token"],
            AttributeValue::S("refresh-token-value".into()),
            "without a key the token is plaintext"
        );
        assert_eq!(
            full["access_expires_at"],
            AttributeValue::N("1700003600".into())
        );
        assert_eq!(
            full["groups"],
            AttributeValue::L(vec![s("admins"), s("staff")])
        );
        assert_eq!(full["scopes"], AttributeValue::L(vec![s("orders/read")]));
        let AttributeValue::S(json) = &full["claims"] else {
            panic!("claims is not a string: {:?}", full["claims"]);
        };
        let other: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            other,
            serde_json::json!({ "custom:tenant": "acme", "custom:level": { "n": 3, "ok": true } })
        );
    }

    #[test]
    fn claims_round_trip_and_empty_claims_write_nothing() {
        let store = store();
        let full = full_record();
        assert!(!full.claims.is_empty());
        let decoded = store.decode(&store.encode(&full).unwrap()).unwrap();
        assert_eq!(decoded.claims, full.claims);
        let groups_only = SessionRecord {
            claims: Claims::new().with_groups(["g"]),
            ..record(false)
        };
        let item = store.encode(&groups_only).unwrap();
        assert!(item.contains_key("groups"));
        assert!(!item.contains_key("scopes") && !item.contains_key("claims"));
        assert_eq!(store.decode(&item).unwrap(), groups_only);
    }

    #[test]
    fn with_a_key_tokens_are_sealed_with_a_fresh_nonce() {
        let store = store().with_encryption_key([1; 32]);
        let a = store.encode(&full_record()).unwrap();
        let b = store.encode(&full_record()).unwrap();
        for item in [&a, &b] {
            let AttributeValue::B(sealed) = &item["refresh_token"] else {
                panic!("not binary: {:?}", item["refresh_token"]);
            };
            let bytes = sealed.as_ref();
            assert_eq!(bytes.len(), NONCE_LEN + "refresh-token-value".len() + 16);
            assert!(!bytes.windows(7).any(|w| w == b"refresh"));
        }
        assert_ne!(a["refresh_token"], b["refresh_token"]);
    }

    #[test]
    fn a_sealed_value_only_opens_in_its_own_item_and_attribute_with_its_key() {
        let store = store().with_encryption_key([1; 32]);
        let item = store.encode(&full_record()).unwrap();

        let mut moved = item.clone();
        moved.insert("SessionToken".into(), s("another-key"));
        assert!(is_malformed(store.decode(&moved), "could not be decrypted"));

        let mut swapped = item.clone();
        swapped.insert("access_token".into(), item["refresh_token"].clone());
        assert!(is_malformed(store.decode(&swapped), "access_token"));

        let other_key = self::store().with_encryption_key([2; 32]);
        assert!(is_malformed(other_key.decode(&item), "access_token"));
        assert!(is_malformed(self::store().decode(&item), "access_token"));

        let AttributeValue::B(sealed) = &item["refresh_token"] else {
            unreachable!()
        };
        let mut tampered = sealed.as_ref().to_vec();
        *tampered.last_mut().unwrap() ^= 1;
        let mut bad = item.clone();
        bad.insert(
            "refresh_token".into(),
            AttributeValue::B(Blob::new(tampered)),
        );
        assert!(is_malformed(store.decode(&bad), "refresh_token"));
        bad.insert(
            "refresh_token".into(),
            AttributeValue::B(Blob::new(vec![1, 2])),
        );
        assert!(is_malformed(store.decode(&bad), "refresh_token"));
    }

    #[test]
    fn plaintext_tokens_are_still_read_once_a_key_is_set() {
        let plain = store().encode(&full_record()).unwrap();
        let keyed = store().with_encryption_key([1; 32]);
        assert_eq!(keyed.decode(&plain).unwrap(), full_record());
    }

    #[test]
    fn malformed_items_are_backend_errors_naming_the_attribute() {
        let store = store();
        let good = store.encode(&full_record()).unwrap();
        let with = |name: &str, value: Option<AttributeValue>| {
            let mut item = good.clone();
            match value {
                Some(value) => item.insert(name.to_owned(), value),
                None => item.remove(name),
            };
            store.decode(&item)
        };
        assert!(is_malformed(
            with("expires_at", Some(s("soon"))),
            "expires_at"
        ));
        assert!(is_malformed(
            with("expires_at", Some(AttributeValue::N("1.5".into()))),
            "expires_at"
        ));
        assert!(is_malformed(
            with("version", Some(AttributeValue::N("-1".into()))),
            "version"
        ));
        assert!(is_malformed(with("username", None), "username"));
        assert!(is_malformed(with("SessionToken", None), "SessionToken"));
        assert!(is_malformed(
            with("token_hash", Some(s("beef"))),
            "token_hash"
        ));
        assert!(is_malformed(
            with("user_sub", Some(AttributeValue::Null(true))),
            "user_sub"
        ));
        assert!(is_malformed(
            with("access_expires_at", None),
            "refresh_token"
        ));
        assert!(is_malformed(
            with("refresh_token", Some(AttributeValue::Bool(true))),
            "refresh_token"
        ));
        assert!(is_malformed(with("groups", Some(s("admins"))), "groups"));
        assert!(is_malformed(
            with("scopes", Some(AttributeValue::L(vec![n(1)]))),
            "scopes"
        ));
        assert!(is_malformed(with("claims", Some(s("[1, 2]"))), "claims"));
        assert!(is_malformed(with("claims", Some(s("{"))), "claims"));
    }
}
