//! The request path: verify, find the session, check that it holds this token.

use super::Cognito;
use super::verify::{AccessClaims, MAX_TOKEN_LEN, Verified};
use crate::manager::{AuthError, Authenticated, user_of};
use crate::session::TokenMatch;
use crate::{InvalidReason, SessionManager, SessionRecord};

pub(super) const fn not_found() -> AuthError {
    AuthError::Invalid(InvalidReason::NotFound)
}

impl Cognito {
    /// Checks a JWT-shaped token and says whose it is; refreshes it when due.
    pub(crate) async fn authenticate(
        &self,
        manager: &SessionManager,
        token: &str,
    ) -> Result<Authenticated, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Invalid(InvalidReason::Malformed));
        }
        let config = manager.config();
        let now = config.now();
        // Nothing in the token is used before this line.
        let Verified { hash, claims } = self.verifier.verify(token, now).await?;
        if claims.exp.saturating_add(config.lifetime.as_secs()) <= now {
            // Expired longer ago than any session lives: no need to ask the store.
            return Err(not_found());
        }
        let key = self
            .key_of(&claims)
            .ok_or(AuthError::Invalid(InvalidReason::Malformed))?;
        let record = self
            .load(manager, key, &claims, now)
            .await?
            .ok_or_else(not_found)?;
        match record.accepts(&hash, now) {
            TokenMatch::None => Err(not_found()),
            TokenMatch::Previous => Ok(adopt(manager, &record, now)),
            TokenMatch::Current
                if claims.exp > now.saturating_add(config.refresh_before.as_secs()) =>
            {
                manager.touch(&record, now).await;
                Ok(Authenticated {
                    user: record.into_user(),
                    new_token: None,
                })
            }
            // Boxed: the refresh (an SDK call) makes a future of kilobytes, which every
            // request would otherwise carry, and which the layer boxes per request.
            TokenMatch::Current => Box::pin(self.refresh(manager, record, &claims, hash)).await,
        }
    }

    /// The live Cognito session stored under `key`, if it belongs to the user of `claims`.
    pub(super) async fn load(
        &self,
        manager: &SessionManager,
        key: &str,
        claims: &AccessClaims,
        now: u64,
    ) -> Result<Option<SessionRecord>, AuthError> {
        let record = manager.inner.store.load(key, now).await?;
        Ok(record.filter(|record| {
            let belongs = record.cognito.is_some()
                && record.sub.as_deref() == Some(claims.sub.as_str())
                && record.username == claims.username;
            if !belongs {
                tracing::warn!(session = %record.key, "session does not belong to the token's user; refused");
            }
            belongs && manager.is_live(record, now)
        }))
    }
}

/// The answer to a request that came with the token its session just replaced: it goes
/// through, as the user, and gets the current token.
pub(super) fn adopt(manager: &SessionManager, record: &SessionRecord, now: u64) -> Authenticated {
    let user = user_of(record, record.key.clone());
    let new_token = record.cognito.as_ref().map(|tokens| {
        let cookie = manager.set_cookie(tokens.access_token.expose(), record.expires_at, now);
        (tokens.access_token.clone(), cookie)
    });
    Authenticated { user, new_token }
}
