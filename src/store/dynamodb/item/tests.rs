use super::super::tests::{full_record, record, store};
use super::*;
use crate::store::dynamodb::EncryptionKeys;

/// A store without a key that allows plaintext tokens: what earlier versions did by
/// default.
fn plaintext() -> DynamoDbStore {
    store().with_plaintext_tokens(true)
}

fn is_malformed(result: Result<SessionRecord, StoreError>, attribute: &str) -> bool {
    match result {
        Err(StoreError::Backend(e)) => e.to_string().contains(attribute),
        _ => false,
    }
}

#[test]
fn records_round_trip_with_and_without_a_key() {
    let ring = EncryptionKeys::new([(5, [5; 32]), (1, [1; 32])]).unwrap();
    for store in [
        plaintext(),
        store().with_encryption_key([9; 32]),
        store().with_encryption_keys(Some(ring)),
    ] {
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

    let full = plaintext().encode(&full_record()).unwrap();
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
    let store = plaintext();
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
        assert_eq!(
            bytes.len(),
            2 + NONCE_LEN + "refresh-token-value".len() + 16
        );
        assert_eq!(bytes[..2], [FORMAT_KEY_ID, 1], "format, then the key id");
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
fn without_a_key_cognito_tokens_are_refused_unless_plaintext_is_allowed() {
    let store = store();
    match store.encode(&full_record()) {
        Err(StoreError::Backend(e)) => {
            let message = e.to_string();
            assert!(message.contains("in plaintext"), "{message}");
            assert!(message.contains("SESSION_ENCRYPTION_KEY"), "{message}");
        }
        other => panic!("expected a Backend error, got {other:?}"),
    }
    // Opaque sessions hold no token: nothing to refuse.
    let opaque = record(false);
    let item = store.encode(&opaque).unwrap();
    assert_eq!(store.decode(&item).unwrap(), opaque);

    let written = plaintext().encode(&full_record()).unwrap();
    assert_eq!(written["access_token"], s("access.jwt.value"));
    assert!(is_malformed(store.decode(&written), "in plaintext"));
    assert_eq!(plaintext().decode(&written).unwrap(), full_record());
}

#[test]
fn plaintext_tokens_are_refused_with_a_key_unless_allowed_while_migrating() {
    let plain = plaintext().encode(&full_record()).unwrap();
    let keyed = store().with_encryption_key([1; 32]);
    assert!(is_malformed(keyed.decode(&plain), "access_token"));
    assert!(is_malformed(keyed.decode(&plain), "plaintext"));
    let migrating = keyed.with_plaintext_tokens(true);
    let record = migrating.decode(&plain).unwrap();
    assert_eq!(record, full_record());
    // Written back, it is sealed.
    let rewritten = migrating.encode(&record).unwrap();
    assert!(rewritten["refresh_token"].is_b());
}

/// Sealed as `with_encryption_key` did before key ids: `[nonce, ciphertext]`, with the
/// attribute and item key, length-prefixed, as associated data.
fn legacy_seal(
    key: [u8; 32],
    nonce: [u8; NONCE_LEN],
    item_key: &str,
    attribute: &str,
    value: &str,
) -> AttributeValue {
    use aes_gcm::aead::KeyInit;
    let mut aad = Vec::new();
    for part in [attribute, item_key] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    let cipher = Aes256Gcm::new(&key.into());
    let payload = Payload {
        msg: value.as_bytes(),
        aad: &aad,
    };
    let mut sealed = nonce.to_vec();
    sealed.extend(cipher.encrypt(Nonce::from_slice(&nonce), payload).unwrap());
    AttributeValue::B(Blob::new(sealed))
}

#[test]
fn values_sealed_before_key_ids_are_read_with_key_one() {
    let record = full_record();
    let mut item = plaintext().encode(&record).unwrap();
    // The second nonce begins like a value of the current format under key 2: it is
    // still read as what it is.
    let nonces = [[0x42; NONCE_LEN], {
        let mut n = [0x42; NONCE_LEN];
        n[..2].copy_from_slice(&[FORMAT_KEY_ID, 2]);
        n
    }];
    for nonce in nonces {
        let cognito = record.cognito.as_ref().unwrap();
        for (name, value) in [
            ("access_token", &cognito.access_token),
            ("refresh_token", &cognito.refresh_token),
        ] {
            item.insert(
                name.into(),
                legacy_seal([1; 32], nonce, &record.key, name, value.expose()),
            );
        }
        let ring = EncryptionKeys::new([(2, [2; 32]), (1, [1; 32])]).unwrap();
        let rotated = store().with_encryption_keys(Some(ring));
        assert_eq!(rotated.decode(&item).unwrap(), record);
        assert_eq!(
            store().with_encryption_key([1; 32]).decode(&item).unwrap(),
            record
        );
        // Key 1 dropped from the ring: the legacy values are no longer readable.
        let only_two =
            store().with_encryption_keys(Some(EncryptionKeys::new([(2, [2; 32])]).unwrap()));
        assert!(is_malformed(
            only_two.decode(&item),
            "could not be decrypted"
        ));
    }
}

#[test]
fn the_newest_key_seals_and_every_listed_key_opens() {
    let record = full_record();
    let ring = |keys: &[(u8, [u8; 32])]| {
        store().with_encryption_keys(Some(EncryptionKeys::new(keys.iter().copied()).unwrap()))
    };
    let old = ring(&[(1, [1; 32])]);
    let rotating = ring(&[(2, [2; 32]), (1, [1; 32])]);
    let new = ring(&[(2, [2; 32])]);

    let under_one = old.encode(&record).unwrap();
    let under_two = rotating.encode(&record).unwrap();
    let AttributeValue::B(sealed) = &under_two["access_token"] else {
        panic!("not binary")
    };
    assert_eq!(
        sealed.as_ref()[..2],
        [FORMAT_KEY_ID, 2],
        "the newest key seals"
    );

    assert_eq!(rotating.decode(&under_one).unwrap(), record);
    assert_eq!(rotating.decode(&under_two).unwrap(), record);
    assert_eq!(new.decode(&under_two).unwrap(), record);
    assert!(is_malformed(
        new.decode(&under_one),
        "could not be decrypted"
    ));
    assert!(is_malformed(
        old.decode(&under_two),
        "could not be decrypted"
    ));

    // A key id is bound to its value: relabelled, it no longer opens, even under a ring
    // holding the same key bytes under both ids.
    let same_bytes = ring(&[(2, [2; 32]), (3, [2; 32])]);
    let mut relabelled = under_two.clone();
    let mut bytes = sealed.as_ref().to_vec();
    bytes[1] = 3;
    relabelled.insert("access_token".into(), AttributeValue::B(Blob::new(bytes)));
    assert!(is_malformed(same_bytes.decode(&relabelled), "access_token"));
    assert_eq!(same_bytes.decode(&under_two).unwrap(), record);
}

#[test]
fn malformed_items_are_backend_errors_naming_the_attribute() {
    let store = plaintext();
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
    assert!(is_malformed(
        with("previous_valid_until", None),
        "previous_token_hash"
    ));
    assert!(is_malformed(
        with("previous_token_hash", None),
        "previous_token_hash"
    ));
}
