//! [`CurrentUser`], what the layer hands to the application, and [`NewSession`], what a
//! log-in hands back.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use http::HeaderValue;

use crate::{Claims, Secret, SessionRecord};

/// The authenticated user of a request.
///
/// [`SessionLayer`](crate::SessionLayer) inserts it into the request's extensions; with the
/// `axum` feature it is also an extractor (see [`crate::extract`]).
///
/// Cheap to clone, since extractors clone it out of the request on every request: for an
/// opaque session it shares the record the store read (one reference count, no copy), which
/// holds hashes and no secret. A Cognito session's record holds its tokens, so the user gets
/// a copy without them: a `CurrentUser` an application keeps never keeps a token alive. It
/// shows only the user's name, `sub`, session key, groups and scopes, in `Debug` too.
///
/// Its [groups](Self::groups), [scopes](Self::scopes) and other [claims](Self::claim) are
/// the session's [`Claims`]: for a Cognito session, the verified claims of its latest access
/// token; for an opaque one, what it was [created with](crate::SessionManager::create_with).
/// The [guards](crate::guard) check them for whole routes.
///
/// ```
/// # use cognito_session::CurrentUser;
/// fn greet(request: &http::Request<()>) -> String {
///     match request.extensions().get::<CurrentUser>() {
///         Some(user) => format!("hello, {}", user.username()),
///         None => "hello, stranger".to_owned(),
///     }
/// }
/// ```
#[derive(Clone)]
pub struct CurrentUser {
    session: Arc<SessionRecord>,
    /// The request came with a token replaced moments ago by rotation: its session is the
    /// one that replaced it.
    successor: bool,
}

impl CurrentUser {
    /// The user of `session`.
    pub(crate) fn from_record(session: Arc<SessionRecord>) -> Self {
        Self {
            session: without_secrets(session),
            successor: false,
        }
    }

    /// The user of the session that replaced `session`.
    pub(crate) fn of_successor(session: Arc<SessionRecord>) -> Self {
        Self {
            successor: session.successor.is_some(),
            session: without_secrets(session),
        }
    }

    /// The user's name: what the session was created for, or Cognito's `username` claim.
    pub fn username(&self) -> &str {
        &self.session.username
    }

    /// Cognito's `sub` claim; `None` for opaque sessions.
    pub fn sub(&self) -> Option<&str> {
        self.session.sub.as_deref()
    }

    /// The user's groups: Cognito's `cognito:groups`, or what an opaque session was created
    /// with. Empty when there are none.
    pub fn groups(&self) -> &[String] {
        self.session.claims.groups()
    }

    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.session.claims.has_group(group)
    }

    /// The scopes the session's token grants (`scope`). Empty when there are none.
    pub fn scopes(&self) -> &[String] {
        self.session.claims.scopes()
    }

    /// Whether the session's token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.session.claims.has_scope(scope)
    }

    /// All the session's claims: groups, scopes and the others.
    pub fn claims(&self) -> &Claims {
        &self.session.claims
    }

    /// The claim `name` (custom claims included, such as those a pre-token-generation trigger
    /// adds) as a `T`; `None` when there is no such claim or it is not a `T`. Groups and
    /// scopes are not among these: see [`groups`](Self::groups) and [`scopes`](Self::scopes).
    ///
    /// ```
    /// # use cognito_session::CurrentUser;
    /// fn tenant(user: &CurrentUser) -> Option<String> {
    ///     user.claim("custom:tenant")
    /// }
    /// ```
    pub fn claim<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let value = self.session.claims.get(name)?;
        T::deserialize(value).ok()
    }

    /// The session's public id: what [`SessionManager::sessions`](crate::SessionManager::sessions)
    /// lists it under.
    pub fn session_id(&self) -> crate::store::SessionId {
        crate::manager::public_id(&self.session)
    }

    /// The key of the session in the store, for
    /// [`SessionManager::delete`](crate::SessionManager::delete). Not a secret: it can't be
    /// turned back into the token.
    pub fn session_key(&self) -> &str {
        match &self.session.successor {
            Some(successor) if self.successor => successor,
            _ => &self.session.key,
        }
    }
}

