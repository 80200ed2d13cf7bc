//! A user's own sessions: the list a "where you're logged in" page shows, and ending one or
//! all the others.

use crate::store::{LoginMethod, SessionId, SessionRecord, TokenHash};
use crate::{CurrentUser, SessionError, SessionManager};

/// One of a user's sessions, as [`SessionManager::sessions`] lists it: nothing in it is a
/// credential.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session's public id, for [`SessionManager::end_session`].
    pub id: SessionId,
    /// When it was logged in, in epoch seconds.
    pub created_at: u64,
    /// When it was last seen, in epoch seconds: as of its last touch (see
    /// [`SessionConfig::with_touch_interval`](crate::SessionConfig::with_touch_interval)),
    /// refresh or rotation.
    pub last_seen_at: u64,
    /// How it was logged in; `None` for a session stored before methods were.
    pub method: Option<LoginMethod>,
    /// Whether it is the session the listing request came with.
    pub current: bool,
}

impl SessionManager {
    /// The live sessions of `user` (the request's [`CurrentUser`]), oldest first, the one the
    /// request came with marked [`current`](SessionInfo::current). A session rotated a
    /// moment ago is listed once, as its successor.
    ///
    /// The store lists them (see [`SessionStore::list_user`](crate::store::SessionStore::list_user));
    /// with DynamoDB, a session logged in a moment ago may be missing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use cognito_session::{SessionConfig, SessionManager};
    /// use cognito_session::store::MemoryStore;
    ///
    /// let sessions = SessionManager::new(MemoryStore::new(), SessionConfig::default())?;
    /// let laptop = sessions.create("alice").await?;
    /// let phone = sessions.create("alice").await?;
    /// let listed = sessions.sessions(&phone.user).await?;
    /// assert_eq!(listed.len(), 2);
    /// assert_eq!(listed.iter().filter(|s| s.current).count(), 1);
    ///
    /// // From the phone, end the laptop's session.
    /// let laptop_id = listed.iter().find(|s| !s.current).unwrap().id;
    /// assert!(sessions.end_session(&phone.user, laptop_id).await?);
    /// assert!(sessions.authenticate(laptop.token.expose()).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn sessions(&self, user: &CurrentUser) -> Result<Vec<SessionInfo>, SessionError> {
        let mut listed: Vec<SessionInfo> = self
            .live_sessions_of(user)
            .await?
            .iter()
            .map(|record| SessionInfo {
                id: public_id(record),
                created_at: record.created_at,
                last_seen_at: record.last_seen_at,
                method: record.method,
                current: record.key == user.session_key(),
            })
            .collect();
        listed.sort_by_key(|s| (s.created_at, s.id.to_bytes()));
        Ok(listed)
    }

    /// Ends the session `id` of `user`, as [`delete`](Self::delete) does (a Cognito
    /// session's refresh token is revoked); whether `user` had a session with that id. The
    /// id of another user's session ends nothing and answers `false`, as an unknown id does.
    pub async fn end_session(
        &self,
        user: &CurrentUser,
        id: SessionId,
    ) -> Result<bool, SessionError> {
        let found = self
            .live_sessions_of(user)
            .await?
            .into_iter()
            .find(|record| public_id(record) == id);
        match found {
            Some(record) => self.delete(&record.key).await,
            None => Ok(false),
        }
    }

    /// Ends every session of `user` but the one the request came with ("log out my other
    /// devices"); how many it ended.
    pub async fn end_other_sessions(&self, user: &CurrentUser) -> Result<usize, SessionError> {
        let mut ended = 0;
        for record in self.live_sessions_of(user).await? {
            if record.key != user.session_key() && self.delete(&record.key).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// The user's sessions as this manager would let them in: live by its lifetimes, and not
    /// a record a rotation replaced (its successor is listed instead).
    async fn live_sessions_of(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<SessionRecord>, SessionError> {
        let check = self.check();
        let now = check.now();
        let mut records = self.store().list_user(user.username(), now).await?;
        records.retain(|record| record.successor.is_none() && check.is_live(record, now));
        Ok(records)
    }
}

/// The session's id; for one stored before ids existed, one made from its key that stays the
/// same for its life. That key is the SHA-256 of an opaque token or a claim of a Cognito
/// one, and hashing it again under a label of its own gives nothing back of either.
pub(crate) fn public_id(record: &SessionRecord) -> SessionId {
    record.id.unwrap_or_else(|| {
        let mut label = b"cognito-session legacy session id ".to_vec();
        label.extend_from_slice(record.key.as_bytes());
        let hash = TokenHash::of_bytes(&label);
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&hash.as_bytes()[..8]);
        SessionId::from_bytes(bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use crate::{SessionConfig, TokenSource};

    fn manager() -> SessionManager {
        SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap()
    }

    #[tokio::test]
    async fn only_the_users_own_sessions_are_listed_and_ended() {
        let sessions = manager();
        let a = sessions.create("alice").await.unwrap();
        let b = sessions.create("alice").await.unwrap();
        let c = sessions.create("alice").await.unwrap();
        let bob = sessions.create("bob").await.unwrap();

        let listed = sessions.sessions(&a.user).await.unwrap();
        assert_eq!(listed.len(), 3);
        assert!(listed.iter().all(|s| s.method == Some(LoginMethod::Opaque)));
        let current: Vec<_> = listed.iter().filter(|s| s.current).collect();
        assert_eq!(current.len(), 1);

        // Bob can't end Alice's session by its id, nor list it.
        let bobs = sessions.sessions(&bob.user).await.unwrap();
        assert_eq!(bobs.len(), 1);
        let alices_id = listed.iter().find(|s| !s.current).unwrap().id;
        assert!(!sessions.end_session(&bob.user, alices_id).await.unwrap());
        assert_eq!(sessions.sessions(&a.user).await.unwrap().len(), 3);

        // Alice ends the others from `a`: `b` and `c` end, `a` and Bob's stay.
        assert_eq!(sessions.end_other_sessions(&a.user).await.unwrap(), 2);
        for gone in [&b, &c] {
            assert!(sessions.authenticate(gone.token.expose()).await.is_err());
        }
        for kept in [&a, &bob] {
            assert!(sessions.authenticate(kept.token.expose()).await.is_ok());
        }
        let left = sessions.sessions(&a.user).await.unwrap();
        assert_eq!(left.len(), 1);
        assert!(left[0].current);
        assert!(
            !sessions.end_session(&a.user, alices_id).await.unwrap(),
            "ended already"
        );
    }

    #[tokio::test]
    async fn a_rotated_session_keeps_its_id_and_is_listed_once() {
        let clock = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1_800_000_000));
        let now = clock.clone();
        let config = SessionConfig::default()
            .with_rotation(Some(std::time::Duration::from_secs(60)))
            .with_clock(move || {
                std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(now.load(std::sync::atomic::Ordering::SeqCst))
            });
        let sessions = SessionManager::new(MemoryStore::new(), config).unwrap();
        let first = sessions.create("carol").await.unwrap();
        let before = sessions.sessions(&first.user).await.unwrap();
        clock.fetch_add(61, std::sync::atomic::Ordering::SeqCst);
        let rotated = sessions
            .authenticate_from(first.token.expose(), TokenSource::Cookie)
            .await
            .unwrap();
        assert!(rotated.new_token.is_some(), "rotated");
        let after = sessions.sessions(&rotated.user).await.unwrap();
        assert_eq!(after.len(), 1, "{after:?}");
        assert_eq!(after[0].id, before[0].id);
        assert!(after[0].current);
    }

    #[test]
    fn a_session_stored_before_ids_has_a_stable_one_that_is_not_its_key() {
        let record = SessionRecord::new("key-1", "dave", TokenHash::of("t"), 1, 2);
        let id = public_id(&record);
        assert_eq!(public_id(&record.clone()), id);
        assert_ne!(
            public_id(&SessionRecord::new(
                "key-2",
                "dave",
                TokenHash::of("t"),
                1,
                2
            )),
            id
        );
        assert!(!TokenHash::of("key-1").to_hex().contains(&hex(id)));
    }

    fn hex(id: SessionId) -> String {
        id.to_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}
