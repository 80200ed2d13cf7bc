//! The calls this crate makes to Cognito's API, and what their failures mean to a session.
//!
//! Every call is bounded by a timeout of our own: the SDK's defaults wait for a response
//! indefinitely, and a request stuck behind a hung refresh is worse than a quick 503.
//!
//! Errors never carry Cognito's messages, only the error code: some (moto's, at least) quote
//! the token or the secret hash they refused, and these errors end up in logs.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, AuthenticationResultType, ChallengeNameType,
};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::srp::{self, SrpClient};
use crate::Secret;
use crate::cognito::CognitoSettings;
use crate::store::BoxError;

/// Tokens Cognito handed out.
pub(crate) struct Tokens {
    pub(crate) access: Secret,
    /// A refresh token: always at log-in; after a refresh only when the pool rotates them.
    pub(crate) refresh: Option<Secret>,
    /// The ID token, when Cognito sent one (it does with every log-in and refresh).
    pub(crate) id: Option<Secret>,
}

/// What Cognito answered a log-in step: tokens, or another challenge.
pub(crate) enum Step {
    Tokens(Tokens),
    Challenge(RawChallenge),
}

/// A challenge as Cognito asked it.
pub(crate) struct RawChallenge {
    pub(crate) name: ChallengeNameType,
    /// Cognito's challenge session: never logged.
    pub(crate) session: Secret,
    pub(crate) parameters: HashMap<String, String>,
}

/// How a call failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Cognito said no to these credentials or this refresh token
    /// (`NotAuthorizedException`, and `UserNotFoundException` at log-in).
    Refused,
    /// Cognito refused a log-in step for a reason the user (or the configuration) can fix.
    Denied(Denial),
    /// Cognito could not be asked, or answered with anything else (throttling, a 5xx, a
    /// configuration problem): no verdict on the credentials.
    Unavailable(BoxError),
}

/// Why Cognito refused a log-in step.
#[derive(Debug)]
pub(crate) enum Denial {
    /// `CodeMismatchException`, `ExpiredCodeException`, `EnableSoftwareTokenMFAException`.
    InvalidCode,
    /// `NotAuthorizedException` or `UserNotFoundException` while answering a challenge:
    /// Cognito's challenge session is over.
    SessionExpired,
    /// `InvalidPasswordException`, with Cognito's message.
    PasswordPolicy(String),
    /// `InvalidParameterException` while answering a challenge, with Cognito's message.
    InvalidParameter(String),
    /// `InvalidParameterException` "... flow not enabled for this client" at log-in (or
    /// another wording naming the flow as not enabled).
    FlowNotEnabled,
    /// `PasswordResetRequiredException` at log-in.
    PasswordResetRequired,
    /// `UserNotConfirmedException` at log-in.
    UserNotConfirmed,
    /// `ResourceNotFoundException` from `DescribeUserPoolClient`: no such app client.
    UnknownClient,
    /// `AccessDeniedException` (or a refusal of the AWS credentials) from an operation that
    /// needs them: no verdict, and not an outage either.
    NoPermission(String),
}

/// Sorts an error code (and its message) into a verdict; `None` leaves it unavailable.
type Sort = fn(&str, Option<&str>) -> Option<CallError>;

/// Log-in: wrong credentials, unknown user, or a flow the client doesn't allow.
fn login_errors(code: &str, message: Option<&str>) -> Option<CallError> {
    match code {
        "NotAuthorizedException" | "UserNotFoundException" => Some(CallError::Refused),
        "PasswordResetRequiredException" => Some(CallError::Denied(Denial::PasswordResetRequired)),
        "UserNotConfirmedException" => Some(CallError::Denied(Denial::UserNotConfirmed)),
        // "USER_PASSWORD_AUTH flow not enabled for this client", and SRP's likewise.
        "InvalidParameterException"
            if message.is_some_and(|m| {
                let m = m.to_ascii_lowercase();
                m.contains("not enabled") && (m.contains("flow") || m.contains("_auth"))
            }) =>
        {
            Some(CallError::Denied(Denial::FlowNotEnabled))
        }
        _ => None,
    }
}

