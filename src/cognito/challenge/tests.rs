use std::time::Duration;

use super::*;

fn sealer_with(key: &str) -> Sealer {
    let settings = CognitoSettings::new("us-east-1_x", "client");
    let key = ChallengeKey(key.as_bytes().to_vec());
    Sealer::new(&settings, Some(&key), Duration::from_secs(60)).unwrap()
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
    let settings = CognitoSettings::new("us-east-1_x", "client");
    let short = ChallengeKey(b"short".to_vec());
    assert!(Sealer::new(&settings, Some(&short), Duration::from_secs(1)).is_err());
}

#[test]
fn without_a_key_instances_of_a_client_with_a_secret_agree_and_others_do_not() {
    let mut settings = CognitoSettings::new("us-east-1_x", "client");
    settings.client_secret = Some(Secret::new("client-secret"));
    let lifetime = Duration::from_secs(60);
    let one = Sealer::new(&settings, None, lifetime).unwrap();
    let two = Sealer::new(&settings, None, lifetime).unwrap();
    let sealed = one.seal(CHALLENGE, "alice", &envelope());
    assert!(two.open_challenge("alice", &sealed, 999).is_some());

    settings.client_secret = None;
    let one = Sealer::new(&settings, None, lifetime).unwrap();
    let two = Sealer::new(&settings, None, lifetime).unwrap();
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
