//! The managed login domain's OAuth 2.0 endpoints: `/oauth2/authorize` (a URL the browser is
//! sent to), `/oauth2/token` (codes and refresh tokens), `/oauth2/revoke` and `/logout`.
//!
//! Like the API calls in [`idp`](super::idp), every call is bounded by the call timeout, and
//! errors carry the OAuth error code only, never a body (which may quote a token).

use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::idp::{CallError, IdpError, Tokens};
use crate::Secret;
use crate::cognito::ManagedLoginSettings;

/// The longest token endpoint answer read (Cognito's are a few kilobytes).
const MAX_ANSWER: usize = 64 * 1024;

/// What an authorize request asks for, besides the client and its URLs.
pub(super) struct Authorize<'a> {
    pub(super) state: &'a str,
    pub(super) code_challenge: &'a str,
    pub(super) nonce: Option<&'a str>,
    pub(super) identity_provider: Option<&'a str>,
    pub(super) lang: Option<&'a str>,
}

/// The app client at its pool's domain.
pub(super) struct Domain {
    http: reqwest::Client,
    /// The domain, parsed once.
    base: Url,
    settings: ManagedLoginSettings,
    client_id: String,
    secret: Option<Secret>,
    timeout: Duration,
}

impl std::fmt::Debug for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Domain")
            .field("domain", &self.settings.domain())
            .field("client_id", &self.client_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The token endpoint's answer; `expires_in` and `token_type` are not needed, the access
/// token's own `exp` is what counts.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// An OAuth error answer (RFC 6749, section 5.2).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
}

impl Domain {
    pub(super) fn new(
        settings: ManagedLoginSettings,
        client_id: &str,
        secret: Option<Secret>,
        http: reqwest::Client,
        timeout: Duration,
    ) -> Result<Self, String> {
        let base = Url::parse(settings.domain())
            .map_err(|e| format!("managed login domain {:?}: {e}", settings.domain()))?;
        Ok(Self {
            base,
            http,
            settings,
            client_id: client_id.to_owned(),
            secret,
            timeout,
        })
    }

    pub(super) fn settings(&self) -> &ManagedLoginSettings {
        &self.settings
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }

    /// Where the browser goes to log in.
    pub(super) fn authorize_url(&self, request: &Authorize<'_>) -> String {
        let mut url = self.url("/oauth2/authorize");
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", self.settings.redirect_uri())
                .append_pair("scope", &self.settings.scopes().join(" "))
                .append_pair("state", request.state)
                .append_pair("code_challenge_method", "S256")
                .append_pair("code_challenge", request.code_challenge);
            if let Some(nonce) = request.nonce {
                query.append_pair("nonce", nonce);
            }
            if let Some(provider) = request.identity_provider {
                query.append_pair("identity_provider", provider);
            }
            if let Some(lang) = request.lang {
                query.append_pair("lang", lang);
            }
        }
        url.into()
    }

    /// Where the browser goes to end its session at the domain, and from there back to
    /// the app.
    pub(super) fn logout_url(&self) -> String {
        let mut url = self.url("/logout");
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("logout_uri", &self.settings.logout_uri());
        url.into()
    }

    /// Tokens for a code. [`CallError::Refused`]: the endpoint refused the code.
    pub(super) async fn exchange(&self, code: &str, verifier: &str) -> Result<Tokens, CallError> {
        let answer = self
            .post(
                "oauth2/token",
                "/oauth2/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", self.settings.redirect_uri()),
                    ("code_verifier", verifier),
                ],
            )
            .await?;
        let tokens = parse_tokens(&answer)?;
        if tokens.refresh.is_none() {
            return Err(unavailable("oauth2/token", "answer without refresh_token"));
        }
        Ok(tokens)
    }

    /// New tokens for a refresh token. [`CallError::Refused`]: the refresh token is over.
    pub(super) async fn refresh(&self, refresh_token: &Secret) -> Result<Tokens, CallError> {
        let answer = self
            .post(
                "oauth2/token",
                "/oauth2/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.expose()),
                ],
            )
            .await?;
        parse_tokens(&answer)
    }

    /// Ends a refresh token and the tokens issued from it.
    pub(super) async fn revoke(&self, refresh_token: &Secret) -> Result<(), CallError> {
        self.post(
            "oauth2/revoke",
            "/oauth2/revoke",
            &[("token", refresh_token.expose())],
        )
        .await
        .map(drop)
    }

    /// A form POST with the client's authentication: HTTP Basic with the secret, or
    /// `client_id` in the form for a client without one.
    async fn post(
        &self,
        operation: &'static str,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<Vec<u8>, CallError> {
        // Built before any await: the serializer is not `Send`.
        let body = {
            let mut body = form_urlencoded::Serializer::new(String::new());
            body.extend_pairs(form);
            if self.secret.is_none() {
                body.append_pair("client_id", &self.client_id);
            }
            body.finish()
        };
        let mut request = self
            .http
            .post(self.url(path))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(secret) = &self.secret {
            request = request.basic_auth(&self.client_id, Some(secret.expose()));
        }
        // The whole exchange is bounded, the answer's body included, and traced as a
        // Cognito call.
        let exchange = async {
            let mut response = request.body(body).send().await?;
            let status = response.status();
            if response
                .content_length()
                .is_some_and(|length| length > MAX_ANSWER as u64)
            {
                return Ok((status, None));
            }
            // A chunked answer has no length to check first: read no more than the bound.
            let mut answer = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if answer.len() + chunk.len() > MAX_ANSWER {
                    return Ok((status, None));
                }
                answer.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>((status, Some(answer)))
        };
        let exchange = tokio::time::timeout(self.timeout, exchange);
        let (status, answer) = match crate::observe::cognito_call(operation, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => return Err(unavailable(operation, "unreachable")),
            Err(_) => {
                let what = format!("no answer within {:?}", self.timeout);
                return Err(unavailable(operation, &what));
            }
        };
        let Some(answer) = answer else {
            return Err(unavailable(operation, "answer too long"));
        };
        if status.is_success() {
            return Ok(answer);
        }
        let error = serde_json::from_slice::<ErrorAnswer>(&answer)
            .ok()
            .map(|answer| error_code(&answer.error));
        match (status, error.as_deref()) {
            // The grant (code or refresh token) is used, expired, revoked, or was issued
            // for another client, redirect URI or PKCE verifier.
            (StatusCode::BAD_REQUEST, Some("invalid_grant")) => Err(CallError::Refused),
            (_, Some(code)) => Err(unavailable(operation, code)),
            (status, None) => Err(unavailable(operation, &format!("HTTP {}", status.as_u16()))),
        }
    }
}