/// Refresh: the refresh token, or the user behind it, is over (revoked, signed out, user
/// disabled, deleted, or made to reset their password).
fn refresh_errors(code: &str, _message: Option<&str>) -> Option<CallError> {
    matches!(
        code,
        "NotAuthorizedException" | "UserNotFoundException" | "PasswordResetRequiredException"
    )
    .then_some(CallError::Refused)
}

/// Answers to challenges, and the software-token calls of `MFA_SETUP`.
fn challenge_errors(code: &str, message: Option<&str>) -> Option<CallError> {
    let denial = match code {
        "CodeMismatchException" | "ExpiredCodeException" | "EnableSoftwareTokenMFAException" => {
            Denial::InvalidCode
        }
        "NotAuthorizedException" | "UserNotFoundException" => Denial::SessionExpired,
        "InvalidPasswordException" => Denial::PasswordPolicy(
            user_message(message)
                .unwrap_or_else(|| "The password does not conform to the password policy.".into()),
        ),
        "InvalidParameterException" => Denial::InvalidParameter(
            user_message(message).unwrap_or_else(|| "Invalid answer.".into()),
        ),
        _ => return None,
    };
    Some(CallError::Denied(denial))
}

/// `DescribeUserPoolClient`: no such client, or credentials that may not ask.
fn describe_errors(code: &str, _message: Option<&str>) -> Option<CallError> {
    let denial = match code {
        "ResourceNotFoundException" => Denial::UnknownClient,
        // IAM's refusal, and the signature checks' (no, wrong or expired credentials).
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "MissingAuthenticationTokenException"
        | "ExpiredTokenException"
        | "NotAuthorizedException" => Denial::NoPermission(code.to_owned()),
        _ => return None,
    };
    Some(CallError::Denied(denial))
}

fn no_verdicts(_code: &str, _message: Option<&str>) -> Option<CallError> {
    None
}

/// A message of Cognito's fit to show a user: one line, bounded. These messages (password
/// policy, missing attributes) name rules and attributes, never the password or a token.
fn user_message(message: Option<&str>) -> Option<String> {
    let message: String = message?
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    let message = message.trim();
    (!message.is_empty()).then(|| message.to_owned())
}

/// A failed call, as logged and as carried by [`AuthError::Unavailable`](crate::AuthError).
#[derive(Debug, thiserror::Error)]
#[error("Cognito {operation}: {what}")]
pub(crate) struct IdpError {
    operation: &'static str,
    what: String,
    #[source]
    source: Option<BoxError>,
}

impl IdpError {
    pub(crate) fn new(operation: &'static str, what: impl Into<String>) -> Self {
        Self {
            operation,
            what: what.into(),
            source: None,
        }
    }
}

/// The app client, as this crate uses it.
pub(crate) struct Idp {
    client: Client,
    pool_id: String,
    client_id: String,
    secret: Option<Secret>,
    timeout: Duration,
    rotation: bool,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp")
            .field("pool_id", &self.pool_id)
            .field("client_id", &self.client_id)
            .field("secret", &self.secret)
            .field("timeout", &self.timeout)
            .field("rotation", &self.rotation)
            .finish_non_exhaustive()
    }
}

