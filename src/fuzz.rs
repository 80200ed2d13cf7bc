//! Entry points for the fuzz targets in `fuzz/` (feature `__fuzz`). Internal: not part of
//! the API and exempt from semver.
//!
//! Thin wrappers only: each runs the code that handles real requests, with the pool's keys
//! held in memory and the clock fixed at [`NOW`], so that nothing reads the network or the
//! time and a run can be replayed. The keys and tokens below come from `fuzz/mint.sh`, whose
//! private key was thrown away: they are good for nothing but these tests.

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Region};
use http::{HeaderMap, Request, Response, StatusCode};
use jsonwebtoken::DecodingKey;
use tower_layer::Layer as _;
use tower_service::Service;

use crate::check::Check;
use crate::cognito::CognitoSettings;
use crate::cognito::fixed_keys::{self, Verifier};
use crate::token::{Found, TokenSource};
use crate::{
    AuthError, CognitoTokens, CurrentUser, MemoryStore, Secret, SessionConfig, SessionLayer,
    SessionManager, SessionRecord, SessionStore, TokenHash,
};

/// The fixed clock, epoch seconds.
pub const NOW: u64 = 1_700_000_000;
/// The user pool the tokens below were issued by.
pub const POOL_ID: &str = "us-east-1_fuzz";
/// The app client the good token was issued to.
pub const CLIENT_ID: &str = "fuzzclient";
/// The session cookie's name in [`layer_status`] (the default).
pub const COOKIE_NAME: &str = "token";
/// An opaque token that names a live session in [`layer_status`]'s store.
pub const OPAQUE_TOKEN: &str = "fuzzing_only_opaque_session_token_012345678";
/// The public key the verifier knows, as `kid` `fuzzkey` (modulus and exponent, base64url).
const KEY_N: &str = "xjp00DCjiCLOUO3ZuR4sLO_A313_7pTdWNBWcxU4CXyaB9x1OWQVlVdBxO0Hli06PC1l2WdlCr2aaMM6Ld7PZ3OQAkUa_lZlHDX-Oo3EopflWjJYadXuJXU1C2UlA9y1y8z8-av6CJvg_bdSF7PPOdT4dC1HjWRrWSkZi1unF7QbqjpRLSWxUbLPun-0x1CA9XFFmkYZNKzw2LH3gRTXK9N_VMaUPnrOvMZRA9KP5BNG0GfGXZxnd0pSx94EZ-mu8O0TBmGczVsdRCV33Glc2CSQ101n3sDKMtNQL4VFAD5g9CePCjuouZMwbe6G5LwIHJXGNiytImeylJaj-A_PdQ";
const KEY_E: &str = "AQAB";
/// An access token of the pool, for the app client, signed with that key: it verifies, and
/// names the Cognito session in [`layer_status`]'s store. Valid from `NOW - 10` to `NOW + 3600`.
pub const VALID_JWT: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImZ1enprZXkiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJmdXp6LXN1YiIsImlzcyI6Imh0dHBzOi8vY29nbml0by1pZHAudXMtZWFzdC0xLmFtYXpvbmF3cy5jb20vdXMtZWFzdC0xX2Z1enoiLCJjbGllbnRfaWQiOiJmdXp6Y2xpZW50Iiwib3JpZ2luX2p0aSI6ImZ1enotb2p0aSIsInRva2VuX3VzZSI6ImFjY2VzcyIsInNjb3BlIjoiYXdzLmNvZ25pdG8uc2lnbmluLnVzZXIuYWRtaW4iLCJ1c2VybmFtZSI6ImZ1enplciIsImlhdCI6MTY5OTk5OTk5MCwiZXhwIjoxNzAwMDAzNjAwLCJqdGkiOiJmdXp6LWp0aSJ9.GFmWOuh8SqDbvJudH7qbgbVMck37d49K3GnVpLWwuC6Ul06d_u8EJCbhmRiI6ZawX-4RRGmA1Wnq75tt7f2ejS07-XdJT2Q_cFiohJoIPhtoePAy07MIvPkYMfa_imMh_vgv4zUaUVWAGXqhpeET9LTXACvOU4ewM9aY2IyTfENpp4F9l5gJxAE_tyOWvM-m-QURAzI4TZNt9lK96_F5vEoE3oTJYw1SQWGra_0XRAFUo0K1qUqx55qGIAHTWtj31n2PB3XSYGGJ_0gLL9Ks8UBTSESrjYGsK0qky-t52xtbJGuzQfPy05TJ6pY5OnsMlDzUvfar6wHDiUIsJomd5g";
/// Like [`VALID_JWT`] but `token_use` `id`: correctly signed, refused.
pub const ID_TOKEN_JWT: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImZ1enprZXkiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJmdXp6LXN1YiIsImlzcyI6Imh0dHBzOi8vY29nbml0by1pZHAudXMtZWFzdC0xLmFtYXpvbmF3cy5jb20vdXMtZWFzdC0xX2Z1enoiLCJjbGllbnRfaWQiOiJmdXp6Y2xpZW50Iiwib3JpZ2luX2p0aSI6ImZ1enotb2p0aSIsInRva2VuX3VzZSI6ImlkIiwic2NvcGUiOiJhd3MuY29nbml0by5zaWduaW4udXNlci5hZG1pbiIsInVzZXJuYW1lIjoiZnV6emVyIiwiaWF0IjoxNjk5OTk5OTkwLCJleHAiOjE3MDAwMDM2MDAsImp0aSI6ImZ1enotanRpIn0.BSzyv-CqOqRV_iqApOENEtKAMyHlsX5lPdMoOKqmj1_wqov07Sm6Ifs3glML0utQyvrMgDYLAeG-IdG1c50dSbJV06QwZE3l8jnQ6DWGeVW_mBVpdtjhvCC527B6Aq_OzE7Y46iFlbm0bziDEI4seNb-FZaz2qDy72Xs_29CeGD_0DDrepEDE0ATd799_eTzsi1e2LuQCbN2Sl5mOnL43rInnM1_ARNtmzCywWhiUZGVH_2hoC58vU1XErCFaSXBKhG9Wc3w874UyvnajUAzPdbdf_CoZrxVuzPUuRqVauFndzu81cKKdBeQhnd0MEWI0uOYRsQz25StM6vdI_Oi8w";
/// Like [`VALID_JWT`] but for app client `stranger`: correctly signed, refused.
pub const OTHER_CLIENT_JWT: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImZ1enprZXkiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJmdXp6LXN1YiIsImlzcyI6Imh0dHBzOi8vY29nbml0by1pZHAudXMtZWFzdC0xLmFtYXpvbmF3cy5jb20vdXMtZWFzdC0xX2Z1enoiLCJjbGllbnRfaWQiOiJzdHJhbmdlciIsIm9yaWdpbl9qdGkiOiJmdXp6LW9qdGkiLCJ0b2tlbl91c2UiOiJhY2Nlc3MiLCJzY29wZSI6ImF3cy5jb2duaXRvLnNpZ25pbi51c2VyLmFkbWluIiwidXNlcm5hbWUiOiJmdXp6ZXIiLCJpYXQiOjE2OTk5OTk5OTAsImV4cCI6MTcwMDAwMzYwMCwianRpIjoiZnV6ei1qdGkifQ.UV_o3DvcpbfSH_cn7KztYXVshtA1zUpTPzuNwnRKg0pdD6oEZTDkWVwaSnFsi1Y2smN_RG1uLsQDY23c9UuiSrU3t8eQ6WOqh_DE9oP1-6FvJ9qdcieHqn1wDG5hVG8NnNi2YYXFWLEeDWFCoq_4o3d8_d2DfVRuboIFgS2KEeGVUNEhwyf0sTAalo8VW8tOjpxafWRbkzoqq8sqeRmxooNx9jHIIibehiqqSEv8Dz_JrQC-peeTc6v96KHJkxAgi8gqXVgiPgRfOWODwaJeZ9TblkUNuGhw0AjLpfEUbDj59KtGrwyRxjV_6u1a1qa6bpYrP3ICvclwjtEFkMAVCg";
/// Like [`VALID_JWT`] but naming key `otherkey`, which the verifier doesn't know: refused.
pub const UNKNOWN_KID_JWT: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6Im90aGVya2V5IiwidHlwIjoiSldUIn0.eyJzdWIiOiJmdXp6LXN1YiIsImlzcyI6Imh0dHBzOi8vY29nbml0by1pZHAudXMtZWFzdC0xLmFtYXpvbmF3cy5jb20vdXMtZWFzdC0xX2Z1enoiLCJjbGllbnRfaWQiOiJmdXp6Y2xpZW50Iiwib3JpZ2luX2p0aSI6ImZ1enotb2p0aSIsInRva2VuX3VzZSI6ImFjY2VzcyIsInNjb3BlIjoiYXdzLmNvZ25pdG8uc2lnbmluLnVzZXIuYWRtaW4iLCJ1c2VybmFtZSI6ImZ1enplciIsImlhdCI6MTY5OTk5OTk5MCwiZXhwIjoxNzAwMDAzNjAwLCJqdGkiOiJmdXp6LWp0aSJ9.lLPx_BKLeiRdV3w1K293lGmgzIDA2nZ_FDfM4QrTJWsuycmQqzOggq3NJDquog2wwwKhZ_quRyjYgV5qoMvySxAp0vrwSesIM5wPOEdlWtXU8-2Qneu0gk38bke6xFZ1vRBIzN7BQno9TONbhCqTYfjT-q8Fh7-7rauUzNGKDKIkFmhpO6vboBO-TzPNsvf-CqXO8306oE91a1RJga5rH65G4617mZHXxe_jYQMWR96p_kzrRnJYZHlGYOtOlAuXuBPaceQnx4B0KIRRhHgEKJJkOgOBXiA_bQuyzUKtRiZ3ojfR47Yitzxih3G21AmOX9fNmyuEsq0VOE4kwZmkGw";

