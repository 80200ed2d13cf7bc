//! RSA keys that sign test tokens, their JWKs, and the signer. The tests (`tests/common`) and
//! the benchmarks (`benches/support`, through `#[path]`) share this file.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// The committed test-only key, `benches/fixtures/test-rsa-key.pem` (see the README there):
/// the same key on every run, so a benchmark doesn't measure a key made at run time, and a
/// key that no JWKS of the tests serves.
pub fn fixture() -> EncodingKey {
    EncodingKey::from_rsa_pem(include_bytes!("../../benches/fixtures/test-rsa-key.pem"))
        .expect("the fixture key as PKCS#8 PEM")
}

/// A 2048-bit RSA key made now, for tests that need keys of their own.
pub fn fresh() -> EncodingKey {
    use aws_lc_rs::encoding::AsDer;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = STANDARD.encode(pair.as_der().unwrap().as_ref());
    let body: Vec<&str> = der
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        body.join("\n")
    );
    EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
}

/// The public half of `key` as a JWK under `kid`, as a user pool publishes its keys
/// (`"alg": "RS256"`, `"use": "sig"`).
pub fn jwk(key: &EncodingKey, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk
}

/// Signs `claims` (RS256) with `key` under `kid`.
pub fn sign(claims: &impl Serialize, key: &EncodingKey, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}
