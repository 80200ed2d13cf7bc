//! Managed login: the authorization code flow with PKCE through the pool's domain, and
//! sessions from tokens obtained elsewhere.
//!
//! The log-in's secrets (the PKCE verifier, `state` and `nonce`) travel in a cookie of the
//! browser that started it, sealed (a MAC with the challenge key) so that it can't be
//! edited, and living at most 10 minutes. No server-side state is kept between the
//! redirect and the callback, so any instance can answer the callback.

use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use super::Cognito;
use super::domain::{self, Authorize};
use super::idp::{CallError, Tokens};
use super::start::Source;
use crate::check::Check;
use crate::cognito::safe_next;
use crate::token::{self, Found};
use crate::{Secret, SessionError, SessionRecord, TokenSource};

/// The sealer's purpose for log-in states.
const LOGIN_STATE: &str = "login-state";

/// The longest callback query read: a code and a state are well under a kilobyte.
const MAX_QUERY: usize = 8 * 1024;

/// How a managed log-in starts, for
/// [`SessionManager::start_login`](crate::SessionManager::start_login).
///
/// ```
/// use cognito_session::cognito::LoginOptions;
///
/// let options = LoginOptions::new()
///     .with_identity_provider("Google")
///     .with_next("/orders");
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
pub struct LoginOptions {
    identity_provider: Option<String>,
    lang: Option<String>,
    next: Option<String>,
}

impl LoginOptions {
    /// No identity provider, no language, back to `/`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Skips the domain's sign-in page for an identity provider of the pool: `Google`,
    /// `SignInWithApple`, `Facebook`, `LoginWithAmazon`, or the name of a SAML or OIDC
    /// provider (Cognito's `identity_provider`). Default: none, the domain's page offers
    /// the pool's choices.
    #[must_use]
    pub fn with_identity_provider(mut self, provider: impl Into<String>) -> Self {
        self.identity_provider = Some(provider.into());
        self
    }

    /// The language of the domain's pages (`lang`, e.g. `fr`). Default: the domain's.
    #[must_use]
    pub fn with_lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    /// Where the browser goes after the log-in: a path on this site; anything else
    /// becomes `/` (see [`safe_next`](crate::cognito::safe_next)). Default: `/`.
    #[must_use]
    pub fn with_next(mut self, next: impl Into<String>) -> Self {
        self.next = Some(next.into());
        self
    }
}

/// Where to send the browser to log in, and the cookie that binds the log-in to it: answer
/// with a redirect (`302`, `Location: url`) and this `Set-Cookie`.
#[derive(Debug)]
#[non_exhaustive]
pub struct LoginRedirect {
    /// The domain's `/oauth2/authorize` URL, with `state`, the PKCE challenge and the
    /// `nonce`.
    pub url: String,
    /// The log-in state cookie (`HttpOnly`, `SameSite=Lax`, sealed, 10 minutes at most).
    pub set_cookie: HeaderValue,
}

/// A finished managed log-in.
#[derive(Debug)]
#[non_exhaustive]
pub struct LoggedIn {
    /// The new session: send [`NewSession::set_cookie`](crate::NewSession::set_cookie).
    pub session: crate::NewSession,
    /// Where the log-in asked to go afterwards: a path on this site, `/` by default.
    pub next: String,
    /// Removes the log-in state cookie, which is spent.
    pub clear_state_cookie: HeaderValue,
}

/// What the log-in state cookie holds.
#[derive(Serialize, Deserialize)]
struct LoginState {
    /// `state`, as sent to the domain.
    s: String,
    /// The PKCE verifier.
    v: String,
    /// The `nonce`, when an ID token was asked for.
    n: Option<String>,
    /// Where to go afterwards.
    r: String,
    /// Expiry, epoch seconds.
    e: u64,
}

/// `bytes` random bytes from the OS, base64url.
impl LoginState {
    /// Where to go after the log-in. Checked again, not trusted to the seal alone: a state
    /// sealed by another build, or under a key that leaked, must still not send the browser
    /// off this site.
    fn next(&self) -> String {
        safe_next(&self.r).to_owned()
    }
}

fn random(bytes: usize) -> Result<String, SessionError> {
    use base64::Engine as _;
    let mut buffer = vec![0; bytes];
    getrandom::fill(&mut buffer).map_err(|e| SessionError::Unavailable(Box::new(e)))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer))
}