/// `token::find` reading `Authorization: Bearer`, then the cookie
/// `cookie_name`: the token, or `None` when there is none (or `Authorization`, or the cookie, is repeated).
pub fn find_token(headers: &HeaderMap, cookie_name: &str) -> Option<String> {
    let sources = [TokenSource::Bearer, TokenSource::Cookie];
    match crate::token::find(headers, &sources, cookie_name) {
        Found::Token(token, _) => Some(token.to_owned()),
        Found::Nothing | Found::Ambiguous => None,
    }
}

/// Whether `name` may name the session cookie: the layer is only ever built with such a name
/// (`SessionManager::new` refuses others).
pub fn is_valid_cookie_name(name: &str) -> bool {
    crate::cookie::is_cookie_safe(name)
}

/// Whether `token` has the shape of an opaque session token (the check made before any store
/// look-up).
pub fn is_opaque_token(token: &str) -> bool {
    crate::opaque::is_opaque_token(token)
}

fn settings() -> CognitoSettings {
    CognitoSettings::new(POOL_ID, CLIENT_ID)
}

fn keys() -> [(String, DecodingKey); 1] {
    let key = DecodingKey::from_rsa_components(KEY_N, KEY_E).expect("the fuzz key parses");
    [("fuzzkey".to_owned(), key)]
}

