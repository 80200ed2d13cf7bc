//! A new session from a log-in's tokens, whichever way they came: Cognito's API (password,
//! SRP, challenges), the managed login's token endpoint, or the application.

use super::Cognito;
use super::idp::{IdpError, Tokens};
use super::verify;
use crate::check::Check;
use crate::cognito::{AuthFlow, KeyClaim};
use crate::store::{LoginMethod, SessionId, StoreError};
use crate::{AuthError, CognitoTokens, Secret, SessionError, SessionRecord};

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
        let Some(refresh_token) = tokens.refresh else {
            return Err(unusable("returned no refresh token"));
        };
        let now = check.now();
        let refused = |e: AuthError, what: &str| match (e, source) {
            (AuthError::Unavailable(e), _) => SessionError::Unavailable(e),
            (_, Source::Api) => unusable(&format!(
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
        let key = self.key_of(&claims).ok_or_else(|| {
            unusable(
                "returned an access token without the claim that keys sessions (origin_jti: use KeyClaim::Sub for such pools)",
            )
        })?;
        let nonce = match source {
            Source::Domain { nonce } => nonce,
            Source::Api | Source::Caller => None,
        };
        if nonce.is_some() && tokens.id.is_none() {
            tracing::debug!("log-in tokens refused: no ID token for the nonce");
            return Err(SessionError::InvalidTokens);
        }
        let session_claims = claims.claims.clone();
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
        let session_claims = session_claims.with_claims(id_claims.unwrap_or_default());
        let method = match source {
            Source::Api => match self.settings.auth_flow {
                AuthFlow::Password => LoginMethod::Password,
                AuthFlow::Srp => LoginMethod::Srp,
            },
            Source::Domain { .. } => LoginMethod::Managed,
            Source::Caller => LoginMethod::Tokens,
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