/// The S256 code challenge of a verifier.
fn code_challenge(verifier: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `name` can be an identity provider's: SAML and OIDC provider names may hold
/// more than letters, so only emptiness, length and control characters are refused (the URL
/// encodes the rest).
fn plausible_provider(name: &str) -> bool {
    !name.is_empty() && name.chars().count() <= 64 && !name.chars().any(char::is_control)
}

/// Whether `lang` can be a language tag (`fr`, `pt-BR`).
fn plausible_lang(lang: &str) -> bool {
    (2..=16).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The callback's parameters that matter; a repeated one makes the callback invalid.
#[derive(Default)]
struct Callback {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl Callback {
    fn parse(query: &str) -> Result<Self, SessionError> {
        if query.len() > MAX_QUERY {
            return Err(SessionError::InvalidLoginState);
        }
        let mut callback = Self::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match &*name {
                "state" => &mut callback.state,
                "code" => &mut callback.code,
                "error" => &mut callback.error,
                "error_description" => &mut callback.error_description,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(SessionError::InvalidLoginState);
            }
        }
        Ok(callback)
    }
}

/// A description from the domain, as it may be shown: no control characters, bounded.
fn description(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(300).collect()
}

impl Cognito {
    fn managed_domain(&self) -> Result<&domain::Domain, SessionError> {
        self.domain.as_ref().ok_or_else(|| {
            SessionError::Unavailable(
                "no managed login domain is configured (CognitoSettings::with_managed_login)"
                    .into(),
            )
        })
    }

    /// The authorize URL of a new log-in, and the cookie that carries its secrets.
    pub(crate) fn start_login(
        &self,
        check: &Check,
        options: &LoginOptions,
    ) -> Result<LoginRedirect, SessionError> {
        let domain = self.managed_domain()?;
        let settings = domain.settings();
        if let Some(provider) = &options.identity_provider
            && !plausible_provider(provider)
        {
            return Err(SessionError::InvalidAnswer(
                "invalid identity provider name".into(),
            ));
        }
        let lang = options.lang.as_deref().filter(|lang| plausible_lang(lang));
        let verifier = random(48)?; // 64 characters
        let state = random(32)?;
        let nonce = settings.wants_id_token().then(|| random(32)).transpose()?;
        let lifetime = settings.state_lifetime();
        let sealed = LoginState {
            s: state.clone(),
            v: verifier.clone(),
            n: nonce.clone(),
            r: safe_next(options.next.as_deref().unwrap_or("/")).to_owned(),
            e: check.now().saturating_add(lifetime.as_secs()),
        };
        let url = domain.authorize_url(&Authorize {
            state: &state,
            code_challenge: &code_challenge(&verifier),
            nonce: nonce.as_deref(),
            identity_provider: options.identity_provider.as_deref(),
            lang,
        });
        let cookie = check.config().cookie.login_state();
        Ok(LoginRedirect {
            url,
            set_cookie: cookie.set(&self.sealer.seal(LOGIN_STATE, "", &sealed), lifetime),
        })
    }

    /// The `Set-Cookie` that removes the log-in state cookie.
    pub(crate) fn login_state_removal(check: &Check) -> HeaderValue {
        check.config().cookie.login_state().removal()
    }

    /// Checks the callback against the browser's log-in state, exchanges the code and
    /// stores the session: its token, record, and where to go next.
    pub(crate) async fn finish_login(
        &self,
        check: &Check,
        query: &str,
        headers: &HeaderMap,
    ) -> Result<(Secret, SessionRecord, String), SessionError> {
        let domain = self.managed_domain()?;
        let callback = Callback::parse(query)?;
        let cookie = check.config().cookie.login_state();
        let Found::Token(sealed, _) = token::find(headers, &[TokenSource::Cookie], &cookie.name)
        else {
            tracing::debug!("managed log-in: no (single) log-in state cookie");
            return Err(SessionError::InvalidLoginState);
        };
        let login: LoginState = self
            .sealer
            .open(LOGIN_STATE, "", sealed)
            .ok_or(SessionError::InvalidLoginState)?;
        let state_matches = callback
            .state
            .as_deref()
            .is_some_and(|state| bool::from(state.as_bytes().ct_eq(login.s.as_bytes())));
        if !state_matches || check.now() >= login.e {
            tracing::debug!(state_matches, "managed log-in: state refused");
            return Err(SessionError::InvalidLoginState);
        }
        if let Some(error) = callback.error {
            let error = domain::error_code(&error);
            tracing::info!(%error, "managed log-in ended by the domain");
            return Err(SessionError::AuthorizationDenied {
                error,
                description: callback.error_description.as_deref().map(description),
            });
        }
        let code = callback
            .code
            .filter(|code| !code.is_empty() && code.len() <= 2048)
            .ok_or_else(|| SessionError::AuthorizationDenied {
                error: "invalid_request".into(),
                description: Some("the callback has no code".into()),
            })?;
        let tokens = match domain.exchange(&code, &login.v).await {
            Ok(tokens) => tokens,
            Err(CallError::Refused) => {
                tracing::info!("managed log-in: the token endpoint refused the code");
                return Err(SessionError::CodeRefused);
            }
            Err(CallError::Denied(_)) => return Err(SessionError::CodeRefused),
            Err(CallError::Unavailable(e)) => return Err(SessionError::Unavailable(e)),
        };
        let source = Source::Domain {
            nonce: login.n.as_deref(),
        };
        let (token, record) = self.start_session(check, tokens, source).await?;
        Ok((token, record, login.next()))
    }

    /// A session from tokens of a log-in made elsewhere: verified first, then the refresh
    /// token proven by spending one refresh of it, whose tokens are the ones stored. A
    /// verified access token alone must not make a session: it may be one that was logged
    /// out, or the key of another user's live one (`KeyClaim::Sub`).
    pub(crate) async fn create_from_tokens(
        &self,
        check: &Check,
        access_token: &str,
        refresh_token: &str,
        id_token: Option<&str>,
    ) -> Result<(Secret, SessionRecord), SessionError> {
        if refresh_token.is_empty() || refresh_token.len() > 16 * 1024 {
            return Err(SessionError::InvalidTokens);
        }
        let refresh_token = Secret::new(refresh_token);
        let given = Tokens {
            access: Secret::new(access_token),
            refresh: Some(refresh_token.clone()),
            id: id_token.map(Secret::new),
        };
        // Tokens that don't verify cost no call to Cognito.
        let given = self
            .verify_log_in(&given, Source::Caller, check.now())
            .await?;
        let given = given.claims();
        let refreshed = match self.refresh_tokens(&refresh_token, &given.username).await {
            Ok(tokens) => tokens,
            // (No refresh error is a `Denied`: those are log-in answers.)
            Err(CallError::Refused | CallError::Denied(_)) => {
                tracing::debug!("log-in tokens refused: Cognito refused the refresh token");
                return Err(SessionError::InvalidTokens);
            }
            Err(CallError::Unavailable(e)) => return Err(SessionError::Unavailable(e)),
        };
        let tokens = Tokens {
            // Without rotation Cognito sends no new refresh token: the given one stays good.
            refresh: refreshed.refresh.or(Some(refresh_token)),
            ..refreshed
        };
        self.start_session(check, tokens, Source::Refreshed { of: given })
            .await
    }

    /// The domain's `/logout` URL, when managed login is configured.
    pub(crate) fn logout_url(&self) -> Option<String> {
        self.domain.as_ref().map(domain::Domain::logout_url)
    }

    /// New tokens for a session's refresh token: through the domain's token endpoint when
    /// managed login is configured, else Cognito's API.
    pub(super) async fn refresh_tokens(
        &self,
        refresh_token: &Secret,
        username: &str,
    ) -> Result<Tokens, CallError> {
        match &self.domain {
            Some(domain) => domain.refresh(refresh_token).await,
            None => self.idp.refresh(refresh_token, username).await,
        }
    }

    /// Ends a refresh token: at the domain's revocation endpoint when managed login is
    /// configured, else with Cognito's `RevokeToken`.
    pub(super) async fn revoke_token(&self, refresh_token: &Secret) -> Result<(), CallError> {
        match &self.domain {
            Some(domain) => domain.revoke(refresh_token).await,
            None => self.idp.revoke(refresh_token).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsealed_next_is_checked_again() {
        let state = |r: &str| LoginState {
            s: "s".into(),
            v: "v".into(),
            n: None,
            r: r.into(),
            e: 0,
        };
        assert_eq!(state("/orders?page=2").next(), "/orders?page=2");
        for off_site in ["//evil.example", "https://evil.example", "/\\evil.example"] {
            assert_eq!(state(off_site).next(), "/", "{off_site}");
        }
    }

    #[test]
    fn the_challenge_is_s256_of_the_verifier() {
        // RFC 7636, appendix B.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_and_states_are_random_and_long_enough() {
        let a = random(48).unwrap();
        assert_eq!(a.len(), 64);
        assert!((43..=128).contains(&a.len()));
        assert_ne!(a, random(48).unwrap());
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn a_callback_with_a_repeated_parameter_is_refused() {
        assert!(Callback::parse("code=a&state=b").is_ok());
        for query in ["code=a&code=b&state=s", "state=a&state=b&code=c"] {
            assert!(
                matches!(Callback::parse(query), Err(SessionError::InvalidLoginState)),
                "{query}"
            );
        }
        let long = format!("code={}", "a".repeat(MAX_QUERY));
        assert!(Callback::parse(&long).is_err());
        let parsed =
            Callback::parse("error=access_denied&error_description=User%20said%20no&x=1").unwrap();
        assert_eq!(parsed.error.as_deref(), Some("access_denied"));
        assert_eq!(parsed.error_description.as_deref(), Some("User said no"));
    }

    #[test]
    fn provider_and_lang_are_checked() {
        assert!(plausible_provider("Google"));
        assert!(plausible_provider("My SAML IdP"));
        assert!(!plausible_provider(""));
        assert!(!plausible_provider("a\nb"));
        assert!(plausible_lang("fr"));
        assert!(plausible_lang("pt-BR"));
        assert!(!plausible_lang("f"));
        assert!(!plausible_lang("fr&x=1"));
    }
}