/// Whether the Cognito verifier accepts `token` at [`NOW`] and it has not expired: RS256
/// signature by the pool's key named by `kid`, `iss`, `token_use`, `client_id`, `iat`/`nbf`,
/// then `exp` (the verifier itself lets expired tokens through, for the layer to refresh
/// them). No cache: every call verifies.
pub fn verify_jwt(token: &str) -> bool {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    let verifier = VERIFIER.get_or_init(|| fixed_keys::verifier(&settings(), keys()));
    let check = pin!(verifier.verify(token, NOW));
    // Keys in memory never wait for a fetch, so one poll finishes the check.
    match check.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(verified)) => verified.claims.exp > NOW,
        Poll::Ready(Err(AuthError::Invalid(_))) => false,
        Poll::Ready(Err(AuthError::Unavailable(error))) => {
            panic!("keys held in memory were unavailable: {error}")
        }
        Poll::Pending => panic!("verification with keys in memory waited"),
    }
}

/// The manager behind [`layer_status`]: Cognito (keys in memory, an SDK client whose every
/// call fails at once) and opaque tokens, on a [`MemoryStore`] holding one session of each
/// kind, at the fixed clock. Built once: nothing a request does changes the store at
/// [`NOW`] with these settings (no rotation, no idle timeout, no refresh due).
async fn layer_manager() -> &'static SessionManager {
    static MANAGER: tokio::sync::OnceCell<SessionManager> = tokio::sync::OnceCell::const_new();
    MANAGER
        .get_or_init(|| async {
            let config =
                SessionConfig::default().with_clock(|| UNIX_EPOCH + Duration::from_secs(NOW));
            let sdk = aws_sdk_cognitoidentityprovider::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                // Nothing listens there: a call made by mistake fails, it never leaves the host.
                .endpoint_url("http://127.0.0.1:9")
                .build();
            let client = aws_sdk_cognitoidentityprovider::Client::from_conf(sdk);
            let store = MemoryStore::new();
            for record in seeded_sessions() {
                store.create(&record, NOW).await.expect("seeding the store");
            }
            let cognito =
                fixed_keys::cognito(settings(), client, keys()).expect("the fuzz configuration");
            let check = Check::new(store, config).expect("the fuzz configuration");
            SessionManager::from_parts(check, Some(cognito))
        })
        .await
}

