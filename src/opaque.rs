//! Opaque session tokens: minting, the shape check, look-up by hash, and rotation.
//!
//! A token is 256 bits from the operating system's RNG in URL-safe base64; the store keys
//! its session by the token's SHA-256, never by the token itself.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::check::{Authenticated, Check, Step};
use crate::session::TokenMatch;
use crate::store::{LoadNow, LoginMethod, SessionId, StoreError};
use crate::{
    AuthError, Claims, PreviousToken, Secret, SessionError, SessionRecord, TokenHash, TokenSource,
};

/// Length in characters of an opaque token: 32 random bytes in URL-safe base64 without padding.
pub(crate) const OPAQUE_TOKEN_LEN: usize = 43;

/// A new opaque token: 256 bits from the operating system's RNG, URL-safe base64.
pub(crate) fn new_opaque_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether a string has the shape of an opaque token, checked before any store look-up.
pub(crate) fn is_opaque_token(token: &str) -> bool {
    // Runs on every request: one table look-up a byte.
    const BASE64URL: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
            b += 1;
        }
        table
    };
    token.len() == OPAQUE_TOKEN_LEN && token.bytes().all(|b| BASE64URL[usize::from(b)])
}

/// The hash of a token that has the shape of an opaque token.
fn hash(token: &str) -> Result<TokenHash, AuthError> {
    if is_opaque_token(token) {
        Ok(TokenHash::of(token))
    } else {
        Err(AuthError::malformed())
    }
}

/// Creates and stores the session of a new log-in of `username`, with `claims`.
pub(crate) async fn create(
    check: &Check,
    username: &str,
    claims: Claims,
) -> Result<(Secret, SessionRecord), SessionError> {
    let now = check.now();
    let token = new_opaque_token().map_err(|e| SessionError::Unavailable(Box::new(e)))?;
    let hash = TokenHash::of(&token);
    let id = SessionId::random().map_err(|e| SessionError::Unavailable(Box::new(e)))?;
    let record = SessionRecord {
        claims,
        id: Some(id),
        method: Some(LoginMethod::Opaque),
        ..SessionRecord::new(hash.to_hex(), username, hash, now, check.expiry(now, now))
    };
    check.store().create(&record, now).await?;
    tracing::debug!(username, session = %record.key, "session created");
    Ok((Secret::new(token), record))
}

/// What [`authenticate`] would answer, if it can be told without waiting (see
/// [`Check::granted_from_memory`]).
pub(crate) fn authenticate_now(
    check: &Check,
    token: &str,
    source: TokenSource,
) -> Option<Result<Authenticated, AuthError>> {
    let now = check.now();
    let hash = match hash(token) {
        Ok(hash) => hash,
        Err(e) => return Some(Err(e)),
    };
    let LoadNow::Found(record) = check.store().load_now(hash.hex().as_str(), now) else {
        return None;
    };
    let step = step(check, Some(&record), &hash, now, source);
    check.granted_from_memory(step, record, now).map(Ok)
}

/// Checks an opaque token; rotates it when due and it came from the cookie.
pub(crate) async fn authenticate(
    check: &Check,
    token: &str,
    source: TokenSource,
) -> Result<Authenticated, AuthError> {
    let now = check.now();
    let hash = hash(token)?;
    let record = check.store().load(hash.hex().as_str(), now).await?;
    let step = step(check, record.as_ref(), &hash, now, source)?;
    let record = Arc::new(record.ok_or(AuthError::not_found())?);
    Ok(match step {
        Step::Touch => check.touched(&record, now).await,
        Step::Renew => match Box::pin(rotate(check, &record, now)).await {
            Some(rotated) => rotated,
            None => Authenticated::as_is(&record),
        },
        step => check.answer(step, &record, now),
    })
}

/// What an opaque token's record says.
fn step(
    check: &Check,
    record: Option<&SessionRecord>,
    hash: &TokenHash,
    now: u64,
    source: TokenSource,
) -> Result<Step, AuthError> {
    // Only a session that was made opaque opens with an opaque token: a Cognito session's
    // row names the access token it holds, and only that token, verified, opens it.
    let record = record
        .filter(|r| {
            r.cognito.is_none()
                && check.is_live(r, now)
                && r.accepts(hash, now) == TokenMatch::Current
        })
        .ok_or(AuthError::not_found())?;
    if record.successor.is_some() {
        return Ok(Step::Replaced);
    }
    let rotation_due = source == TokenSource::Cookie
        && check
            .config()
            .rotate_after
            .is_some_and(|age| now.saturating_sub(record.refreshed_at) >= age.as_secs());
    Ok(if rotation_due {
        Step::Renew
    } else {
        check.touch_step(record, now)
    })
}