/// `session` itself if it holds no secret, else one without the Cognito tokens (a copy,
/// unless nothing else shares it).
fn without_secrets(session: Arc<SessionRecord>) -> Arc<SessionRecord> {
    if session.cognito.is_none() {
        return session;
    }
    Arc::new(SessionRecord {
        cognito: None,
        ..Arc::unwrap_or_clone(session)
    })
}

impl PartialEq for CurrentUser {
    fn eq(&self, other: &Self) -> bool {
        (self.username(), self.sub(), self.session_key())
            == (other.username(), other.sub(), other.session_key())
    }
}

impl Eq for CurrentUser {}

impl fmt::Debug for CurrentUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentUser")
            .field("username", &self.username())
            .field("sub", &self.sub())
            .field("session_key", &self.session_key())
            .field("groups", &self.groups())
            .field("scopes", &self.scopes())
            .finish()
    }
}

/// A Cognito session's record as stored, tokens and all, in the extensions of a request the
/// layer let through: what the [`AccessToken`](crate::extract::AccessToken) extractor reads.
/// Not nameable outside the crate, so nothing else can read the tokens in it.
#[derive(Clone)]
pub(crate) struct CognitoSession(pub(crate) Arc<SessionRecord>);

/// A session that was just created.
#[derive(Debug)]
#[non_exhaustive]
pub struct NewSession {
    /// The token to give the client (opaque token, or Cognito access token).
    pub token: Secret,
    /// Who it belongs to.
    pub user: CurrentUser,
    /// A `Set-Cookie` value carrying the token, for clients that use the cookie.
    pub set_cookie: HeaderValue,
    /// When the session expires, in epoch seconds.
    pub expires_at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CognitoTokens, Secret};

    fn record(cognito: Option<CognitoTokens>) -> Arc<SessionRecord> {
        Arc::new(SessionRecord {
            sub: Some("s".into()),
            successor: Some("next".into()),
            cognito,
            ..SessionRecord::for_test("k", "alice", 0)
        })
    }

    #[test]
    fn an_opaque_session_is_shared_and_a_cognito_one_copied_without_its_tokens() {
        let opaque = record(None);
        assert!(Arc::ptr_eq(
            &CurrentUser::from_record(opaque.clone()).session,
            &opaque
        ));
        let tokens = CognitoTokens {
            access_token: Secret::new("the-access-token"),
            refresh_token: Secret::new("the-refresh-token"),
            access_expires_at: 1,
        };
        let cognito = record(Some(tokens));
        for user in [
            CurrentUser::from_record(cognito.clone()),
            CurrentUser::of_successor(cognito.clone()),
        ] {
            assert!(user.session.cognito.is_none());
            let shown = format!("{user:?}");
            assert!(!shown.contains("token\""), "{shown}");
            assert!(!shown.contains("the-"), "{shown}");
            assert_eq!((user.username(), user.sub()), ("alice", Some("s")));
        }
        assert_eq!(CurrentUser::from_record(cognito.clone()).session_key(), "k");
        assert!(
            CurrentUser::from_record(cognito.clone())
                .groups()
                .is_empty()
        );
        assert_eq!(CurrentUser::of_successor(cognito).session_key(), "next");
    }

    #[test]
    fn groups_scopes_and_typed_claims() {
        let claims = Claims::new()
            .with_groups(["admins", "staff"])
            .with_scopes(["orders/read"])
            .with_claim("custom:tenant", serde_json::json!("acme"))
            .with_claim("custom:level", serde_json::json!(3));
        let user = CurrentUser::from_record(Arc::new(SessionRecord {
            claims,
            ..SessionRecord::for_test("k", "alice", 0)
        }));
        assert_eq!(user.groups(), ["admins", "staff"]);
        assert!(user.in_group("staff") && !user.in_group("Admins"));
        assert_eq!(user.scopes(), ["orders/read"]);
        assert!(user.has_scope("orders/read") && !user.has_scope("orders"));
        assert_eq!(
            user.claim::<String>("custom:tenant").as_deref(),
            Some("acme")
        );
        assert_eq!(user.claim::<u8>("custom:level"), Some(3));
        assert_eq!(user.claim::<u8>("custom:tenant"), None, "not a number");
        assert_eq!(user.claim::<String>("custom:none"), None);
        assert_eq!(user.claims().other().len(), 2);
        let shown = format!("{user:?}");
        assert!(
            shown.contains("admins") && shown.contains("orders/read"),
            "{shown}"
        );
    }
}
