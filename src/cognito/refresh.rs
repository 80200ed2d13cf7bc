//! Refreshing a session's access token: once per session at a time, written back with a
//! conditional update, adopted by the losers of a race.

use std::sync::Arc;
use std::time::Instant;

use super::Cognito;
use super::idp::{CallError, IdpError};
use super::verify::AccessClaims;
use super::verify::Verified;
use crate::check::{Authenticated, Check};
use crate::session::TokenMatch;
use crate::store::{BoxError, StoreError};
use crate::{AuthError, CognitoTokens, PreviousToken, SessionRecord, TokenHash};

/// Why a refresh gave no new token.
enum Failure {
    /// The session is over (Cognito refused the refresh token, or the session vanished).
    Ended,
    /// No verdict: Cognito or the store is unavailable. The session is unchanged.
    Unavailable(BoxError),
}

impl Cognito {
    /// Refreshes the session of a request whose current token `hash` is due, or adopts the
    /// token another request got meanwhile.
    pub(super) async fn refresh(
        &self,
        check: &Check,
        record: SessionRecord,
        claims: &AccessClaims,
        hash: TokenHash,
    ) -> Result<Authenticated, AuthError> {
        let queued_at = Instant::now();
        let flight = self.flights.get(&record.key);
        let mut flight = flight.lock().await;
        let now = check.now();

        // The request before us in the queue refreshed since we queued: its record holds the
        // token that replaced ours, and a storm of requests costs one read each, not two.
        if let Some((at, refreshed)) = &flight.refreshed
            && *at >= queued_at
            && refreshed.accepts(&hash, now) == TokenMatch::Previous
            && check.is_live(refreshed, now)
        {
            return Ok(check.adopt(refreshed, now));
        }
        // Otherwise re-read under the lock: another process may have refreshed already.
        let record = self
            .load(check, &record.key, claims, now)
            .await?
            .ok_or_else(AuthError::not_found)?;
        match record.accepts(&hash, now) {
            TokenMatch::None => return Err(AuthError::not_found()),
            TokenMatch::Previous => return Ok(check.adopt(&Arc::new(record), now)),
            TokenMatch::Current => {}
        }
        if flight.failed_at.is_some_and(|failed| failed >= queued_at) {
            // The attempt we queued behind failed moments ago: don't ask Cognito again for
            // this request (a queue of 50 must not become 50 timeouts in a row).
            let error = IdpError::new("refresh", "failed for a concurrent request of the session");
            return fallback(&record, claims, now, Box::new(error));
        }
        if !self.flights.begin_attempt(&record.key) {
            // An attempt of moments ago was abandoned mid-call: Cognito may still be
            // answering it, and a client that hangs up must not make every request a call.
            let error = IdpError::new("refresh", "an attempt of moments ago was abandoned");
            return fallback(&record, claims, now, Box::new(error));
        }
        let outcome = self.refresh_now(check, &record, now).await;
        self.flights.end_attempt(&record.key);
        crate::observe::refresh(match &outcome {
            Ok(_) => crate::observe::Refresh::Ok,
            Err(Failure::Ended) => crate::observe::Refresh::Refused,
            Err(Failure::Unavailable(_)) => crate::observe::Refresh::Failed,
        });
        match outcome {
            Ok(current) => {
                flight.refreshed = Some((Instant::now(), current.clone()));
                Ok(check.adopt(&current, now))
            }
            Err(Failure::Ended) => Err(AuthError::not_found()),
            Err(Failure::Unavailable(error)) => {
                flight.failed_at = Some(Instant::now());
                fallback(&record, claims, now, error)
            }
        }
    }