fn seeded_sessions() -> [SessionRecord; 2] {
    let opaque = TokenHash::of(OPAQUE_TOKEN);
    let record = |key: String, token_hash| {
        SessionRecord::new(key, "fuzzer", token_hash, NOW - 10, NOW + 24 * 3600)
    };
    let cognito = SessionRecord {
        sub: Some("fuzz-sub".into()),
        cognito: Some(CognitoTokens {
            access_token: Secret::new(VALID_JWT),
            refresh_token: Secret::new("fuzz-refresh-token"),
            access_expires_at: NOW + 3600,
        }),
        ..record("fuzz-ojti".into(), TokenHash::of(VALID_JWT))
    };
    [record(opaque.to_hex(), opaque), cognito]
}

/// The inner service: 200 when the layer put a user in the request, 500 when it let a
/// request through without one (it must not: the layer requires a session).
#[derive(Clone, Copy, Debug)]
struct Handler;

impl Service<Request<()>> for Handler {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let mut response = Response::new(String::new());
        if request.extensions().get::<CurrentUser>().is_none() {
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        }
        ready(Ok(response))
    }
}

/// The status a [`SessionLayer`] (required session, JSON rejections) answers `request`
/// with, see `layer_manager`. Bad input must give 200, 400 or 401: never 500 (nor 503,
/// there being no backend to fail), never a panic.
pub async fn layer_status(request: Request<()>) -> u16 {
    let manager = layer_manager().await.clone();
    let mut service = SessionLayer::new(manager).layer(Handler);
    match service.call(request).await {
        Ok(response) => response.status().as_u16(),
        Err(never) => match never {},
    }
}

/// Session items as the DynamoDB store writes and reads them, for the `session_item` target.
#[cfg(feature = "dynamodb")]
pub mod item {
    use std::sync::OnceLock;

    pub use aws_sdk_dynamodb::primitives::Blob;
    pub use aws_sdk_dynamodb::types::AttributeValue;

    use crate::store::dynamodb::{DynamoDbStore, EncryptionKeys, TableSettings};
    use crate::{Claims, SessionRecord, StoreError};

    /// A session item: attribute name to value.
    pub type Item = std::collections::HashMap<String, AttributeValue>;