/// Gives an opaque session a new token. The new record is written first and the old one
/// shortened second, so a failure between the two leaves the old session as it was.
/// `None` when another request rotated first or the store failed: the request then goes
/// on with the token it has.
async fn rotate(check: &Check, old: &SessionRecord, now: u64) -> Option<Authenticated> {
    let store = check.store();
    let token = new_opaque_token().ok()?;
    let hash = TokenHash::of(&token);
    let grace_end = now + check.config().grace_period.as_secs();
    // The same session under a new key: its user and its age carry over.
    let new = SessionRecord {
        sub: old.sub.clone(),
        claims: old.claims.clone(),
        created_at: old.created_at,
        id: old.id,
        method: old.method,
        previous: Some(Box::new(PreviousToken {
            hash: old.token_hash,
            valid_until: grace_end,
        })),
        ..SessionRecord::new(
            hash.to_hex(),
            old.username.clone(),
            hash,
            now,
            check.expiry(old.created_at, now),
        )
    };
    if let Err(e) = store.create(&new, now).await {
        tracing::warn!(error = %e, "session rotation skipped: new record not written");
        return None;
    }
    let retired = SessionRecord {
        successor: Some(new.key.clone()),
        expires_at: old.expires_at.min(grace_end),
        version: old.version + 1,
        ..old.clone()
    };
    let rotated = |new: SessionRecord| Authenticated {
        new_token: Some(check.new_token(Secret::new(token), new.expires_at, now)),
        user: crate::CurrentUser::from_record(Arc::new(new)),
        cognito: None,
    };
    match store.update(&retired, old.version).await {
        Ok(()) => {
            tracing::debug!(session = %new.key, "session token rotated");
            Some(rotated(new))
        }
        Err(e) => {
            // A conflict or a timeout can hide our own write (an SDK retry of a write that
            // landed): undoing the new record then would strand the client.
            if let Ok(Some(current)) = store.load(&old.key, now).await
                && current.successor.as_deref() == Some(new.key.as_str())
            {
                return Some(rotated(new));
            }
            if !matches!(e, StoreError::Conflict) {
                tracing::warn!(error = %e, "session rotation skipped: old record not retired");
            }
            let _ = store.delete(&new.key).await;
            None
        }
    }
}

/// Ends the records around a rotation of the session `record`, which was just deleted: the
/// one it replaced (still in its grace period) and the ones that replaced it (a concurrent
/// request may have rotated the session a moment before it ended, and another request
/// rotated that one).
pub(crate) async fn delete_neighbours(
    check: &Check,
    record: &SessionRecord,
) -> Result<(), StoreError> {
    let store = check.store();
    if let Some(previous) = &record.previous {
        store.delete(&previous.hash.to_hex()).await?;
    }
    let mut successor = record.successor.clone();
    // Each successor lives a grace period at most, so the chain is short; the bound is
    // against a cycle a corrupted table could hold.
    for _ in 0..8 {
        let Some(key) = successor else { break };
        successor = store.take(&key).await?.and_then(|next| next.successor);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_tokens_are_256_bit_url_safe_and_distinct() {
        let a = new_opaque_token().unwrap();
        let b = new_opaque_token().unwrap();
        assert_ne!(a, b);
        assert!(is_opaque_token(&a), "{}", a.len());
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
    }

    #[test]
    fn opaque_shape_is_checked() {
        assert!(!is_opaque_token(""));
        assert!(!is_opaque_token(&"a".repeat(42)));
        assert!(!is_opaque_token(&"a".repeat(44)));
        assert!(!is_opaque_token(&format!("{}+", "a".repeat(42))));
        assert!(!is_opaque_token(&format!("{}é", "a".repeat(41))));
    }

    use crate::store::{MemoryStore, SessionStore};
    use crate::{CognitoTokens, SessionConfig, SessionManager};

    /// #24, finding 1: a row that names an opaque token's hash but holds Cognito tokens was
    /// not made opaque, and the opaque token does not open it.
    #[tokio::test]
    async fn an_opaque_token_opens_only_a_session_made_opaque() {
        let token = new_opaque_token().unwrap();
        let hash = TokenHash::of(&token);
        let now = SessionConfig::default().now();
        let opaque = SessionRecord::new(hash.to_hex(), "alice", hash, now, now + 3600);
        let cognito = SessionRecord {
            cognito: Some(CognitoTokens {
                access_token: Secret::new("a.b.c"),
                refresh_token: Secret::new("refresh"),
                access_expires_at: now + 3600,
            }),
            ..opaque.clone()
        };
        for (record, opens) in [(cognito, false), (opaque, true)] {
            let store = MemoryStore::new();
            store.create(&record, now).await.unwrap();
            let manager = SessionManager::new(store, SessionConfig::default()).unwrap();
            assert_eq!(manager.authenticate(&token).await.is_ok(), opens);
        }
    }
}
