//! The real verifier with the pool's keys fixed in memory, never fetched: what the `__fuzz`
//! entry points (`crate::fuzz`) run. Not part of the API.

use jsonwebtoken::DecodingKey;

use super::{Cognito, CognitoOptions, Jwks, TokenCache};
use crate::{CognitoSettings, ConfigError};

pub(crate) use super::verify::Verifier;

/// A verifier of `settings`' pool that knows `keys` and caches nothing.
pub(crate) fn verifier(
    settings: &CognitoSettings,
    keys: impl IntoIterator<Item = (String, DecodingKey)>,
) -> Verifier {
    let leeway = CognitoOptions::default().leeway;
    Verifier::new(settings, leeway, Jwks::fixed(keys), TokenCache::new(0, 0))
}

/// The Cognito side of a manager (default options, no token cache) whose verifier knows
/// `keys`.
pub(crate) fn cognito(
    settings: Option<&CognitoSettings>,
    client: aws_sdk_cognitoidentityprovider::Client,
    keys: impl IntoIterator<Item = (String, DecodingKey)>,
) -> Result<Cognito, ConfigError> {
    let options = CognitoOptions::default().with_token_cache_capacity(0);
    let mut cognito = Cognito::new(settings, client, options)?;
    cognito.verifier = verifier(&cognito.settings, keys);
    Ok(cognito)
}
