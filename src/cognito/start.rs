//! A new session from a log-in's tokens, whichever way they came: Cognito's API (password,
//! SRP, challenges), the managed login's token endpoint, or the application.

use std::sync::Arc;

use super::Cognito;
use super::idp::{IdpError, Tokens};
use super::verify::{self, AccessClaims};
use crate::check::Check;
use crate::cognito::{AuthFlow, KeyClaim};
use crate::store::{LoginMethod, SessionId, StoreError};
use crate::{AuthError, Claims, CognitoTokens, Secret, SessionError, SessionRecord, TokenHash};

/// Where a new session's tokens came from: it decides what a token that doesn't verify
/// means, and what else is checked.
#[derive(Clone, Copy, Debug)]
pub(super) enum Source<'a> {
    /// Cognito's API answered a log-in over TLS: a token it returns that this
    /// configuration refuses is a configuration mismatch (pool, client, clock), not an
    /// attack, and is reported as such.
    Api,
    /// The managed login's token endpoint, for a code the browser brought back: the ID
    /// token must carry the `nonce` sent with the authorize request, when one was.
    Domain { nonce: Option<&'a str> },
    /// The application, with tokens from a log-in made elsewhere: nothing about them is
    /// trusted before it verifies.
    Caller,
    /// Cognito refreshed the refresh token the application gave with the access token
    /// `of` (already verified as [`Caller`](Self::Caller)'s): the new tokens must be of the
    /// same log-in, or the refresh token was not the access token's.
    Refreshed { of: &'a AccessClaims },
}

/// A log-in's access token (and ID token) once verified: what its session is made of.
pub(super) struct VerifiedLogIn {
    hash: TokenHash,
    claims: Arc<AccessClaims>,
    key: String,
    session_claims: Claims,
}

impl VerifiedLogIn {
    pub(super) fn claims(&self) -> &AccessClaims {
        &self.claims
    }
}

impl Cognito {
    /// Verifies a log-in's tokens and stores its session: the access token, and the ID
    /// token when it must be read.
    pub(super) async fn start_session(
        &self,
        check: &Check,
        tokens: Tokens,
        source: Source<'_>,
    ) -> Result<(Secret, SessionRecord), SessionError> {
        let Some(refresh_token) = tokens.refresh.clone() else {
            return Err(unusable("returned no refresh token"));
        };
        let now = check.now();
        let VerifiedLogIn {
            hash,
            claims,
            key,
            session_claims,
        } = self.verify_log_in(&tokens, source, now).await?;
        let method = match source {
            Source::Api => match self.settings.auth_flow {
                AuthFlow::Password => LoginMethod::Password,
                AuthFlow::Srp => LoginMethod::Srp,
            },
            Source::Domain { .. } => LoginMethod::Managed,
            Source::Caller | Source::Refreshed { .. } => LoginMethod::Tokens,
        };
        let id = SessionId::random().map_err(|e| SessionError::Unavailable(Box::new(e)))?;
        let record = SessionRecord {
            id: Some(id),
            method: Some(method),
            sub: Some(claims.sub.clone()),
            cognito: Some(CognitoTokens {
                access_token: tokens.access.clone(),
                refresh_token,
                access_expires_at: claims.exp,
            }),
            claims: session_claims,
            ..SessionRecord::new(
                key,
                claims.username.clone(),
                hash,
                now,
                check.expiry(now, now),
            )
        };
        self.store_new(check, record.clone(), now).await?;
        tracing::debug!(username = %record.username, session = %record.key, "Cognito session created");
        Ok((tokens.access, record))
    }

    /// Verifies a log-in's access token, and its ID token when it must be read; nothing is
    /// stored.
    pub(super) async fn verify_log_in(
        &self,
        tokens: &Tokens,
        source: Source<'_>,
        now: u64,
    ) -> Result<VerifiedLogIn, SessionError> {
        let refused = |e: AuthError, what: &str| match (e, source) {
            (AuthError::Unavailable(e), _) => SessionError::Unavailable(e),
            (_, Source::Api | Source::Refreshed { .. }) => unusable(&format!(
                "returned an {what} this configuration does not accept (check the pool id, client id and clock)"
            )),
            (_, Source::Domain { .. } | Source::Caller) => {
                tracing::debug!(what, "log-in tokens refused");
                SessionError::InvalidTokens
            }
        };
        let verify::Verified { hash, claims } = self
            .verifier
            .verify(tokens.access.expose(), now)
            .await
            .map_err(|e| refused(e, "access token"))?;
        if !matches!(source, Source::Api) {
            // The session is refreshed through `client_id`, which Cognito only does for
            // refresh tokens issued to it: another app client's log-in can't become one.
            // An expired token is no new log-in.
            if claims.client_id != self.settings.client_id || claims.exp <= now {
                tracing::debug!("log-in tokens refused: another client, or expired");
                return Err(SessionError::InvalidTokens);
            }
        }
        if let Source::Refreshed { of } = source {
            // `origin_jti` names the log-in and survives refreshes (in Cognito and moto
            // alike): a refresh token of the same user's other log-in is caught by it.
            let same_log_in = match (&of.origin_jti, &claims.origin_jti) {
                (Some(given), Some(refreshed)) => given == refreshed,
                _ => true,
            };
            if claims.sub != of.sub || claims.client_id != of.client_id || !same_log_in {
                tracing::debug!("log-in tokens refused: the refresh token is another log-in's");
                return Err(SessionError::InvalidTokens);
            }
        }
        let key = self.key_of(&claims).ok_or_else(|| {
            unusable(
                "returned an access token without the claim that keys sessions (origin_jti: use KeyClaim::Sub for such pools)",
            )
        })?;
        let key = key.to_owned();
        let nonce = match source {
            Source::Domain { nonce } => nonce,
            Source::Api | Source::Caller | Source::Refreshed { .. } => None,
        };
        if nonce.is_some() && tokens.id.is_none() {
            tracing::debug!("log-in tokens refused: no ID token for the nonce");
            return Err(SessionError::InvalidTokens);
        }
        let id_claims = self
            .id_claims_of(
                tokens.id.as_ref(),
                &claims.sub,
                nonce,
                matches!(source, Source::Caller),
                now,
            )
            .await
            .map_err(|e| refused(e, "ID token"))?;
        let session_claims = claims
            .claims
            .clone()
            .with_claims(id_claims.unwrap_or_default());
        Ok(VerifiedLogIn {
            hash,
            claims,
            key,
            session_claims,
        })
    }

    /// Stores a new log-in's record. With [`KeyClaim::Sub`] a record of an earlier log-in of
    /// the user may be in the way: it is replaced (one session per user is what that layout
    /// means), and its refresh token revoked.
    async fn store_new(
        &self,
        check: &Check,
        mut record: SessionRecord,
        now: u64,
    ) -> Result<(), SessionError> {
        let store = check.store();
        for _ in 0..3 {
            match store.create(&record, now).await {
                Err(StoreError::Conflict) if self.settings.key_claim == KeyClaim::Sub => {}
                other => return other.map_err(SessionError::from),
            }
            let Some(old) = store.load(&record.key, now).await? else {
                continue; // gone meanwhile: create again
            };
            record.version = old.version + 1;
            match store.update(&record, old.version).await {
                Ok(()) => {
                    tracing::debug!(session = %record.key, "earlier session of the user replaced");
                    self.revoke(&old).await;
                    return Ok(());
                }
                Err(StoreError::Conflict) => record.version = 0,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }
}

fn unusable(what: &str) -> SessionError {
    SessionError::Unavailable(Box::new(IdpError::new("log-in", what.to_owned())))
}
