use super::*;
use crate::SessionError;
use crate::cognito::{AuthFlow, KeyClaim};
use crate::env::{variable, vars};
use crate::store::dynamodb::EncryptionKeys;

fn env(pairs: &[(&str, &str)]) -> Result<EnvSettings, ConfigError> {
    EnvSettings::read(vars(pairs))
}

#[test]
fn empty_environment_is_the_embedded_default() {
    let config = env(&[]).unwrap();
    assert!(config.table.is_none());
    assert!(config.cognito.is_none());
    assert_eq!(config.cache, None);
}

#[test]
fn reads_the_sswahn_variables() {
    let config = env(&[
        ("SESSION_TABLE", "sessions"),
        ("PARTITION_KEY", "sub"),
        ("USER_POOL_ID", "eu-west-1_abc"),
        ("CLIENT_ID", "client"),
        ("CLIENT_SECRET", "shh"),
        ("SESSION_KEY_CLAIM", "sub"),
        ("SESSION_ENCRYPTION_KEY", KEY_ONES),
        ("COOKIE_SECURE", "false"),
        ("REFRESH_BEFORE_SECS", "3595"),
        ("REFRESH_AFTER_EXPIRY_SECS", "7200"),
    ])
    .unwrap();
    let table = config.table.unwrap();
    assert_eq!(
        (table.name.as_str(), table.partition_key.as_str()),
        ("sessions", "sub")
    );
    assert_eq!(config.cache, None);
    let cached = env(&[
        ("SESSION_TABLE", "s"),
        ("SESSION_ENCRYPTION_KEY", KEY_ONES),
        ("SESSION_CACHE_SECS", "5"),
    ])
    .unwrap();
    assert_eq!(cached.cache, Some(Duration::from_secs(5)));
    let cognito = config.cognito.unwrap();
    assert_eq!(cognito.client_id, "client");
    assert_eq!(cognito.key_claim, KeyClaim::Sub);
    assert_eq!(
        cognito.issuer(),
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
    );
    assert_eq!(
        cognito.jwks_url(),
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json"
    );
    assert_eq!(cognito.client_secret.as_ref().unwrap().expose(), "shh");
    assert!(!config.config.cookie.secure);
    assert_eq!(cognito.refresh_before, Duration::from_secs(3595));
    assert_eq!(cognito.refresh_after_expiry, Duration::from_secs(7200));
}

/// The base64 of 32 bytes of 1.
const KEY_ONES: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

