use super::super::tests::{full_record, record, store};
use super::*;
use crate::store::dynamodb::EncryptionKeys;

/// A store without a key that allows plaintext tokens and unsigned rows: what earlier
/// versions did by default.
fn plaintext() -> DynamoDbStore {
    store().with_plaintext_tokens(true).with_unsigned_rows(true)
}

impl DynamoDbStore {
    /// [`decode`](Self::decode), a refusal made an error that names it.
    fn read(&self, item: &Item) -> Result<SessionRecord, StoreError> {
        self.decode(item)?
            .map_err(|refusal| backend_msg(format!("refused: {}", refusal.as_str())))
    }
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
            assert_eq!(store.read(&item).unwrap(), record);
        }
    }
}

#[test]
fn attributes_are_typed_and_absent_options_are_omitted() {
    let item = store()
        .with_encryption_key([1; 32])
        .encode(&record(false))
        .unwrap();
    let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "SessionToken",
            "created_at",
            "expires_at",
            "last_seen_at",
            "mac",
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
    let decoded = store.read(&store.encode(&full).unwrap()).unwrap();
    assert_eq!(decoded.claims, full.claims);
    let groups_only = SessionRecord {
        claims: Claims::new().with_groups(["g"]),
        ..record(false)
    };
    let item = store.encode(&groups_only).unwrap();
    assert!(item.contains_key("groups"));
    assert!(!item.contains_key("scopes") && !item.contains_key("claims"));
    assert_eq!(store.read(&item).unwrap(), groups_only);
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
    assert!(is_malformed(store.read(&moved), "could not be decrypted"));

    let mut swapped = item.clone();
    swapped.insert("access_token".into(), item["refresh_token"].clone());
    assert!(is_malformed(store.read(&swapped), "access_token"));

    let other_key = self::store().with_encryption_key([2; 32]);
    assert!(is_malformed(other_key.read(&item), "access_token"));
    assert!(is_malformed(self::store().read(&item), "access_token"));

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
    assert!(is_malformed(store.read(&bad), "refresh_token"));
    bad.insert(
        "refresh_token".into(),
        AttributeValue::B(Blob::new(vec![1, 2])),
    );
    assert!(is_malformed(store.read(&bad), "refresh_token"));
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
    // Opaque sessions hold no token, but a row without a key would be unsigned.
    let opaque = record(false);
    assert!(is_malformed(
        store.encode(&opaque).map(|_| opaque.clone()),
        "unsigned"
    ));
    let unsigned = self::store().with_unsigned_rows(true);
    let item = unsigned.encode(&opaque).unwrap();
    assert_eq!(unsigned.read(&item).unwrap(), opaque);
    let store = unsigned;

    let written = plaintext().encode(&full_record()).unwrap();
    assert_eq!(written["access_token"], s("access.jwt.value"));
    assert!(is_malformed(store.read(&written), "in plaintext"));
    assert_eq!(plaintext().read(&written).unwrap(), full_record());
}

