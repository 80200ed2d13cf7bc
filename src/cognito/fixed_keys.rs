//! The real verifier with the pool's keys fixed in memory, never fetched: what the `__fuzz`
//! entry points (`crate::fuzz`) run. Not part of the API.

use jsonwebtoken::DecodingKey;

use super::{Cognito, Jwks, TokenCache};
use crate::ConfigError;
use crate::cognito::CognitoSettings;

pub(crate) use super::verify::Verifier;

/// A verifier of `settings`' pool that knows `keys` and caches nothing.
pub(crate) fn verifier(
    settings: &CognitoSettings,
    keys: impl IntoIterator<Item = (String, DecodingKey)>,
) -> Verifier {
    Verifier::new(
        settings,
        settings.leeway,
        Jwks::fixed(keys),
        TokenCache::new(0, 0),
    )
}

/// The Cognito side of a manager (default options, no token cache) whose verifier knows
/// `keys`.
pub(crate) fn cognito(
    settings: CognitoSettings,
    client: aws_sdk_cognitoidentityprovider::Client,
    keys: impl IntoIterator<Item = (String, DecodingKey)>,
) -> Result<Cognito, ConfigError> {
    let mut cognito = Cognito::new(settings.with_token_cache_capacity(0), client)?;
    cognito.verifier = verifier(&cognito.settings, keys);
    Ok(cognito)
}