/// `SECRET_HASH`: base64(HMAC-SHA256(key = client secret, message = username + client id)).
pub(crate) fn secret_hash(secret: &Secret, username: &str, client_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(username.as_bytes());
    mac.update(client_id.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl Idp {
    pub(crate) fn new(
        client: Client,
        settings: &CognitoSettings,
        timeout: Duration,
        rotation: bool,
    ) -> Self {
        Self {
            client,
            pool_id: settings.user_pool_id.clone(),
            client_id: settings.client_id.clone(),
            secret: settings.client_secret.clone(),
            timeout,
            rotation,
        }
    }

    /// Runs a call under our timeout and sorts its failure.
    async fn call<T, E, R>(
        &self,
        operation: &'static str,
        sort: Sort,
        call: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<T, CallError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let call = tokio::time::timeout(self.timeout, call);
        let Ok(result) = crate::observe::cognito_call(operation, call).await else {
            let what = format!("no answer within {:?}", self.timeout);
            return Err(CallError::Unavailable(Box::new(IdpError::new(
                operation, what,
            ))));
        };
        result.map_err(|error| {
            let code = error.code().map(str::to_owned);
            if let Some(verdict) = code.as_deref().and_then(|code| sort(code, error.message())) {
                return verdict;
            }
            let (what, source): (String, Option<BoxError>) = match (code, error) {
                (Some(code), _) => (code, None),
                (None, SdkError::ServiceError(_)) => ("error without a code".into(), None),
                (None, SdkError::ResponseError(_)) => ("unreadable response".into(), None),
                (None, other) => ("unreachable".into(), Some(Box::new(other))),
            };
            CallError::Unavailable(Box::new(IdpError {
                operation,
                what,
                source,
            }))
        })
    }

    fn hash_for(&self, username: &str) -> Option<String> {
        self.secret
            .as_ref()
            .map(|secret| secret_hash(secret, username, &self.client_id))
    }

    /// `InitiateAuth` with `USER_PASSWORD_AUTH`: tokens, or the challenge Cognito asks.
    pub(crate) async fn password_login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Step, CallError> {
        let mut request = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password);
        if let Some(hash) = self.hash_for(username) {
            request = request.auth_parameters("SECRET_HASH", hash);
        }
        let output = self
            .call("InitiateAuth", login_errors, request.send())
            .await?;
        step(
            "InitiateAuth",
            output.challenge_name(),
            output.session(),
            output.challenge_parameters(),
            output.authentication_result(),
        )
    }

    /// `InitiateAuth` with `USER_SRP_AUTH`, and the `PASSWORD_VERIFIER` challenge answered
    /// here with the password's SRP proof: tokens, or the next challenge. Also returns the
    /// name Cognito knows the user by (`USER_ID_FOR_SRP`), what later answers are sent for.
    pub(crate) async fn srp_login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(Step, String), CallError> {
        let unavailable =
            |what: String| CallError::Unavailable(Box::new(IdpError::new("USER_SRP_AUTH", what)));
        let srp = SrpClient::new(&self.pool_id).map_err(|e| unavailable(e.to_string()))?;
        let mut request = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserSrpAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("SRP_A", srp.srp_a());
        if let Some(hash) = self.hash_for(username) {
            request = request.auth_parameters("SECRET_HASH", hash);
        }
        let output = self
            .call("InitiateAuth", login_errors, request.send())
            .await?;
        if output.challenge_name() != Some(&ChallengeNameType::PasswordVerifier) {
            let step = step(
                "InitiateAuth",
                output.challenge_name(),
                output.session(),
                output.challenge_parameters(),
                output.authentication_result(),
            )?;
            return Ok((step, username.to_owned()));
        }
        let parameters = output.challenge_parameters().cloned().unwrap_or_default();
        let parameter = |name: &'static str| {
            parameters
                .get(name)
                .map(String::as_str)
                .ok_or_else(|| unavailable(format!("PASSWORD_VERIFIER without {name}")))
        };
        let user_id = parameter("USER_ID_FOR_SRP")?;
        let secret_block = parameter("SECRET_BLOCK")?;
        let timestamp = srp::timestamp(SystemTime::now());
        let signature = srp
            .password_claim(
                user_id,
                password,
                parameter("SALT")?,
                parameter("SRP_B")?,
                secret_block,
                &timestamp,
            )
            .map_err(|e| unavailable(e.to_string()))?;
        let mut request = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(ChallengeNameType::PasswordVerifier)
            .set_session(output.session().map(str::to_owned))
            .challenge_responses("USERNAME", user_id)
            .challenge_responses("TIMESTAMP", timestamp)
            .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", secret_block)
            .challenge_responses("PASSWORD_CLAIM_SIGNATURE", signature);
        if let Some(hash) = self.hash_for(user_id) {
            request = request.challenge_responses("SECRET_HASH", hash);
        }
        // A wrong password is refused here, as `NotAuthorizedException`.
        let answer = self
            .call("RespondToAuthChallenge", login_errors, request.send())
            .await?;
        let step = step(
            "RespondToAuthChallenge",
            answer.challenge_name(),
            answer.session(),
            answer.challenge_parameters(),
            answer.authentication_result(),
        )?;
        Ok((step, user_id.to_owned()))
    }

    /// `RespondToAuthChallenge`: `responses` plus `USERNAME` (Cognito's name for the user,
    /// as its challenge named it) and `SECRET_HASH` when the client has a secret.
    pub(crate) async fn respond(
        &self,
        challenge: ChallengeNameType,
        session: &Secret,
        username: &str,
        responses: Vec<(String, String)>,
    ) -> Result<Step, CallError> {
        let mut request = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(challenge)
            .session(session.expose())
            .challenge_responses("USERNAME", username);
        if let Some(hash) = self.hash_for(username) {
            request = request.challenge_responses("SECRET_HASH", hash);
        }
        for (name, value) in responses {
            request = request.challenge_responses(name, value);
        }
        let output = self
            .call("RespondToAuthChallenge", challenge_errors, request.send())
            .await?;
        step(
            "RespondToAuthChallenge",
            output.challenge_name(),
            output.session(),
            output.challenge_parameters(),
            output.authentication_result(),
        )
    }

    /// `AssociateSoftwareToken` during `MFA_SETUP`: the authenticator app's secret, and the
    /// session to go on with.
    pub(crate) async fn associate_software_token(
        &self,
        session: &Secret,
    ) -> Result<(Secret, Secret), CallError> {
        let request = self
            .client
            .associate_software_token()
            .session(session.expose());
        let output = self
            .call("AssociateSoftwareToken", challenge_errors, request.send())
            .await?;
        let missing = |what: &str| {
            CallError::Unavailable(Box::new(IdpError::new(
                "AssociateSoftwareToken",
                format!("answer without {what}"),
            )))
        };
        let secret = output.secret_code().ok_or_else(|| missing("SecretCode"))?;
        let next = output.session().unwrap_or(session.expose());
        Ok((Secret::new(secret), Secret::new(next)))
    }

    /// `VerifySoftwareToken` during `MFA_SETUP`: the session to answer `MFA_SETUP` with.
    pub(crate) async fn verify_software_token(
        &self,
        session: &Secret,
        code: &str,
    ) -> Result<Secret, CallError> {
        let request = self
            .client
            .verify_software_token()
            .session(session.expose())
            .user_code(code);
        let output = self
            .call("VerifySoftwareToken", challenge_errors, request.send())
            .await?;
        Ok(Secret::new(output.session().unwrap_or(session.expose())))
    }

    /// New tokens for a refresh token. `username` is the `username` claim of the session's
    /// tokens: what `SECRET_HASH` is computed over.
    pub(crate) async fn refresh(
        &self,
        refresh_token: &Secret,
        username: &str,
    ) -> Result<Tokens, CallError> {
        if self.rotation {
            let mut request = self
                .client
                .get_tokens_from_refresh_token()
                .client_id(&self.client_id)
                .refresh_token(refresh_token.expose());
            if let Some(secret) = &self.secret {
                request = request.client_secret(secret.expose());
            }
            let output = self
                .call("GetTokensFromRefreshToken", refresh_errors, request.send())
                .await?;
            return tokens(
                "GetTokensFromRefreshToken",
                output.authentication_result(),
                false,
            );
        }
        let mut request = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token.expose());
        if let Some(hash) = self.hash_for(username) {
            request = request.auth_parameters("SECRET_HASH", hash);
        }
        let output = self
            .call("InitiateAuth", refresh_errors, request.send())
            .await?;
        tokens("InitiateAuth", output.authentication_result(), false)
    }

    /// `DescribeUserPoolClient`: the app client's `ExplicitAuthFlows` (as Cognito spells
    /// them). Needs AWS credentials allowed to call it, unlike log-in and refresh.
    pub(crate) async fn explicit_auth_flows(&self) -> Result<Vec<String>, CallError> {
        let request = self
            .client
            .describe_user_pool_client()
            .user_pool_id(&self.pool_id)
            .client_id(&self.client_id);
        let output = self
            .call("DescribeUserPoolClient", describe_errors, request.send())
            .await?;
        let client = output.user_pool_client().ok_or_else(|| {
            CallError::Unavailable(Box::new(IdpError::new(
                "DescribeUserPoolClient",
                "answer without UserPoolClient",
            )))
        })?;
        Ok(client
            .explicit_auth_flows()
            .iter()
            .map(|flow| flow.as_str().to_owned())
            .collect())
    }

    /// `RevokeToken`: ends a refresh token and the tokens issued from it.
    pub(crate) async fn revoke(&self, refresh_token: &Secret) -> Result<(), CallError> {
        let mut request = self
            .client
            .revoke_token()
            .client_id(&self.client_id)
            .token(refresh_token.expose());
        if let Some(secret) = &self.secret {
            request = request.client_secret(secret.expose());
        }
        self.call("RevokeToken", no_verdicts, request.send())
            .await
            .map(drop)
    }

    /// `AdminUserGlobalSignOut`: ends every refresh token of the user. Needs AWS
    /// credentials allowed to call it.
    pub(crate) async fn global_sign_out(&self, username: &str) -> Result<(), CallError> {
        let request = self
            .client
            .admin_user_global_sign_out()
            .user_pool_id(&self.pool_id)
            .username(username);
        self.call("AdminUserGlobalSignOut", no_verdicts, request.send())
            .await
            .map(drop)
    }
}