#[test]
fn cognito_on_a_table_needs_a_key_or_an_explicit_plaintext_opt_in() {
    let base = [
        ("SESSION_TABLE", "sessions"),
        ("USER_POOL_ID", "us-east-1_p"),
        ("CLIENT_ID", "c"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut vars = base.to_vec();
        vars.extend_from_slice(extra);
        env(&vars)
    };
    match with(&[]) {
        Err(ConfigError::Env { variable, message }) => {
            assert_eq!(variable, "SESSION_ENCRYPTION_KEY");
            assert!(message.contains("ALLOW_PLAINTEXT_TOKENS"), "{message}");
        }
        other => panic!("expected an Env error, got {other:?}"),
    }
    assert_eq!(
        variable(with(&[("ALLOW_PLAINTEXT_TOKENS", "false")])),
        "SESSION_ENCRYPTION_KEY"
    );

    let keyed = with(&[("SESSION_ENCRYPTION_KEY", KEY_ONES)]).unwrap();
    assert_eq!(keyed.encryption, Some(EncryptionKeys::single([1; 32])));
    assert!(
        !keyed.allow_plaintext_tokens,
        "plaintext is refused by default"
    );

    let plain = with(&[
        ("ALLOW_PLAINTEXT_TOKENS", "true"),
        ("ALLOW_UNSIGNED_ROWS", "true"),
    ])
    .unwrap();
    assert_eq!(plain.encryption, None);
    assert!(plain.allow_plaintext_tokens && plain.allow_unsigned_rows);

    let migrating = with(&[
        ("SESSION_ENCRYPTION_KEY", KEY_ONES),
        ("ALLOW_PLAINTEXT_TOKENS", "true"),
    ])
    .unwrap();
    assert!(migrating.encryption.is_some() && migrating.allow_plaintext_tokens);

    // Cognito with sessions in memory needs no key.
    assert!(env(&[("USER_POOL_ID", "us-east-1_p"), ("CLIENT_ID", "c")]).is_ok());
}

#[test]
fn a_table_needs_a_key_to_sign_its_rows_or_an_explicit_unsigned_opt_in() {
    match env(&[("SESSION_TABLE", "sessions")]) {
        Err(ConfigError::Env { variable, message }) => {
            assert_eq!(variable, "SESSION_ENCRYPTION_KEY");
            assert!(message.contains("ALLOW_UNSIGNED_ROWS"), "{message}");
        }
        other => panic!("expected an Env error, got {other:?}"),
    }
    // Plaintext tokens are another opt-in: they don't make rows unsigned.
    assert_eq!(
        variable(env(&[
            ("SESSION_TABLE", "sessions"),
            ("USER_POOL_ID", "us-east-1_p"),
            ("CLIENT_ID", "c"),
            ("ALLOW_PLAINTEXT_TOKENS", "true"),
        ])),
        "SESSION_ENCRYPTION_KEY"
    );
    let keyed = env(&[
        ("SESSION_TABLE", "sessions"),
        ("SESSION_ENCRYPTION_KEY", KEY_ONES),
    ])
    .unwrap();
    assert!(
        !keyed.allow_unsigned_rows,
        "unsigned rows are refused by default"
    );
    let migrating = env(&[
        ("SESSION_TABLE", "sessions"),
        ("SESSION_ENCRYPTION_KEY", KEY_ONES),
        ("ALLOW_UNSIGNED_ROWS", "true"),
    ])
    .unwrap();
    assert!(migrating.encryption.is_some() && migrating.allow_unsigned_rows);
    assert!(
        env(&[
            ("SESSION_TABLE", "sessions"),
            ("ALLOW_UNSIGNED_ROWS", "true")
        ])
        .is_ok()
    );
    assert_eq!(
        variable(env(&[
            ("SESSION_TABLE", "s"),
            ("ALLOW_UNSIGNED_ROWS", "maybe")
        ])),
        "ALLOW_UNSIGNED_ROWS"
    );
}

#[test]
fn encryption_variables_are_checked_wherever_they_are_set() {
    let rotated = format!(
        "2:{},1:{KEY_ONES}",
        "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
    );
    let config = env(&[
        ("SESSION_TABLE", "s"),
        ("SESSION_ENCRYPTION_KEY", rotated.as_str()),
    ])
    .unwrap();
    let keys = config.encryption.unwrap();
    assert_eq!(keys.ids().collect::<Vec<_>>(), [2, 1]);

    assert_eq!(
        variable(env(&[("SESSION_ENCRYPTION_KEY", "c2hvcnQ=")])),
        "SESSION_ENCRYPTION_KEY"
    );
    assert_eq!(
        variable(env(&[
            ("SESSION_TABLE", "s"),
            ("SESSION_ENCRYPTION_KEY", "1:abc,")
        ])),
        "SESSION_ENCRYPTION_KEY"
    );
    assert_eq!(
        variable(env(&[("ALLOW_PLAINTEXT_TOKENS", "sure")])),
        "ALLOW_PLAINTEXT_TOKENS"
    );
}

#[test]
fn auth_flow_is_password_unless_srp_is_asked_for() {
    let pool = ("USER_POOL_ID", "us-east-1_p");
    let client = ("CLIENT_ID", "c");
    let flow = |value: Option<&str>| {
        let mut vars = vec![pool, client];
        vars.extend(value.map(|v| ("COGNITO_AUTH_FLOW", v)));
        env(&vars).map(|config| config.cognito.unwrap().auth_flow)
    };
    assert_eq!(flow(None).unwrap(), AuthFlow::Password);
    assert_eq!(flow(Some("")).unwrap(), AuthFlow::Password);
    assert_eq!(flow(Some("password")).unwrap(), AuthFlow::Password);
    assert_eq!(flow(Some("srp")).unwrap(), AuthFlow::Srp);
    assert_eq!(flow(Some(" SRP ")).unwrap(), AuthFlow::Srp);
    // Cognito's own names for the flows work too.
    assert_eq!(flow(Some("USER_SRP_AUTH")).unwrap(), AuthFlow::Srp);
    assert_eq!(
        flow(Some("USER_PASSWORD_AUTH")).unwrap(),
        AuthFlow::Password
    );
    match flow(Some("custom")) {
        Err(ConfigError::Env { variable, message }) => {
            assert_eq!(variable, "COGNITO_AUTH_FLOW");
            assert!(message.contains("\"custom\""), "{message}");
        }
        other => panic!("expected an Env error, got {other:?}"),
    }
    assert_eq!(AuthFlow::Password.client_flag(), "ALLOW_USER_PASSWORD_AUTH");
    assert_eq!(AuthFlow::Srp.client_flag(), "ALLOW_USER_SRP_AUTH");
}

#[test]
fn jwks_url_follows_the_endpoint_override_but_the_issuer_does_not() {
    let pool = ("USER_POOL_ID", "us-east-1_p");
    let client = ("CLIENT_ID", "c");
    let via = |endpoint: (&str, &str)| env(&[pool, client, endpoint]).unwrap().cognito.unwrap();
    let moto = via(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/"));
    assert_eq!(
        moto.jwks_url(),
        "http://127.0.0.1:5000/us-east-1_p/.well-known/jwks.json"
    );
    assert_eq!(
        moto.issuer(),
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_p"
    );
    let specific = via((
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
        "http://127.0.0.1:1",
    ));
    assert_eq!(
        specific.jwks_url(),
        "http://127.0.0.1:1/us-east-1_p/.well-known/jwks.json"
    );
    let explicit = via(("COGNITO_JWKS_URL", "https://keys.example/jwks.json"));
    assert_eq!(explicit.jwks_url(), "https://keys.example/jwks.json");
}

#[test]
fn extra_regions_are_a_comma_separated_list() {
    let pool = ("USER_POOL_ID", "us-east-1_p");
    let client = ("CLIENT_ID", "c");
    let none = env(&[pool, client]).unwrap().cognito.unwrap();
    assert!(none.extra_regions.is_empty());
    let regions = ("COGNITO_EXTRA_REGIONS", " eu-west-1, ,us-west-2 ");
    let some = env(&[pool, client, regions]).unwrap().cognito.unwrap();
    assert_eq!(some.extra_regions, ["eu-west-1", "us-west-2"]);
    assert_eq!(some.issuers().len(), 6);
    let home = ("COGNITO_EXTRA_REGIONS", "us-east-1,eu-west-1");
    let with_home = env(&[pool, client, home]).unwrap().cognito.unwrap();
    assert_eq!(with_home.issuers().len(), 4, "the pool's own region once");
}

#[test]
fn managed_login_comes_from_cognito_domain() {
    let pool = ("USER_POOL_ID", "us-east-1_p");
    let client = ("CLIENT_ID", "c");
    assert!(
        env(&[pool, client])
            .unwrap()
            .cognito
            .unwrap()
            .managed_login
            .is_none()
    );

    let domain = (
        "COGNITO_DOMAIN",
        "https://app.auth.us-east-1.amazoncognito.com/",
    );
    let cognito = env(&[pool, client, domain]).unwrap().cognito.unwrap();
    let login = cognito.managed_login.unwrap();
    assert_eq!(
        login.domain(),
        "https://app.auth.us-east-1.amazoncognito.com"
    );
    assert_eq!(login.redirect_uri(), "http://127.0.0.1:3000/auth/callback");
    assert_eq!(login.scopes(), ["openid", "email"]);

    let scopes = ("OAUTH_SCOPES", "openid  profile");
    let redirect = ("OAUTH_REDIRECT_URI", "https://a.example/cb");
    let logout = ("OAUTH_LOGOUT_URI", "https://a.example/bye");
    let cognito = env(&[pool, client, domain, scopes, redirect, logout]).unwrap();
    let login = cognito.cognito.unwrap().managed_login.unwrap();
    assert_eq!(login.scopes(), ["openid", "profile"]);
    assert_eq!(login.redirect_uri(), "https://a.example/cb");
    assert_eq!(login.logout_uri(), "https://a.example/bye");

    let plain = ("COGNITO_DOMAIN", "http://auth.example");
    let err = env(&[pool, client, plain]).unwrap_err().to_string();
    assert!(err.starts_with("COGNITO_DOMAIN:"), "{err}");
}

#[test]
fn errors_name_the_variable() {
    assert_eq!(
        variable(env(&[("USER_POOL_ID", "us-east-1_x")])),
        "CLIENT_ID"
    );
    assert_eq!(variable(env(&[("CLIENT_ID", "c")])), "USER_POOL_ID");
    assert_eq!(
        variable(env(&[("USER_POOL_ID", "nounderscore"), ("CLIENT_ID", "c")])),
        "USER_POOL_ID"
    );
    assert_eq!(
        variable(env(&[("COOKIE_SECURE", "maybe")])),
        "COOKIE_SECURE"
    );
    assert_eq!(
        variable(env(&[
            ("USER_POOL_ID", "us-east-1_x"),
            ("CLIENT_ID", "c"),
            ("REFRESH_BEFORE_SECS", "-1")
        ])),
        "REFRESH_BEFORE_SECS"
    );
    assert_eq!(
        variable(env(&[("SESSION_IDLE_TIMEOUT_SECS", "1h")])),
        "SESSION_IDLE_TIMEOUT_SECS"
    );
    assert_eq!(
        variable(env(&[("SESSION_COOKIE", "a;b")])),
        "SESSION_COOKIE"
    );
    assert_eq!(
        variable(env(&[
            ("SESSION_COOKIE", "__Host-t"),
            ("COOKIE_SECURE", "false")
        ])),
        "SESSION_COOKIE"
    );
}

/// A manager built from `vars` as `from_env` would, with an SDK client that is never called.
fn manager_from(vars: &[(&str, &str)]) -> SessionManager {
    let settings = env(vars).unwrap();
    let sdk = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
        .build();
    SessionManager::with_cognito(
        MemoryStore::new(),
        settings.config,
        settings.cognito.unwrap(),
        aws_sdk_cognitoidentityprovider::Client::from_conf(sdk),
    )
    .unwrap()
}

#[tokio::test]
async fn without_a_challenge_key_log_in_states_open_where_the_encryption_key_is_shared() {
    const OTHER_KEY: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    let instance = |encryption_key: Option<&'static str>| {
        let mut vars = vec![
            ("USER_POOL_ID", "us-east-1_p"),
            ("CLIENT_ID", "c"),
            ("CLIENT_SECRET", "shared-client-secret"),
            // Closed: a state that opens goes on to the token endpoint and finds it
            // unreachable, one that doesn't stops before.
            ("COGNITO_DOMAIN", "http://127.0.0.1:9"),
        ];
        if let Some(key) = encryption_key {
            vars.extend([
                ("SESSION_TABLE", "sessions"),
                ("SESSION_ENCRYPTION_KEY", key),
            ]);
        }
        manager_from(&vars)
    };
    let one = instance(Some(KEY_ONES));
    let login = one
        .start_login(&crate::cognito::LoginOptions::new())
        .unwrap();
    let state = reqwest::Url::parse(&login.url)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "state")
        .unwrap()
        .1
        .into_owned();
    let mut browser = http::HeaderMap::new();
    let cookie = login
        .set_cookie
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    browser.insert(http::header::COOKIE, cookie.parse().unwrap());
    let callback = format!("code=c0de&state={state}");

    // Another instance of the service: same table, same key ring.
    let same = instance(Some(KEY_ONES))
        .finish_login(&callback, &browser)
        .await;
    assert!(
        matches!(same, Err(SessionError::Unavailable(_))),
        "{same:?}"
    );
    // Another key; or something else that holds the client secret only.
    for other in [instance(Some(OTHER_KEY)), instance(None)] {
        let refused = other.finish_login(&callback, &browser).await;
        assert!(
            matches!(refused, Err(SessionError::InvalidLoginState)),
            "{refused:?}"
        );
    }
}