fn parse_tokens(answer: &[u8]) -> Result<Tokens, CallError> {
    let answer: TokenAnswer = serde_json::from_slice(answer)
        .map_err(|_| unavailable("oauth2/token", "unreadable answer"))?;
    Ok(Tokens {
        access: Secret::new(answer.access_token),
        refresh: answer.refresh_token.map(Secret::new),
        id: answer.id_token.map(Secret::new),
    })
}

fn unavailable(operation: &'static str, what: &str) -> CallError {
    CallError::Unavailable(Box::new(IdpError::new(operation, what.to_owned())))
}

/// An OAuth error code as it may be shown and logged: its defined characters only
/// (RFC 6749 allows printable ASCII but `"` and `\`), bounded.
pub(super) fn error_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\\'))
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(secret: Option<&str>) -> Domain {
        let settings = ManagedLoginSettings::new(
            "https://app.auth.us-east-1.amazoncognito.com",
            "https://app.example/auth/callback?x=1",
        );
        Domain::new(
            settings,
            "client-1",
            secret.map(Secret::new),
            reqwest::Client::new(),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    fn query(url: &str) -> Vec<(String, String)> {
        Url::parse(url)
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn the_authorize_url_asks_for_a_code_with_pkce() {
        let url = domain(None).authorize_url(&Authorize {
            state: "st",
            code_challenge: "ch",
            nonce: Some("no"),
            identity_provider: Some("Google"),
            lang: Some("fr"),
        });
        assert!(url.starts_with("https://app.auth.us-east-1.amazoncognito.com/oauth2/authorize?"));
        let pairs = query(&url);
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("client_id"), Some("client-1"));
        // Encoded, so the callback's own query survives.
        assert_eq!(
            get("redirect_uri"),
            Some("https://app.example/auth/callback?x=1")
        );
        assert_eq!(get("scope"), Some("openid email"));
        assert_eq!(get("state"), Some("st"));
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert_eq!(get("code_challenge"), Some("ch"));
        assert_eq!(get("nonce"), Some("no"));
        assert_eq!(get("identity_provider"), Some("Google"));
        assert_eq!(get("lang"), Some("fr"));

        let plain = domain(None).authorize_url(&Authorize {
            state: "st",
            code_challenge: "ch",
            nonce: None,
            identity_provider: None,
            lang: None,
        });
        let names: Vec<String> = query(&plain).into_iter().map(|(k, _)| k).collect();
        assert!(
            !names
                .iter()
                .any(|n| n == "nonce" || n == "identity_provider" || n == "lang")
        );
    }

    #[test]
    fn the_logout_url_names_the_client_and_where_to_return() {
        let url = domain(None).logout_url();
        assert!(url.starts_with("https://app.auth.us-east-1.amazoncognito.com/logout?"));
        assert_eq!(
            query(&url),
            [
                ("client_id".to_owned(), "client-1".to_owned()),
                ("logout_uri".to_owned(), "https://app.example/".to_owned()),
            ]
        );
    }

    #[test]
    fn error_codes_are_cleaned() {
        assert_eq!(error_code("invalid_grant"), "invalid_grant");
        assert_eq!(error_code("a\"b\\c\nd e"), "abcde");
        assert_eq!(error_code(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn debug_hides_the_secret() {
        let debug = format!("{:?}", domain(Some("top-secret")));
        assert!(debug.contains("client-1"), "{debug}");
        assert!(!debug.contains("top-secret"), "{debug}");
    }

    /// A server on 127.0.0.1 that answers every request with `chunks` chunks of 16 KiB,
    /// chunked, with no `Content-Length`; its base URL.
    async fn chunked_server(chunks: usize) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    continue;
                }
                let chunk = format!("4000\r\n{}\r\n", "a".repeat(0x4000));
                for _ in 0..chunks {
                    if socket.write_all(chunk.as_bytes()).await.is_err() {
                        break;
                    }
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            }
        });
        url
    }

    #[tokio::test]
    async fn a_chunked_answer_is_read_no_further_than_the_bound() {
        let url = chunked_server(64).await;
        let settings = ManagedLoginSettings::new(&url, "http://127.0.0.1/auth/callback");
        let domain = Domain::new(
            settings,
            "client-1",
            None,
            reqwest::Client::new(),
            Duration::from_secs(5),
        )
        .unwrap();
        match domain.revoke(&Secret::new("refresh")).await {
            Err(CallError::Unavailable(e)) => {
                assert!(e.to_string().contains("answer too long"), "{e}")
            }
            Err(_) => panic!("unavailable expected, got another error"),
            Ok(()) => panic!("a 1 MiB answer was taken"),
        }
    }
}
