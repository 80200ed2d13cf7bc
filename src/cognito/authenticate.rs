//! The request path: verify, find the session, check that it holds this token.

use super::Cognito;
use super::verify::{AccessClaims, MAX_TOKEN_LEN, Verified};
use crate::manager::{AuthError, Authenticated, Step};
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
        let now = manager.config().now();
        check_length(token)?;
        // Nothing in the token is used before this line.
        let verified = self.verifier.verify(token, now).await?;
        let key = self.session_key(manager, &verified.claims, now)?;
        let record = manager.inner.store.load(key, now).await?;
        let step = self.step(manager, record.as_ref(), &verified, now, Read::Store)?;
        let record = std::sync::Arc::new(record.ok_or_else(not_found)?);
        match step {
            Step::Touch => Ok(manager.touched(&record, now).await),
            // Boxed: the refresh (an SDK call) makes a future of kilobytes, which every
            // request would otherwise carry, and which the layer boxes per request.
            Step::Renew => {
                let Verified { hash, claims } = verified;
                let record = std::sync::Arc::unwrap_or_clone(record);
                Box::pin(self.refresh(manager, record, &claims, hash)).await
            }
            step => Ok(manager.answer(step, &record, now)),
        }
    }

    /// What [`authenticate`](Self::authenticate) would answer, if it can be told without
    /// waiting: the token is in the verified-token cache, the store answers from memory, and
    /// no touch or refresh is due.
    pub(crate) fn authenticate_now(
        &self,
        manager: &SessionManager,
        token: &str,
    ) -> Option<Result<Authenticated, AuthError>> {
        let now = manager.config().now();
        if let Err(e) = check_length(token) {
            return Some(Err(e));
        }
        let verified = self.verifier.cached(token, now)?;
        let key = match self.session_key(manager, &verified.claims, now) {
            Ok(key) => key,
            Err(e) => return Some(Err(e)),
        };
        let record = manager.inner.store.load_now(key, now)?;
        let step = self.step(manager, record.as_deref(), &verified, now, Read::Memory);
        manager.granted_from_memory(step, record, now).map(Ok)
    }

    /// The store key of the session a verified token names.
    fn session_key<'c>(
        &self,
        manager: &SessionManager,
        claims: &'c AccessClaims,
        now: u64,
    ) -> Result<&'c str, AuthError> {
        if claims
            .exp
            .saturating_add(manager.config().lifetime.as_secs())
            <= now
        {
            // Expired longer ago than any session lives: no need to ask the store.
            return Err(not_found());
        }
        self.key_of(claims)
            .ok_or(AuthError::Invalid(InvalidReason::Malformed))
    }

    /// What the session read for a verified token says.
    fn step(
        &self,
        manager: &SessionManager,
        record: Option<&SessionRecord>,
        verified: &Verified,
        now: u64,
        read: Read,
    ) -> Result<Step, AuthError> {
        let record = record
            .filter(|record| belongs(manager, record, &verified.claims, now, read))
            .ok_or_else(not_found)?;
        let refresh_from = verified
            .claims
            .exp
            .saturating_sub(manager.config().refresh_before.as_secs());
        Ok(match record.accepts(&verified.hash, now) {
            TokenMatch::None => return Err(not_found()),
            TokenMatch::Previous => Step::Adopt,
            TokenMatch::Current if now < refresh_from => manager.touch_step(record, now),
            TokenMatch::Current => Step::Renew,
        })
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
        Ok(record.filter(|record| belongs(manager, record, claims, now, Read::Store)))
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
        return Err(AuthError::Invalid(InvalidReason::Malformed));
    }
    Ok(())
}

/// Whether `record` is a live Cognito session of the user of `claims`.
fn belongs(
    manager: &SessionManager,
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
    belongs && manager.is_live(record, now)
}
