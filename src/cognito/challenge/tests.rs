use super::*;

fn sealer_with(key: &str) -> Sealer {
    let settings = CognitoSettings::new("us-east-1_x", "client").with_challenge_key(key);
    Sealer::new(&settings).unwrap()
}

fn envelope() -> Envelope {
    Envelope {
        c: "SMS_MFA".into(),
        s: "cognito-session".into(),
        u: "alice-id".into(),
        e: 1000,
    }
}

#[test]
fn a_sealed_session_opens_for_its_user_only_and_until_it_expires() {
    let sealer = sealer_with(&"k".repeat(32));
    let sealed = sealer.seal(CHALLENGE, "alice", &envelope());
    let opened = sealer.open_challenge("alice", &sealed, 999).expect("opens");
    assert_eq!(
        (opened.c.as_str(), opened.s.as_str()),
        ("SMS_MFA", "cognito-session")
    );
    assert!(
        sealer.open_challenge("bob", &sealed, 999).is_none(),
        "another user"
    );
    assert!(
        sealer.open_challenge("alice", &sealed, 1000).is_none(),
        "expired"
    );
    assert!(
        sealer_with(&"j".repeat(32))
            .open_challenge("alice", &sealed, 999)
            .is_none(),
        "another key"
    );
}

#[test]
fn an_altered_session_is_refused() {
    let sealer = sealer_with(&"k".repeat(32));
    let sealed = sealer.seal(CHALLENGE, "alice", &envelope());
    let (payload, tag) = sealed.split_once('.').unwrap();
    let mut longer = envelope();
    longer.e = u64::MAX;
    let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&longer).unwrap());
    for altered in [
        format!("{forged}.{tag}"),
        format!("{payload}.{}", &tag[1..]),
        format!("{payload}x.{tag}"),
        payload.to_owned(),
        String::new(),
        "x".repeat(MAX_SEALED + 1),
    ] {
        assert!(
            sealer.open_challenge("alice", &altered, 999).is_none(),
            "{altered}"
        );
    }
}

#[test]
fn a_short_key_is_a_configuration_error() {
    let settings = CognitoSettings::new("us-east-1_x", "client").with_challenge_key("short");
    assert!(Sealer::new(&settings).is_err());
}

#[test]
fn without_a_key_instances_of_a_client_with_a_secret_agree_and_others_do_not() {
    let mut settings = CognitoSettings::new("us-east-1_x", "client");
    settings.client_secret = Some(Secret::new("client-secret"));
    let one = Sealer::new(&settings).unwrap();
    let two = Sealer::new(&settings).unwrap();
    let sealed = one.seal(CHALLENGE, "alice", &envelope());
    assert!(two.open_challenge("alice", &sealed, 999).is_some());

    settings.client_secret = None;
    let one = Sealer::new(&settings).unwrap();
    let two = Sealer::new(&settings).unwrap();
    assert!(
        two.open_challenge("alice", &one.seal(CHALLENGE, "alice", &envelope()), 999)
            .is_none()
    );
}

#[test]
fn required_attributes_lose_their_prefix() {
    let challenge = Challenge {
        name: ChallengeName::NewPasswordRequired,
        session: Secret::new("s"),
        parameters: [(
            "requiredAttributes".to_owned(),
            r#"["userAttributes.given_name","userAttributes.custom:team"]"#.to_owned(),
        )]
        .into(),
        secret_code: None,
    };
    assert_eq!(
        challenge.required_attributes(),
        ["given_name", "custom:team"]
    );
    assert!(
        !format!("{challenge:?}").contains("\"s\""),
        "the session is redacted"
    );
}

#[test]
fn names_round_trip() {
    for name in [
        "NEW_PASSWORD_REQUIRED",
        "SOFTWARE_TOKEN_MFA",
        "SMS_MFA",
        "EMAIL_OTP",
        "SELECT_MFA_TYPE",
        "MFA_SETUP",
    ] {
        assert_eq!(ChallengeName::from_name(name).unwrap().as_str(), name);
    }
    assert_eq!(ChallengeName::from_name("CUSTOM_CHALLENGE"), None);
}

#[test]
fn a_value_sealed_for_one_purpose_does_not_open_for_another() {
    let sealer = sealer_with(&"k".repeat(32));
    let sealed = sealer.seal("login-state", "alice", &envelope());
    assert!(sealer.open_challenge("alice", &sealed, 999).is_none());
    let challenge = sealer.seal(CHALLENGE, "alice", &envelope());
    assert!(
        sealer
            .open::<Envelope>("login-state", "alice", &challenge)
            .is_none()
    );
    assert!(
        sealer
            .open::<Envelope>(CHALLENGE, "alice", &challenge)
            .is_some()
    );
}

#[test]
fn the_key_is_derived_with_hkdf_and_a_label_of_its_own() {
    let pool = "us-east-1_x";
    let secret = b"client-secret";
    let settings =
        CognitoSettings::new(pool, "client").with_client_secret(Secret::new("client-secret"));
    let key = Sealer::new(&settings).unwrap().key;
    assert_eq!(key, derive_key(secret, KEY_LABEL, pool));

    // The derivation before #24: HMAC keyed by the secret, over a label and the pool.
    let mut old = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    old.update(b"cognito-session challenge key v1");
    old.update(pool.as_bytes());
    assert_ne!(key, <[u8; 32]>::from(old.finalize().into_bytes()));
    assert_ne!(key, derive_key(secret, b"another label", pool));
    assert_ne!(key, derive_key(secret, KEY_LABEL, "us-east-1_y"));

    // The service's own secret comes before the client secret, and a given key before both.
    let service = settings.clone().with_service_secret(&[7; 32]);
    let service_key = Sealer::new(&service).unwrap().key;
    assert_eq!(service_key, derive_key(&[7; 32], KEY_LABEL, pool));
    // Not the session table's row MAC key, derived from the same encryption key (its label
    // is `store::dynamodb::mac`'s).
    let mut row_mac_key = [0; 32];
    Hkdf::<Sha256>::new(None, &[7; 32])
        .expand(b"cognito-session row mac v1", &mut row_mac_key)
        .unwrap();
    assert_ne!(service_key, row_mac_key);
    let given = service.with_challenge_key("g".repeat(32));
    let given_key = Sealer::new(&given).unwrap().key;
    assert_eq!(
        given_key,
        derive_key("g".repeat(32).as_bytes(), KEY_LABEL, pool)
    );
}

#[test]
fn a_derived_key_is_logged_as_a_warning_and_a_given_one_is_not() {
    let logged =
        |settings: &CognitoSettings| crate::logs::logged(|| Sealer::new(settings).unwrap()).1;
    let plain = CognitoSettings::new("us-east-1_x", "client");
    let with_secret = plain
        .clone()
        .with_client_secret(Secret::new("client-secret"));
    for (settings, from) in [
        (
            with_secret.clone().with_service_secret(&[7; 32]),
            "SESSION_ENCRYPTION_KEY",
        ),
        (with_secret.clone(), "client secret"),
        (plain.clone(), "random key"),
    ] {
        let logs = logged(&settings);
        assert_eq!(logs.lines().count(), 1, "{logs}");
        assert!(logs.contains("WARN"), "{logs}");
        assert!(logs.contains(from), "{logs}");
        assert!(logs.contains("COGNITO_CHALLENGE_KEY"), "{logs}");
        assert!(!logs.contains("client-secret"), "{logs}");
    }
    assert_eq!(logged(&with_secret.with_challenge_key("k".repeat(32))), "");
}