#[test]
fn plaintext_tokens_are_refused_with_a_key_unless_allowed_while_migrating() {
    let plain = plaintext().encode(&full_record()).unwrap();
    // Written by a version that signed nothing either.
    let keyed = store()
        .with_encryption_key([1; 32])
        .with_unsigned_rows(true);
    assert!(is_malformed(keyed.read(&plain), "access_token"));
    assert!(is_malformed(keyed.read(&plain), "plaintext"));
    let migrating = keyed.with_plaintext_tokens(true);
    let record = migrating.read(&plain).unwrap();
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
        // Values that old were written by a version that signed no row either.
        let legacy = || store().with_unsigned_rows(true);
        let rotated = legacy().with_encryption_keys(Some(ring));
        assert_eq!(rotated.read(&item).unwrap(), record);
        assert_eq!(
            legacy().with_encryption_key([1; 32]).read(&item).unwrap(),
            record
        );
        // Key 1 dropped from the ring: the legacy values are no longer readable.
        let only_two =
            legacy().with_encryption_keys(Some(EncryptionKeys::new([(2, [2; 32])]).unwrap()));
        assert!(is_malformed(only_two.read(&item), "could not be decrypted"));
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

    assert_eq!(rotating.read(&under_one).unwrap(), record);
    assert_eq!(rotating.read(&under_two).unwrap(), record);
    assert_eq!(new.read(&under_two).unwrap(), record);
    assert!(is_malformed(new.read(&under_one), "could not be decrypted"));
    assert!(is_malformed(old.read(&under_two), "could not be decrypted"));

    // A key id is bound to its value: relabelled, it no longer opens, even under a ring
    // holding the same key bytes under both ids.
    let same_bytes = ring(&[(2, [2; 32]), (3, [2; 32])]);
    let mut relabelled = under_two.clone();
    let mut bytes = sealed.as_ref().to_vec();
    bytes[1] = 3;
    relabelled.insert("access_token".into(), AttributeValue::B(Blob::new(bytes)));
    assert!(is_malformed(same_bytes.read(&relabelled), "access_token"));
    assert_eq!(same_bytes.read(&under_two).unwrap(), record);
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
        store.read(&item)
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

/// A keyed store's item for [`full_record`], and the store.
fn signed() -> (DynamoDbStore, Item) {
    let ring = EncryptionKeys::new([(2, [2; 32]), (1, [1; 32])]).unwrap();
    let store = store().with_encryption_keys(Some(ring));
    let item = store.encode(&full_record()).unwrap();
    (store, item)
}

fn refusal(store: &DynamoDbStore, item: &Item) -> Option<Refusal> {
    store.decode(item).unwrap().err()
}

#[test]
fn every_row_is_signed_under_the_newest_key() {
    let (store, item) = signed();
    let AttributeValue::B(mac) = &item["mac"] else {
        panic!("not binary: {:?}", item["mac"]);
    };
    assert_eq!(mac.as_ref().len(), 34);
    assert_eq!(
        mac.as_ref()[..2],
        [1, 2],
        "format, then the newest key's id"
    );
    assert_eq!(store.read(&item).unwrap(), full_record());
    // Opaque rows too: they are what a forger would write.
    let opaque = store.encode(&record(false)).unwrap();
    assert!(opaque["mac"].is_b());
    assert_eq!(store.read(&opaque).unwrap(), record(false));
}

#[test]
fn a_row_changed_in_anything_that_grants_access_is_refused() {
    let (store, item) = signed();
    let edits: [(&str, AttributeValue); 16] = [
        ("session_id", s("AAECAwQFBgg")),
        ("method", s("managed")),
        ("username", s("mallory")),
        ("user_sub", s("sub-2")),
        ("token_hash", s(TokenHash::of("forged").to_hex())),
        ("previous_token_hash", s(TokenHash::of("forged").to_hex())),
        ("previous_valid_until", n(1_800_000_000)),
        ("successor", s("elsewhere")),
        ("access_expires_at", n(1_800_000_000)),
        (
            "groups",
            AttributeValue::L(vec![s("admins"), s("staff"), s("root")]),
        ),
        ("scopes", AttributeValue::L(vec![s("orders/write")])),
        ("claims", s(r#"{"custom:tenant":"evil"}"#)),
        ("created_at", n(1_700_000_001)),
        ("last_seen_at", n(1_700_000_101)),
        ("expires_at", n(1_900_000_000)),
        ("version", n(4)),
    ];
    for (name, value) in edits {
        let mut edited = item.clone();
        edited.insert(name.to_owned(), value);
        assert_eq!(refusal(&store, &edited), Some(Refusal::Invalid), "{name}");
    }
    for name in [
        "user_sub",
        "successor",
        "groups",
        "scopes",
        "claims",
        "session_id",
        "method",
    ] {
        let mut removed = item.clone();
        removed.remove(name);
        assert_eq!(
            refusal(&store, &removed),
            Some(Refusal::Invalid),
            "{name} removed"
        );
    }
    // The refresh token of the same row at another time: sealed under the right key and
    // for the right attribute, so only the MAC tells.
    let mut older = full_record();
    older.cognito.as_mut().unwrap().refresh_token = Secret::new("an older refresh token");
    let older = store.encode(&older).unwrap();
    let mut replayed = item.clone();
    replayed.insert("refresh_token".into(), older["refresh_token"].clone());
    assert_eq!(refusal(&store, &replayed), Some(Refusal::Invalid));
}

#[test]
fn a_mac_that_is_missing_truncated_moved_or_under_another_key_is_refused() {
    let (store, item) = signed();
    let with_mac = |mac: Option<AttributeValue>| {
        let mut edited = item.clone();
        match mac {
            Some(mac) => edited.insert("mac".into(), mac),
            None => edited.remove("mac"),
        };
        edited
    };
    let bytes = |b: &[u8]| Some(AttributeValue::B(Blob::new(b.to_vec())));
    let AttributeValue::B(mac) = &item["mac"] else {
        unreachable!()
    };
    let mac = mac.as_ref();

    assert_eq!(refusal(&store, &with_mac(None)), Some(Refusal::Unsigned));
    for bad in [
        bytes(&mac[..mac.len() - 1]),
        bytes(&mac[..2]),
        bytes(&[]),
        bytes(&[mac, &[0]].concat()),
        Some(s(String::from_utf8_lossy(mac))),
        Some(AttributeValue::Null(true)),
    ] {
        assert_eq!(refusal(&store, &with_mac(bad)), Some(Refusal::Invalid));
    }
    let mut flipped = mac.to_vec();
    flipped[20] ^= 1;
    assert_eq!(
        refusal(&store, &with_mac(bytes(&flipped))),
        Some(Refusal::Invalid)
    );
    let mut other_format = mac.to_vec();
    other_format[0] = 2;
    assert_eq!(
        refusal(&store, &with_mac(bytes(&other_format))),
        Some(Refusal::Invalid)
    );

    // Labelled with the other key of the ring, or with one the ring doesn't hold.
    for id in [1, 3] {
        let mut relabelled = mac.to_vec();
        relabelled[1] = id;
        assert_eq!(
            refusal(&store, &with_mac(bytes(&relabelled))),
            Some(Refusal::Invalid)
        );
    }

    // The MAC of another row, in this one.
    let other = store
        .encode(&SessionRecord {
            key: "another".into(),
            ..full_record()
        })
        .unwrap();
    assert_eq!(
        refusal(&store, &with_mac(Some(other["mac"].clone()))),
        Some(Refusal::Invalid)
    );

    // A store whose ring lost the signing key; one that never held it.
    let lost =
        self::store().with_encryption_keys(Some(EncryptionKeys::new([(2, [9; 32])]).unwrap()));
    let plain = full_record();
    let item_under_one = self::store()
        .with_encryption_key([1; 32])
        .encode(&SessionRecord {
            cognito: None,
            ..plain
        })
        .unwrap();
    assert_eq!(refusal(&lost, &item_under_one), Some(Refusal::Invalid));
}

#[test]
fn unsigned_rows_are_read_only_where_allowed_and_every_write_signs() {
    let (store, item) = signed();
    let mut unsigned = item.clone();
    unsigned.remove("mac");
    let migrating = store.clone().with_unsigned_rows(true);
    let record = migrating.read(&unsigned).unwrap();
    assert_eq!(record, full_record());
    // Written back, it is signed, and read without the opt-in.
    let rewritten = migrating.encode(&record).unwrap();
    assert_eq!(store.read(&rewritten).unwrap(), record);
    // A wrong MAC is refused during the migration too.
    let mut forged = item.clone();
    forged.insert("username".into(), s("mallory"));
    assert_eq!(refusal(&migrating, &forged), Some(Refusal::Invalid));
}

#[test]
fn a_touch_signs_the_new_times() {
    let (store, item) = signed();
    let touched = SessionRecord {
        last_seen_at: 1_700_000_500,
        expires_at: 1_700_700_000,
        ..full_record()
    };
    let mut after = item.clone();
    after.insert("last_seen_at".into(), n(touched.last_seen_at));
    after.insert("expires_at".into(), n(touched.expires_at));
    assert_eq!(refusal(&store, &after), Some(Refusal::Invalid));
    after.insert("mac".into(), store.sign_touched(&touched).unwrap().unwrap());
    assert_eq!(store.read(&after).unwrap(), touched);
}

#[test]
fn a_refused_row_is_logged_with_a_short_hash_of_its_key_and_no_token() {
    let (store, item) = signed();
    let mut forged = item.clone();
    forged.insert("username".into(), s("mallory"));
    let (read, logs) = crate::logs::logged(|| store.session(&forged));
    assert_eq!(read.unwrap(), None, "no session");
    assert_eq!(logs.lines().count(), 1, "{logs}");
    assert!(logs.contains("WARN") && logs.contains("invalid"), "{logs}");
    let key = full_record().key;
    let short = format!("{:?}", TokenHash::of(&key));
    assert!(logs.contains(&short[10..18]), "{short} in {logs}");
    for secret in [
        key.as_str(),
        "access.jwt.value",
        "refresh-token-value",
        "mallory",
    ] {
        assert!(!logs.contains(secret), "{secret} in {logs}");
    }
}
