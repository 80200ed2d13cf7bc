use super::*;

#[test]
fn secret_hash_matches_a_known_vector() {
    // Computed independently: base64(HMAC-SHA256(secret, "alice" + client id)).
    let hash = secret_hash(
        &Secret::new("shh-client-secret"),
        "alice",
        "3n4b5urk1ft4fl3mg5e62d9ado",
    );
    assert_eq!(hash, "YOiDDavul7t3Zxp0PejDO/XJVJRA38PcUR3oNbRw4DA=");
}

#[test]
fn debug_hides_the_client_secret() {
    let config = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
        .build();
    let mut settings = CognitoSettings::new("us-east-1_x", "client");
    settings.client_secret = Some(Secret::new("very-secret"));
    let idp = Idp::new(
        Client::from_conf(config),
        &settings,
        Duration::from_secs(1),
        false,
    );
    let debug = format!("{idp:?}");
    assert!(!debug.contains("very-secret"), "{debug}");
}
