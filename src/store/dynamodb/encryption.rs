//! [`EncryptionKeys`]: the key ring that seals the Cognito tokens a session table holds.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use crate::ConfigError;

/// The keys that encrypt the Cognito access and refresh tokens in a session table
/// (`SESSION_ENCRYPTION_KEY`), each a 256-bit AES key with a one-byte id.
///
/// The first key, the newest, encrypts every value written; every key listed decrypts the
/// values written under it, whose id is stored with them. To rotate: put the new key first
/// and keep the old one after it until every session sealed under it has been refreshed or
/// has expired (at most the session lifetime), then drop it.
///
/// In `SESSION_ENCRYPTION_KEY` the keys are comma-separated, newest first, each `id:key`
/// with the id a number from 1 to 255 and the key the base64 of 32 random bytes
/// (`openssl rand -base64 32`). A key without `id:` has id 1, so a single key needs no id:
///
/// ```
/// use cognito_session::store::dynamodb::EncryptionKeys;
///
/// let one: EncryptionKeys = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".parse()?;
/// assert_eq!(one.ids().collect::<Vec<_>>(), [1]);
///
/// // Rotation: key 2 encrypts from now on, key 1 still decrypts.
/// let two: EncryptionKeys = "2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=,\
///                            1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".parse()?;
/// assert_eq!(two.current_id(), 2);
/// assert_eq!(two.ids().collect::<Vec<_>>(), [2, 1]);
///
/// // The key itself never shows up in `Debug` output.
/// assert_eq!(format!("{two:?}"), "EncryptionKeys { ids: [2, 1] }");
/// # Ok::<(), cognito_session::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKeys {
    /// Newest first; never empty, ids unique and non-zero.
    keys: Vec<(u8, [u8; 32])>,
}

impl EncryptionKeys {
    /// One key, with id 1. Values sealed before key ids existed (by `with_encryption_key` in
    /// earlier versions) carry no id, and are read with key 1.
    pub fn single(key: [u8; 32]) -> Self {
        Self {
            keys: vec![(1, key)],
        }
    }

    /// Keys with their ids, newest first: the first encrypts, all decrypt.
    ///
    /// Fails with [`ConfigError::Setting`] (`encryption_keys`) when there is no key, an id is 0 (reserved), or
    /// an id is listed twice.
    ///
    /// ```
    /// use cognito_session::store::dynamodb::EncryptionKeys;
    ///
    /// let keys = EncryptionKeys::new([(2, [2; 32]), (1, [1; 32])])?;
    /// assert_eq!(keys.current_id(), 2);
    /// assert!(EncryptionKeys::new([(1, [2; 32]), (1, [1; 32])]).is_err());
    /// # Ok::<(), cognito_session::ConfigError>(())
    /// ```
    pub fn new(keys: impl IntoIterator<Item = (u8, [u8; 32])>) -> Result<Self, ConfigError> {
        let keys: Vec<_> = keys.into_iter().collect();
        check(&keys).map_err(|e| ConfigError::setting("encryption_keys", e))?;
        Ok(Self { keys })
    }

    /// The id of the key that encrypts: the first one.
    pub fn current_id(&self) -> u8 {
        self.keys[0].0
    }

    /// Every key's id, newest first.
    pub fn ids(&self) -> impl Iterator<Item = u8> + '_ {
        self.keys.iter().map(|(id, _)| *id)
    }

    /// Every key with its id, newest first.
    #[cfg_attr(not(feature = "dynamodb"), allow(dead_code))]
    pub(crate) fn keys(&self) -> &[(u8, [u8; 32])] {
        &self.keys
    }
}

fn check(keys: &[(u8, [u8; 32])]) -> Result<(), String> {
    if keys.is_empty() {
        return Err("no encryption key".into());
    }
    for (i, (id, _)) in keys.iter().enumerate() {
        if *id == 0 {
            return Err("key id 0 is reserved; use 1 to 255".into());
        }
        if keys[..i].iter().any(|(other, _)| other == id) {
            return Err(format!(
                "key id {id} is listed twice (a key without `id:` has id 1)"
            ));
        }
    }
    Ok(())
}