    /// Refreshes the session's tokens; the record that holds its current token afterwards
    /// (ours, or the one of another process that refreshed first).
    async fn refresh_now(
        &self,
        check: &Check,
        record: &SessionRecord,
        now: u64,
    ) -> Result<Arc<SessionRecord>, Failure> {
        let Some(old) = &record.cognito else {
            return Err(Failure::Ended);
        };
        let store = check.store();
        let tokens = match self
            .refresh_tokens(&old.refresh_token, &record.username)
            .await
        {
            Ok(tokens) => tokens,
            // Revoked, signed out everywhere, expired, or the user was disabled, deleted or
            // made to reset their password: the log-in is over. (No refresh error is a
            // `Denied`: those are log-in answers.)
            Err(CallError::Refused | CallError::Denied(_)) => {
                return self
                    .end(check, record, now, "Cognito refused the refresh token")
                    .await;
            }
            Err(CallError::Unavailable(error)) => return Err(Failure::Unavailable(error)),
        };

        // What Cognito returned is checked like any token; this also gives us its `exp` and
        // proves it belongs to this session.
        let unusable = |what: &str| Failure::Unavailable(Box::new(IdpError::new("refresh", what)));
        let Verified {
            hash: new_hash,
            claims: new_claims,
        } = self
            .verifier
            .verify(tokens.access.expose(), now)
            .await
            .map_err(|e| match e {
                AuthError::Unavailable(e) => Failure::Unavailable(e),
                _ => unusable("returned an access token that does not verify"),
            })?;
        if self.key_of(&new_claims) != Some(record.key.as_str())
            || record.sub.as_deref() != Some(new_claims.sub.as_str())
        {
            // The row's refresh token is another log-in's: asking again would get the same
            // answer on every request, and the row is no session of its own.
            return self
                .end(check, record, now, "the refresh token is another session's")
                .await;
        }

        // Groups and claims as the user pool says now: a group change lands here.
        let claims = new_claims.claims.clone();
        let claims = match self
            .id_claims_of(tokens.id.as_ref(), &new_claims.sub, None, false, now)
            .await
        {
            Ok(Some(id_claims)) => claims.with_claims(id_claims),
            // No ID token this time: the chosen claims stay as the last one said.
            Ok(None) => {
                let kept: Vec<_> = (record.claims.other().iter())
                    .filter(|(name, _)| self.id_claims.wants(name) && claims.get(name).is_none())
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect();
                claims.with_claims(kept)
            }
            Err(AuthError::Unavailable(e)) => return Err(Failure::Unavailable(e)),
            Err(_) => return Err(unusable("returned an ID token that does not verify")),
        };

        let config = check.config();
        let updated = SessionRecord {
            token_hash: new_hash,
            previous: Some(Box::new(PreviousToken {
                hash: record.token_hash,
                valid_until: now.saturating_add(config.grace_period.as_secs()),
            })),
            cognito: Some(CognitoTokens {
                access_token: tokens.access.clone(),
                refresh_token: tokens.refresh.unwrap_or_else(|| old.refresh_token.clone()),
                access_expires_at: new_claims.exp,
            }),
            claims,
            refreshed_at: now,
            last_seen_at: now,
            // Unchanged unless an idle timeout slides it.
            expires_at: check.expiry(record.created_at, now),
            version: record.version + 1,
            ..record.clone()
        };
        match store.update(&updated, record.version).await {
            Ok(()) => {
                tracing::debug!(session = %record.key, "Cognito tokens refreshed");
                Ok(Arc::new(updated))
            }
            Err(StoreError::Conflict) => {
                // Another process refreshed (or ended) the session first: its token wins,
                // ours is dropped (it expires on its own).
                let current = store
                    .load(&record.key, now)
                    .await
                    .map_err(|e| Failure::Unavailable(Box::new(e)))?
                    .filter(|r| check.is_live(r, now))
                    .ok_or(Failure::Ended)?;
                match current.accepts(&record.token_hash, now) {
                    TokenMatch::Previous => {
                        tracing::debug!(session = %record.key, "lost a refresh race; adopting the winner's token");
                        Ok(Arc::new(current))
                    }
                    TokenMatch::None => Err(Failure::Ended),
                    TokenMatch::Current => Err(Failure::Unavailable(
                        "the session changed during the refresh".into(),
                    )),
                }
            }
            Err(error) => {
                // A timeout can hide a write that landed: then the session holds the new
                // token, and the client must get it.
                if let Ok(Some(current)) = store.load(&record.key, now).await
                    && current.token_hash == new_hash
                {
                    return Ok(Arc::new(current));
                }
                // Cognito did not rotate the refresh token, so the stored one still works and
                // the next request refreshes again.
                tracing::warn!(session = %record.key, %error, "refreshed tokens not stored");
                Err(Failure::Unavailable(Box::new(error)))
            }
        }
    }

    /// Ends a session whose refresh gave no tokens of its own (`why`), unless the row
    /// changed since it was read: another instance may have refreshed it (with refresh-token
    /// rotation, its refresh made ours stale), or a new log-in may own it now
    /// (`KeyClaim::Sub`); then it is not ours to delete.
    async fn end(
        &self,
        check: &Check,
        record: &SessionRecord,
        now: u64,
        why: &'static str,
    ) -> Result<Arc<SessionRecord>, Failure> {
        let store = check.store();
        let current = store
            .load(&record.key, now)
            .await
            .map_err(|e| Failure::Unavailable(Box::new(e)))?;
        if let Some(current) = current.filter(|c| c.version != record.version) {
            return match current.accepts(&record.token_hash, now) {
                TokenMatch::Previous => Ok(Arc::new(current)),
                _ => Err(Failure::Ended),
            };
        }
        tracing::info!(session = %record.key, why, "session ended");
        // Conditional: a refresh by another instance may land between the read above and
        // this delete, and its session is not ours to end.
        match store.delete_version(&record.key, record.version).await {
            Err(StoreError::Conflict) => {
                let current = store
                    .load(&record.key, now)
                    .await
                    .map_err(|e| Failure::Unavailable(Box::new(e)))?;
                if let Some(current) = current
                    && current.accepts(&record.token_hash, now) == TokenMatch::Previous
                {
                    return Ok(Arc::new(current));
                }
            }
            // The 401 stands: the next request gets the same answer.
            Err(error) => {
                tracing::warn!(session = %record.key, %error, "ended session not deleted");
            }
            Ok(()) => {}
        }
        Err(Failure::Ended)
    }
}

/// The answer when no new token could be had but the session is fine: a token that has not
/// expired yet still serves (the refresh was early, it is tried again on the next request);
/// an expired one can't, and the client is told to retry (503).
fn fallback(
    record: &SessionRecord,
    claims: &AccessClaims,
    now: u64,
    error: BoxError,
) -> Result<Authenticated, AuthError> {
    if now < claims.exp {
        tracing::warn!(session = %record.key, %error, "token refresh failed; the current token serves meanwhile");
        Ok(Authenticated::as_is(&Arc::new(record.clone())))
    } else {
        Err(AuthError::Unavailable(error))
    }
}