    /// The store: table `sessions`, keys 2 (signs) and 1, no unsigned rows. Its client is
    /// never called.
    fn store() -> &'static DynamoDbStore {
        static STORE: OnceLock<DynamoDbStore> = OnceLock::new();
        STORE.get_or_init(|| {
            let config = aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
                .build();
            let keys = EncryptionKeys::new([(2, [2; 32]), (1, [1; 32])]).expect("valid ids");
            DynamoDbStore::new(
                aws_sdk_dynamodb::Client::from_conf(config),
                TableSettings::new("sessions"),
            )
            .expect("the default partition key")
            .with_encryption_keys(Some(keys))
        })
    }

    /// A Cognito session with every optional field set, keyed `key`.
    pub fn record(key: &str) -> SessionRecord {
        let mut record = super::seeded_sessions()[1].clone();
        record.key = key.to_owned();
        record.previous = Some(Box::new(crate::PreviousToken {
            hash: crate::TokenHash::of("previous"),
            valid_until: super::NOW + 30,
        }));
        record.successor = Some("successor".into());
        record.claims = Claims::new()
            .with_groups(["staff"])
            .with_scopes(["orders/read"])
            .with_claim("custom:tenant", "acme".into());
        record
    }

    /// `record` as the store writes it: tokens sealed, the row signed.
    pub fn signed(record: &SessionRecord) -> Item {
        store().encode(record).expect("the store has keys")
    }

    /// Every attribute name a session item may hold, the partition key first.
    pub fn attribute_names() -> Vec<String> {
        let mut names = vec![store().table().partition_key.clone()];
        let item = signed(&record("any"));
        let mut rest: Vec<String> = item.into_keys().filter(|k| *k != names[0]).collect();
        rest.sort();
        names.extend(rest);
        names
    }

    /// What the store reads from `item`: the record, `None` when the row's MAC refuses it,
    /// an error when it is malformed.
    pub fn read(item: &Item) -> Result<Option<SessionRecord>, StoreError> {
        store().session(item)
    }
}

#[cfg(test)]
mod tests {
    use http::header::{AUTHORIZATION, COOKIE};

    use super::*;

    fn request(name: http::HeaderName, value: &str) -> Request<()> {
        Request::builder().header(name, value).body(()).unwrap()
    }

    #[cfg(feature = "dynamodb")]
    #[test]
    fn the_signed_item_reads_back_and_an_edit_is_refused() {
        let record = item::record("k");
        let mut signed = item::signed(&record);
        assert_eq!(item::read(&signed).unwrap(), Some(record));
        assert!(item::attribute_names().contains(&"mac".to_owned()));
        signed.insert("username".into(), item::AttributeValue::S("eve".into()));
        assert_eq!(item::read(&signed).unwrap(), None);
    }

    #[test]
    fn the_fixed_tokens_verify_as_they_should() {
        assert!(is_opaque_token(OPAQUE_TOKEN));
        assert!(verify_jwt(VALID_JWT));
        for refused in [ID_TOKEN_JWT, OTHER_CLIENT_JWT, UNKNOWN_KID_JWT, "a.b.c", ""] {
            assert!(!verify_jwt(refused), "{refused}");
        }
    }

    #[test]
    fn find_token_reads_bearer_then_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "token=c".parse().unwrap());
        assert_eq!(find_token(&headers, "token").as_deref(), Some("c"));
        headers.insert(AUTHORIZATION, "Bearer b".parse().unwrap());
        assert_eq!(find_token(&headers, "token").as_deref(), Some("b"));
        headers.append(AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(find_token(&headers, "token"), None);
    }

    #[tokio::test]
    async fn the_layer_knows_both_seeded_sessions() {
        let bearer = |t: &str| request(AUTHORIZATION, &format!("Bearer {t}"));
        let cookie = |t: &str| request(COOKIE, &format!("{COOKIE_NAME}={t}"));
        assert_eq!(layer_status(bearer(OPAQUE_TOKEN)).await, 200);
        assert_eq!(layer_status(cookie(OPAQUE_TOKEN)).await, 200);
        assert_eq!(layer_status(bearer(VALID_JWT)).await, 200);
        assert_eq!(layer_status(cookie(VALID_JWT)).await, 200);
        assert_eq!(layer_status(bearer(ID_TOKEN_JWT)).await, 401);
        assert_eq!(layer_status(bearer(&"A".repeat(43))).await, 401);
        assert_eq!(layer_status(Request::new(())).await, 401);
        let twice = Request::builder()
            .header(AUTHORIZATION, "Bearer a")
            .header(AUTHORIZATION, "Bearer b")
            .body(())
            .unwrap();
        assert_eq!(layer_status(twice).await, 400);
    }
}