/// Standard base64, with or without its `=` padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl FromStr for EncryptionKeys {
    type Err = ConfigError;

    /// Reads the `SESSION_ENCRYPTION_KEY` format: `[id:]base64` entries, comma-separated,
    /// newest first. Errors say which entry is wrong, never what it holds.
    fn from_str(value: &str) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Env {
            variable: "SESSION_ENCRYPTION_KEY",
            message,
        };
        let mut keys = Vec::new();
        for (n, entry) in value.split(',').map(str::trim).enumerate() {
            let n = n + 1;
            if entry.is_empty() {
                return Err(invalid(format!("key {n} of the list is empty")));
            }
            let (id, encoded) = match entry.split_once(':') {
                Some((id, encoded)) => {
                    let id = id.trim().parse::<u8>().map_err(|_| {
                        invalid(format!("key {n}: expected an id from 1 to 255 before `:`"))
                    })?;
                    (id, encoded.trim())
                }
                None => (1, entry),
            };
            let bytes = BASE64.decode(encoded).map_err(|_| {
                invalid(format!(
                    "key {n} (id {id}) is not base64; make one with `openssl rand -base64 32`"
                ))
            })?;
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                invalid(format!(
                    "key {n} (id {id}) is {} bytes, expected 32; make one with \
                     `openssl rand -base64 32`",
                    bytes.len()
                ))
            })?;
            keys.push((id, key));
        }
        check(&keys).map_err(invalid)?;
        Ok(Self { keys })
    }
}

impl fmt::Debug for EncryptionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKeys")
            .field("ids", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose;

    use super::*;

    fn b64(key: [u8; 32]) -> String {
        general_purpose::STANDARD.encode(key)
    }

    fn message(result: Result<EncryptionKeys, ConfigError>) -> String {
        match result {
            Err(ConfigError::Env { variable, message }) => {
                assert_eq!(variable, "SESSION_ENCRYPTION_KEY");
                message
            }
            other => panic!("expected an Env error, got {other:?}"),
        }
    }

    #[test]
    fn a_bare_key_has_id_one_and_lists_keep_their_order() {
        let one: EncryptionKeys = b64([1; 32]).parse().unwrap();
        assert_eq!(one, EncryptionKeys::single([1; 32]));
        let list = format!(" 7:{} , 1:{}", b64([7; 32]), b64([1; 32]));
        let ring: EncryptionKeys = list.parse().unwrap();
        assert_eq!(ring.keys(), [(7, [7; 32]), (1, [1; 32])]);
        assert_eq!(ring.current_id(), 7);
        // A bare key may stand for id 1 in a list too.
        let mixed: EncryptionKeys = format!("2:{},{}", b64([2; 32]), b64([1; 32]))
            .parse()
            .unwrap();
        assert_eq!(mixed.ids().collect::<Vec<_>>(), [2, 1]);
        // Padding is optional.
        let unpadded = b64([3; 32]).trim_end_matches('=').to_owned();
        assert_eq!(
            unpadded.parse::<EncryptionKeys>().unwrap(),
            EncryptionKeys::single([3; 32])
        );
    }

    #[test]
    fn bad_lists_are_refused_without_echoing_a_key() {
        let key = b64([5; 32]);
        let short = general_purpose::STANDARD.encode([5; 31]);
        let cases = [
            (String::new(), "empty"),
            (format!("{key},"), "key 2 of the list is empty"),
            (format!("{key},{key}"), "id 1 is listed twice"),
            (format!("0:{key}"), "reserved"),
            (format!("256:{key}"), "key 1: expected an id"),
            (format!("x:{key}"), "key 1: expected an id"),
            ("not base64!".to_owned(), "not base64"),
            (short.clone(), "31 bytes, expected 32"),
            (format!("2:{key},3:{short}"), "key 2 (id 3) is 31 bytes"),
        ];
        for (value, expected) in cases {
            let message = message(value.parse());
            assert!(message.contains(expected), "{value:?}: {message}");
            assert!(!message.contains(&key[..10]), "{message}");
            assert!(!message.contains(&short[..10]), "{message}");
        }
    }

    #[test]
    fn new_checks_the_ids() {
        assert!(EncryptionKeys::new([]).is_err());
        assert!(EncryptionKeys::new([(0, [0; 32])]).is_err());
        assert!(EncryptionKeys::new([(3, [0; 32]), (3, [1; 32])]).is_err());
        let ring = EncryptionKeys::new([(3, [0; 32]), (9, [1; 32])]).unwrap();
        assert_eq!(ring.ids().collect::<Vec<_>>(), [3, 9]);
    }

    #[test]
    fn debug_shows_ids_only() {
        let ring = EncryptionKeys::new([(2, [0xAB; 32]), (1, [0xCD; 32])]).unwrap();
        let debug = format!("{ring:?}");
        assert_eq!(debug, "EncryptionKeys { ids: [2, 1] }");
    }
}
