//! The request path: verify, find the session, check that it holds this token.

use super::Cognito;
use super::verify::{AccessClaims, MAX_TOKEN_LEN, Verified};
use crate::check::{Authenticated, Check, Step};
use crate::session::TokenMatch;
use crate::store::LoadNow;
use crate::{AuthError, SessionRecord};

impl Cognito {
    /// Checks a JWT-shaped token and says whose it is; refreshes it when due.
    pub(crate) async fn authenticate(
        &self,
        check: &Check,
        token: &str,
    ) -> Result<Authenticated, AuthError> {
        let now = check.now();
        check_length(token)?;
        // Nothing in the token is used before this line.
        let verified = self.verifier.verify(token, now).await?;
        let key = self.session_key(check, &verified.claims, now)?;
        let record = check.store().load(key, now).await?;
        let step = self.step(check, record.as_ref(), &verified, now, Read::Store)?;
        let record = std::sync::Arc::new(record.ok_or_else(AuthError::not_found)?);
        match step {
            Step::Touch => Ok(check.touched(&record, now).await),
            // Boxed: the refresh (an SDK call) makes a future of kilobytes, which every
            // request would otherwise carry, and which the layer boxes per request.
            Step::Renew => {
                let Verified { hash, claims } = verified;
                let record = std::sync::Arc::unwrap_or_clone(record);
                Box::pin(self.refresh(check, record, &claims, hash)).await
            }
            step => Ok(check.answer(step, &record, now)),
        }
    }

    /// What [`authenticate`](Self::authenticate) would answer, if it can be told without
    /// waiting: the token is in the verified-token cache, the store answers from memory, and
    /// no touch or refresh is due.
    pub(crate) fn authenticate_now(
        &self,
        check: &Check,
        token: &str,
    ) -> Option<Result<Authenticated, AuthError>> {
        let now = check.now();
        if let Err(e) = check_length(token) {
            return Some(Err(e));
        }
        let (verified, kept) = self.verifier.cached_with_view(token, now)?;
        let key = match self.session_key(check, &verified.claims, now) {
            Ok(key) => key,
            Err(e) => return Some(Err(e)),
        };
        let LoadNow::Found(record) = check.store().load_now(key, now) else {
            return None;
        };
        let step = self.step(check, Some(&record), &verified, now, Read::Memory);
        // The usual answer: the user, whose copy of the record without its tokens the
        // verified-token cache keeps, rather than one copy per request.
        let (record, stored) = match step {
            Ok(Step::Good) => (self.verifier.user_view(token, &record, kept), Some(record)),
            _ => (record, None),
        };
        let mut granted = check.granted_from_memory(step, record, now)?;
        // The view has no tokens: the record as stored is what the access token comes from.
        if stored.is_some() {
            granted.cognito = stored;
        }
        Some(Ok(granted))
    }

    /// The store key of the session a verified token names.
    fn session_key<'c>(
        &self,
        check: &Check,
        claims: &'c AccessClaims,
        now: u64,
    ) -> Result<&'c str, AuthError> {
        let config = check.config();
        let refreshable = self.settings.refresh_after_expiry.min(config.lifetime);
        if claims.exp.saturating_add(refreshable.as_secs()) <= now {
            // Expired longer ago than a token may still be refreshed (or any session lives):
            // no need to ask the store.
            return Err(AuthError::not_found());
        }
        self.key_of(claims).ok_or(AuthError::malformed())
    }

    /// What the session read for a verified token says.
    fn step(
        &self,
        check: &Check,
        record: Option<&SessionRecord>,
        verified: &Verified,
        now: u64,
        read: Read,
    ) -> Result<Step, AuthError> {
        let record = record
            .filter(|record| belongs(check, record, &verified.claims, now, read))
            .ok_or_else(AuthError::not_found)?;
        let refresh_from = verified
            .claims
            .exp
            .saturating_sub(self.settings.refresh_before.as_secs());
        Ok(match record.accepts(&verified.hash, now) {
            TokenMatch::None => return Err(AuthError::not_found()),
            TokenMatch::Previous => Step::Adopt,
            TokenMatch::Current if now < refresh_from => check.touch_step(record, now),
            TokenMatch::Current => Step::Renew,
        })
    }

    /// The live Cognito session stored under `key`, if it belongs to the user of `claims`.
    pub(super) async fn load(
        &self,
        check: &Check,
        key: &str,
        claims: &AccessClaims,
        now: u64,
    ) -> Result<Option<SessionRecord>, AuthError> {
        let record = check.store().load(key, now).await?;
        Ok(record.filter(|record| belongs(check, record, claims, now, Read::Store)))
    }
}

/// Where the record a check looks at comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// The store's memory (`load_now`).
    Memory,
    /// The store itself (`load`).
    Store,
}

fn check_length(token: &str) -> Result<(), AuthError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(AuthError::malformed());
    }
    Ok(())
}

/// Whether `record` is a live Cognito session of the user of `claims`.
fn belongs(
    check: &Check,
    record: &SessionRecord,
    claims: &AccessClaims,
    now: u64,
    read: Read,
) -> bool {
    let belongs = record.cognito.is_some()
        && record.sub.as_deref() == Some(claims.sub.as_str())
        && record.username == claims.username;
    // A refusal from memory is confirmed by a read of the store, which warns then.
    if !belongs && read == Read::Store {
        tracing::warn!(session = %record.key, "session does not belong to the token's user; refused");
    }
    belongs && check.is_live(record, now)
}
