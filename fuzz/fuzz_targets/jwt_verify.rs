//! The Cognito verification path with arbitrary token strings, and with tokens made by
//! editing a correctly signed one (header and payload JSON, signature bytes, the base64url
//! text itself).
//!
//! The property: only the token signed by the pool's key verifies. A token whose signed part
//! (`header.payload`) differs from it, or whose signature decodes to other bytes, must not.

#![no_main]

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cognito_session::fuzz::{
    CLIENT_ID, ID_TOKEN_JWT, OTHER_CLIENT_JWT, UNKNOWN_KID_JWT, VALID_JWT, verify_jwt,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

#[derive(Arbitrary, Debug)]
enum Input {
    /// Any string.
    Raw(String),
    /// One of the signed tokens, edited.
    Edited {
        base: Base,
        edits: Vec<Edit>,
        /// Appended as a fourth part.
        extra: Option<String>,
    },
}

#[derive(Arbitrary, Debug, PartialEq)]
enum Base {
    Valid,
    IdToken,
    OtherClient,
    UnknownKid,
}

#[derive(Arbitrary, Debug)]
struct Edit {
    part: Part,
    op: Op,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Part {
    Header,
    Payload,
    Signature,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// The part becomes base64url of these bytes.
    Encode(Vec<u8>),
    /// The part becomes this text.
    Text(String),
    /// XOR one decoded byte.
    Flip { at: u16, mask: u8 },
    /// Set a member of the decoded header or payload object.
    Set { key: Key, value: Json },
    /// Remove a member of the decoded header or payload object.
    Remove(Key),
    /// Cut the part's text.
    Truncate(u16),
    /// Add text to the part.
    Append(String),
    /// Re-encode the decoded part in standard base64 with padding.
    Standard,
}

#[derive(Arbitrary, Debug)]
enum Key {
    Alg,
    Kid,
    Typ,
    Crit,
    Jku,
    X5u,
    Jwk,
    Iss,
    Sub,
    Exp,
    Iat,
    Nbf,
    TokenUse,
    ClientId,
    Username,
    OriginJti,
    Aud,
    Other(String),
}

impl Key {
    fn name(&self) -> &str {
        match self {
            Key::Alg => "alg",
            Key::Kid => "kid",
            Key::Typ => "typ",
            Key::Crit => "crit",
            Key::Jku => "jku",
            Key::X5u => "x5u",
            Key::Jwk => "jwk",
            Key::Iss => "iss",
            Key::Sub => "sub",
            Key::Exp => "exp",
            Key::Iat => "iat",
            Key::Nbf => "nbf",
            Key::TokenUse => "token_use",
            Key::ClientId => "client_id",
            Key::Username => "username",
            Key::OriginJti => "origin_jti",
            Key::Aud => "aud",
            Key::Other(name) => name,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(String),
    Known(Known),
    List(Vec<String>),
    Object,
}

/// Values the verifier compares against.
#[derive(Arbitrary, Debug)]
enum Known {
    Rs256,
    Rs512,
    Hs256,
    None,
    FuzzKey,
    Access,
    Id,
    Client,
    Issuer,
}

impl Json {
    fn value(self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => b.into(),
            Json::U64(n) => n.into(),
            Json::I64(n) => n.into(),
            Json::F64(f) => f.into(), // NaN and infinities become null
            Json::Str(s) => s.into(),
            Json::Known(known) => match known {
                Known::Rs256 => "RS256".into(),
                Known::Rs512 => "RS512".into(),
                Known::Hs256 => "HS256".into(),
                Known::None => "none".into(),
                Known::FuzzKey => "fuzzkey".into(),
                Known::Access => "access".into(),
                Known::Id => "id".into(),
                Known::Client => CLIENT_ID.into(),
                Known::Issuer => {
                    "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_fuzz".into()
                }
            },
            Json::List(items) => items.into(),
            Json::Object => Value::Object(Map::new()),
        }
    }
}

fn apply(parts: &mut [String; 3], Edit { part, op }: Edit) {
    let text = &mut parts[part as usize];
    let decoded = || URL_SAFE_NO_PAD.decode(text.as_bytes()).ok();
    match op {
        Op::Encode(bytes) => *text = URL_SAFE_NO_PAD.encode(bytes),
        Op::Text(new) => *text = new,
        Op::Flip { at, mask } => {
            if let Some(mut bytes) = decoded()
                && !bytes.is_empty()
            {
                let at = usize::from(at) % bytes.len();
                bytes[at] ^= mask;
                *text = URL_SAFE_NO_PAD.encode(bytes);
            }
        }
        Op::Set { .. } | Op::Remove(_) => {
            let Some(Ok(Value::Object(mut object))) =
                decoded().map(|bytes| serde_json::from_slice::<Value>(&bytes))
            else {
                return;
            };
            match op {
                Op::Set { key, value } => {
                    object.insert(key.name().to_owned(), value.value());
                }
                Op::Remove(key) => {
                    object.remove(key.name());
                }
                _ => unreachable!(),
            }
            *text = URL_SAFE_NO_PAD.encode(Value::Object(object).to_string());
        }
        Op::Truncate(len) => {
            let mut len = usize::from(len).min(text.len());
            while !text.is_char_boundary(len) {
                len -= 1;
            }
            text.truncate(len);
        }
        Op::Append(more) => text.push_str(&more),
        Op::Standard => {
            if let Some(bytes) = decoded() {
                *text = STANDARD.encode(bytes);
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let (token, untouched_valid) = match input {
        Input::Raw(token) => (token, false),
        Input::Edited { base, edits, extra } => {
            let untouched_valid = base == Base::Valid && edits.is_empty() && extra.is_none();
            let base = match base {
                Base::Valid => VALID_JWT,
                Base::IdToken => ID_TOKEN_JWT,
                Base::OtherClient => OTHER_CLIENT_JWT,
                Base::UnknownKid => UNKNOWN_KID_JWT,
            };
            let mut split = base.split('.').map(str::to_owned);
            let mut parts: [String; 3] = std::array::from_fn(|_| split.next().unwrap());
            for edit in edits {
                apply(&mut parts, edit);
            }
            let mut token = parts.join(".");
            if let Some(extra) = extra {
                token.push('.');
                token.push_str(&extra);
            }
            (token, untouched_valid)
        }
    };
    let verified = verify_jwt(&token);
    if untouched_valid {
        assert!(verified, "the pool's own token was refused");
    }
    if verified {
        let (signed, signature) = token.rsplit_once('.').expect("a verified token has parts");
        let (valid_signed, valid_signature) = VALID_JWT.rsplit_once('.').unwrap();
        assert_eq!(
            signed, valid_signed,
            "a token nobody signed verified: {token}"
        );
        assert_eq!(
            URL_SAFE_NO_PAD.decode(signature).ok(),
            URL_SAFE_NO_PAD.decode(valid_signature).ok(),
            "another signature verified: {token}"
        );
    }
});