/// A log-in step's answer: a challenge when Cognito names one, else the tokens (a refresh
/// token included: every log-in gets one).
fn step(
    operation: &'static str,
    challenge: Option<&ChallengeNameType>,
    session: Option<&str>,
    parameters: Option<&HashMap<String, String>>,
    result: Option<&AuthenticationResultType>,
) -> Result<Step, CallError> {
    let Some(name) = challenge else {
        return tokens(operation, result, true).map(Step::Tokens);
    };
    let session = session.ok_or_else(|| {
        CallError::Unavailable(Box::new(IdpError::new(
            operation,
            format!("asks for {} without a session", name.as_str()),
        )))
    })?;
    Ok(Step::Challenge(RawChallenge {
        name: name.clone(),
        session: Secret::new(session),
        parameters: parameters.cloned().unwrap_or_default(),
    }))
}

fn tokens(
    operation: &'static str,
    result: Option<&AuthenticationResultType>,
    refresh_required: bool,
) -> Result<Tokens, CallError> {
    let missing = |what: &str| {
        CallError::Unavailable(Box::new(IdpError::new(
            operation,
            format!("answer without {what}"),
        )))
    };
    let result = result.ok_or_else(|| missing("AuthenticationResult"))?;
    let access = result
        .access_token()
        .ok_or_else(|| missing("AccessToken"))?;
    let refresh = result.refresh_token().map(Secret::new);
    if refresh_required && refresh.is_none() {
        return Err(missing("RefreshToken"));
    }
    Ok(Tokens {
        access: Secret::new(access),
        refresh,
        id: result.id_token().map(Secret::new),
    })
}

#[cfg(test)]
mod tests;
