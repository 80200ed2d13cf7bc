//! Log-in challenges: what Cognito asks before it hands out tokens (a new password, an MFA
//! or one-time code, a choice of MFA, setting up an authenticator app), and the sealed
//! challenge session the client echoes back with its answer.
//!
//! Cognito's own challenge session is not handed out as it is: it goes to the client inside
//! an envelope signed (HMAC-SHA256) with the [challenge key](super::CognitoSettings::with_challenge_key),
//! which binds it to the username that logged in and to the app client, and carries an
//! expiry. An envelope that was altered, has expired, or comes back with another username is
//! refused as [`SessionError::LogInExpired`] before Cognito is asked.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use aws_sdk_cognitoidentityprovider::types::ChallengeNameType;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::Cognito;
use super::idp::{CallError, Denial, IdpError, RawChallenge, Step};
use super::settings::ChallengeKey;
use super::start::Source;
use super::{AuthFlow, CognitoSettings};
use crate::check::Check;
use crate::{ConfigError, Secret, SessionError, SessionRecord};

/// A challenge Cognito asks during a log-in, by its name in Cognito's API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChallengeName {
    /// `NEW_PASSWORD_REQUIRED`: the user has a temporary password (made by an
    /// administrator) and must choose one; answer with [`ChallengeAnswer::NewPassword`],
    /// giving the attributes [`Challenge::required_attributes`] names.
    NewPasswordRequired,
    /// `SOFTWARE_TOKEN_MFA`: the code of the user's authenticator app;
    /// answer with [`ChallengeAnswer::Code`].
    SoftwareTokenMfa,
    /// `SMS_MFA`: the code Cognito sent by SMS (to `CODE_DELIVERY_DESTINATION`);
    /// answer with [`ChallengeAnswer::Code`].
    SmsMfa,
    /// `EMAIL_OTP`: the code Cognito sent by email (to `CODE_DELIVERY_DESTINATION`);
    /// answer with [`ChallengeAnswer::Code`].
    EmailOtp,
    /// `SELECT_MFA_TYPE`: the user picks one of the MFA kinds in `MFAS_CAN_CHOOSE`;
    /// answer with [`ChallengeAnswer::MfaType`].
    SelectMfaType,
    /// `MFA_SETUP`: the pool requires MFA and the user has none yet. This crate has already
    /// associated an authenticator app (`AssociateSoftwareToken`): show the user
    /// [`Challenge::secret_code`] (as text, or as an `otpauth://` QR code), and answer with
    /// [`ChallengeAnswer::Code`], the app's first code, which is verified
    /// (`VerifySoftwareToken`) before the log-in goes on. (A pool that offers only email or
    /// SMS for the set-up is reported as [`SessionError::Unavailable`]: set those up
    /// outside the log-in.)
    MfaSetup,
}

impl ChallengeName {
    /// The name in Cognito's API, e.g. `"NEW_PASSWORD_REQUIRED"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NewPasswordRequired => "NEW_PASSWORD_REQUIRED",
            Self::SoftwareTokenMfa => "SOFTWARE_TOKEN_MFA",
            Self::SmsMfa => "SMS_MFA",
            Self::EmailOtp => "EMAIL_OTP",
            Self::SelectMfaType => "SELECT_MFA_TYPE",
            Self::MfaSetup => "MFA_SETUP",
        }
    }

    /// The challenge named `name` in Cognito's API, if this crate answers it.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::NewPasswordRequired,
            Self::SoftwareTokenMfa,
            Self::SmsMfa,
            Self::EmailOtp,
            Self::SelectMfaType,
            Self::MfaSetup,
        ]
        .into_iter()
        .find(|c| c.as_str() == name)
    }
}

impl fmt::Display for ChallengeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A log-in that needs one more answer from the user before it becomes a session.
///
/// Send the client [`name`](Self::name), [`session`](Self::session) and what it needs of
/// [`parameters`](Self::parameters); it answers with the same username, the session, and
/// its [`ChallengeAnswer`], which go to
/// [`SessionManager::answer_challenge`](crate::SessionManager::answer_challenge).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Challenge {
    /// What Cognito asks.
    pub name: ChallengeName,
    /// The sealed challenge session to hand the client and get back with the answer.
    /// Opaque to the client; valid for the username that logged in only, until the
    /// [challenge lifetime](super::CognitoSettings::with_challenge_lifetime) is over.
    pub session: Secret,
    /// Cognito's challenge parameters for the user, e.g. `CODE_DELIVERY_DESTINATION`
    /// (`+*******1234`), `CODE_DELIVERY_DELIVERY_MEDIUM`, `MFAS_CAN_CHOOSE` (a JSON array
    /// as a string), `requiredAttributes` and `userAttributes` (JSON as strings).
    pub parameters: BTreeMap<String, String>,
    /// For [`ChallengeName::MfaSetup`]: the authenticator app's secret, to show the user.
    pub secret_code: Option<Secret>,
}

impl Challenge {
    /// For [`ChallengeName::NewPasswordRequired`]: the attributes the user must give with
    /// the new password (e.g. `["given_name"]`), from `requiredAttributes`.
    pub fn required_attributes(&self) -> Vec<String> {
        self.parameters
            .get("requiredAttributes")
            .and_then(|json| serde_json::from_str::<Vec<String>>(json).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|name| {
                name.strip_prefix("userAttributes.")
                    .map_or(name.clone(), str::to_owned)
            })
            .collect()
    }
}

/// The user's answer to a [`Challenge`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ChallengeAnswer {
    /// For [`ChallengeName::NewPasswordRequired`]: the new password, and the attributes
    /// [`Challenge::required_attributes`] named (by name, without `userAttributes.`).
    NewPassword {
        /// The password the user chose.
        password: Secret,
        /// Required attributes, e.g. `given_name` → `Alice`.
        attributes: BTreeMap<String, String>,
    },
    /// For the code challenges ([`SoftwareTokenMfa`](ChallengeName::SoftwareTokenMfa),
    /// [`SmsMfa`](ChallengeName::SmsMfa), [`EmailOtp`](ChallengeName::EmailOtp)) and the
    /// verification code of [`MfaSetup`](ChallengeName::MfaSetup).
    Code(Secret),
    /// For [`ChallengeName::SelectMfaType`]: the MFA kind the user picked
    /// ([`SmsMfa`](ChallengeName::SmsMfa), [`SoftwareTokenMfa`](ChallengeName::SoftwareTokenMfa)
    /// or [`EmailOtp`](ChallengeName::EmailOtp)).
    MfaType(ChallengeName),
}

impl ChallengeAnswer {
    /// A new password with no attributes.
    pub fn new_password(password: impl Into<String>) -> Self {
        Self::NewPassword {
            password: Secret::new(password),
            attributes: BTreeMap::new(),
        }
    }

    /// A code.
    pub fn code(code: impl Into<String>) -> Self {
        Self::Code(Secret::new(code))
    }
}

/// How a log-in step ended: a session (its token and record), or another challenge.
pub(crate) enum Outcome {
    Session(Secret, Box<SessionRecord>),
    Challenge(Challenge),
}

/// What the sealed challenge session carries.
#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The challenge's name.
    c: String,
    /// Cognito's challenge session.
    s: String,
    /// The user as Cognito's challenge named them (what `USERNAME` and `SECRET_HASH` take).
    u: String,
    /// Expiry, epoch seconds.
    e: u64,
}

/// The longest sealed session accepted (Cognito's sessions are about a kilobyte).
const MAX_SEALED: usize = 8 * 1024;

/// Seals and opens challenge sessions.
pub(super) struct Sealer {
    key: [u8; 32],
    client_id: String,
    lifetime: u64,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// What the challenge key is derived from, in the order it is looked for.
enum KeySource<'a> {
    /// `with_challenge_key`, `COGNITO_CHALLENGE_KEY`.
    Given(&'a [u8]),
    /// A secret only this service holds: `from_env`'s newest `SESSION_ENCRYPTION_KEY`.
    Service(&'a [u8]),
    /// The app client's secret, which other applications of the client may hold too.
    ClientSecret(&'a [u8]),
    /// Made by this process, known to no other.
    Random([u8; 32]),
}

/// The HKDF label of the challenge key: no other key derived from the same secret (the
/// session table's encryption or MAC keys) can be this one.
const KEY_LABEL: &[u8] = b"cognito-session/v2/challenge-and-login-state-key";

/// The key that seals challenge sessions and log-in states for `pool`, from `material`,
/// under `label`.
fn derive_key(material: &[u8], label: &[u8], pool: &str) -> [u8; 32] {
    let mut key = [0; 32];
    Hkdf::<Sha256>::new(None, material)
        .expand_multi_info(&[label, b"\0", pool.as_bytes()], &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    key
}

impl Sealer {
    /// The sealer for `settings`' client, with its key derived from the first of: the
    /// configured key, the service's own secret, the client secret, a random key. Any but
    /// the first is logged as a warning, as it decides which instances can open what
    /// another one sealed.
    pub(super) fn new(settings: &CognitoSettings) -> Result<Self, ConfigError> {
        let source = match (
            &settings.challenge_key,
            &settings.service_secret,
            &settings.client_secret,
        ) {
            (Some(ChallengeKey(key)), _, _) if key.len() < 32 => {
                return Err(ConfigError::setting(
                    "challenge_key",
                    "must be at least 32 bytes",
                ));
            }
            (Some(ChallengeKey(key)), _, _) => KeySource::Given(key),
            (None, Some(ChallengeKey(secret)), _) => KeySource::Service(secret),
            (None, None, Some(secret)) => KeySource::ClientSecret(secret.expose().as_bytes()),
            (None, None, None) => {
                let mut random = [0; 32];
                getrandom::fill(&mut random).map_err(|e| {
                    ConfigError::setting("challenge_key", format!("no random key from the OS: {e}"))
                })?;
                KeySource::Random(random)
            }
        };
        let material = match &source {
            KeySource::Given(key) | KeySource::Service(key) | KeySource::ClientSecret(key) => key,
            KeySource::Random(key) => key.as_slice(),
        };
        let key = derive_key(material, KEY_LABEL, &settings.user_pool_id);
        let set_it = "every instance that may take a log-in's next step must share it: set \
             COGNITO_CHALLENGE_KEY (CognitoSettings::with_challenge_key) to the same 32 random \
             bytes or more everywhere, e.g. `openssl rand -base64 32`";
        match source {
            KeySource::Given(_) => {}
            KeySource::Service(_) => tracing::warn!(
                "no challenge key: log-in states and challenge sessions are sealed with a key \
                 derived from the newest SESSION_ENCRYPTION_KEY, so a new key refuses log-ins \
                 under way; {set_it}"
            ),
            KeySource::ClientSecret(_) => tracing::warn!(
                "no challenge key: log-in states and challenge sessions are sealed with a key \
                 derived from the client secret, which anything else configured for the app \
                 client holds and could forge them with; {set_it}, or SESSION_ENCRYPTION_KEY"
            ),
            KeySource::Random(_) => tracing::warn!(
                "no challenge key: log-in states and challenge sessions are sealed with a \
                 random key of this process, so a log-in whose next step reaches another \
                 instance is refused; {set_it}"
            ),
        }
        Ok(Self {
            key,
            client_id: settings.client_id.clone(),
            lifetime: settings.challenge_lifetime.as_secs(),
        })
    }

    /// The MAC over `payload`, bound to this client, to what the value is for (`purpose`:
    /// a challenge session is not a log-in state) and to `binding` (the username).
    fn mac(&self, purpose: &str, binding: &str, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        for part in [purpose, self.client_id.as_str(), binding, payload] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// `value` as JSON in base64url, and its MAC: readable by the client, not alterable.
    pub(super) fn seal<T: Serialize>(&self, purpose: &str, binding: &str, value: &T) -> String {
        let json = serde_json::to_vec(value).expect("a sealed value serialises");
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag =
            URL_SAFE_NO_PAD.encode(self.mac(purpose, binding, &payload).finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// The value `sealed` holds, if this sealer sealed it for `purpose` and `binding`.
    pub(super) fn open<T: DeserializeOwned>(
        &self,
        purpose: &str,
        binding: &str,
        sealed: &str,
    ) -> Option<T> {
        if sealed.len() > MAX_SEALED {
            return None;
        }
        let (payload, tag) = sealed.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(purpose, binding, payload)
            .verify_slice(&tag)
            .ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }

    /// The challenge envelope `sealed` holds, if it is ours, for `username`, and not
    /// expired.
    fn open_challenge(&self, username: &str, sealed: &str, now: u64) -> Option<Envelope> {
        let envelope: Envelope = self.open(CHALLENGE, username, sealed)?;
        (now < envelope.e).then_some(envelope)
    }
}

/// The sealer's purpose for challenge sessions.
const CHALLENGE: &str = "challenge";

/// A denial or failure of a log-in step, as the manager reports it.
fn step_error(error: CallError) -> SessionError {
    match error {
        CallError::Refused => SessionError::LogInExpired,
        CallError::Denied(Denial::InvalidCode) => SessionError::InvalidCode,
        CallError::Denied(Denial::SessionExpired) => SessionError::LogInExpired,
        CallError::Denied(Denial::PasswordPolicy(message)) => {
            SessionError::PasswordRefused(message)
        }
        CallError::Denied(Denial::InvalidParameter(message)) => {
            SessionError::InvalidAnswer(message)
        }
        CallError::Denied(Denial::FlowNotEnabled) => SessionError::FlowNotEnabled {
            flag: "ALLOW_USER_PASSWORD_AUTH",
        },
        CallError::Denied(Denial::PasswordResetRequired) => SessionError::PasswordResetRequired,
        CallError::Denied(Denial::UserNotConfirmed) => SessionError::UserNotConfirmed,
        CallError::Denied(denial @ (Denial::UnknownClient | Denial::NoPermission(_))) => {
            // Not answers to a log-in step; reported as they come.
            SessionError::Unavailable(Box::new(IdpError::new("log-in", format!("{denial:?}"))))
        }
        CallError::Unavailable(e) => SessionError::Unavailable(e),
    }
}

/// Codes are short and printable; anything else is not worth asking Cognito about.
fn plausible_code(code: &str) -> bool {
    !code.is_empty() && code.len() <= 64 && !code.chars().any(char::is_control)
}

/// An attribute name as Cognito allows them (`custom:` ones included).
fn plausible_attribute(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-' | '.'))
}

impl Cognito {
    /// Logs `username` in with `password`: a session (stored), or the challenge Cognito asks.
    pub(crate) async fn login(
        &self,
        check: &Check,
        username: &str,
        password: &str,
    ) -> Result<Outcome, SessionError> {
        let flow = self.settings.auth_flow;
        let started = match flow {
            AuthFlow::Srp => self.idp.srp_login(username, password).await,
            AuthFlow::Password => self
                .idp
                .password_login(username, password)
                .await
                .map(|step| (step, username.to_owned())),
        };
        let (step, cognito_user) = match started {
            Ok(started) => started,
            Err(CallError::Refused) => return Err(SessionError::InvalidCredentials),
            Err(CallError::Denied(Denial::FlowNotEnabled)) => {
                return Err(SessionError::FlowNotEnabled {
                    flag: flow.client_flag(),
                });
            }
            Err(CallError::Denied(Denial::PasswordResetRequired)) => {
                return Err(SessionError::PasswordResetRequired);
            }
            Err(CallError::Denied(Denial::UserNotConfirmed)) => {
                return Err(SessionError::UserNotConfirmed);
            }
            Err(CallError::Denied(_)) => {
                // Not an answer a log-in gets; a wrong password is `Refused`.
                return Err(SessionError::InvalidCredentials);
            }
            Err(CallError::Unavailable(e)) => return Err(SessionError::Unavailable(e)),
        };
        self.outcome(check, username, &cognito_user, step).await
    }

    /// Answers the challenge sealed in `session` for `username`.
    pub(crate) async fn answer_challenge(
        &self,
        check: &Check,
        username: &str,
        session: &str,
        answer: ChallengeAnswer,
    ) -> Result<Outcome, SessionError> {
        let envelope = self
            .sealer
            .open_challenge(username, session, check.now())
            .ok_or(SessionError::LogInExpired)?;
        // Only this crate seals envelopes, and only for the challenges it answers.
        let name = ChallengeName::from_name(&envelope.c).ok_or(SessionError::LogInExpired)?;
        let cognito_session = Secret::new(envelope.s);
        let user = envelope.u;
        let wrong = |takes: &str| {
            SessionError::InvalidAnswer(format!("the {name} challenge is answered with {takes}"))
        };
        let code = |answer: &ChallengeAnswer| match answer {
            ChallengeAnswer::Code(code) if plausible_code(code.expose()) => {
                Ok(code.expose().to_owned())
            }
            ChallengeAnswer::Code(_) => Err(SessionError::InvalidCode),
            _ => Err(wrong("a code")),
        };
        let (kind, session, responses) = match name {
            ChallengeName::NewPasswordRequired => {
                let ChallengeAnswer::NewPassword {
                    password,
                    attributes,
                } = answer
                else {
                    return Err(wrong("a new password"));
                };
                if password.expose().is_empty() || password.expose().len() > 256 {
                    return Err(SessionError::PasswordRefused(
                        "The password must have 1 to 256 characters.".into(),
                    ));
                }
                let mut responses = vec![("NEW_PASSWORD".to_owned(), password.expose().to_owned())];
                for (name, value) in attributes {
                    if !plausible_attribute(&name) || value.len() > 2048 {
                        return Err(SessionError::InvalidAnswer(format!(
                            "invalid attribute {:?}",
                            name.chars().take(64).collect::<String>()
                        )));
                    }
                    responses.push((format!("userAttributes.{name}"), value));
                }
                (
                    ChallengeNameType::NewPasswordRequired,
                    cognito_session,
                    responses,
                )
            }
            ChallengeName::SoftwareTokenMfa => (
                ChallengeNameType::SoftwareTokenMfa,
                cognito_session,
                vec![("SOFTWARE_TOKEN_MFA_CODE".to_owned(), code(&answer)?)],
            ),
            ChallengeName::SmsMfa => (
                ChallengeNameType::SmsMfa,
                cognito_session,
                vec![("SMS_MFA_CODE".to_owned(), code(&answer)?)],
            ),
            ChallengeName::EmailOtp => (
                ChallengeNameType::EmailOtp,
                cognito_session,
                vec![("EMAIL_OTP_CODE".to_owned(), code(&answer)?)],
            ),
            ChallengeName::SelectMfaType => {
                let ChallengeAnswer::MfaType(
                    kind @ (ChallengeName::SmsMfa
                    | ChallengeName::SoftwareTokenMfa
                    | ChallengeName::EmailOtp),
                ) = answer
                else {
                    return Err(wrong("SMS_MFA, SOFTWARE_TOKEN_MFA or EMAIL_OTP"));
                };
                (
                    ChallengeNameType::SelectMfaType,
                    cognito_session,
                    vec![("ANSWER".to_owned(), kind.as_str().to_owned())],
                )
            }
            ChallengeName::MfaSetup => {
                let code = code(&answer)?;
                let verified = self
                    .idp
                    .verify_software_token(&cognito_session, &code)
                    .await
                    .map_err(step_error)?;
                (ChallengeNameType::MfaSetup, verified, Vec::new())
            }
        };
        let step = self
            .idp
            .respond(kind, &session, &user, responses)
            .await
            .map_err(step_error)?;
        self.outcome(check, username, &user, step).await
    }

    /// Turns a step into a session, or into a sealed challenge for the client.
    async fn outcome(
        &self,
        check: &Check,
        username: &str,
        cognito_user: &str,
        step: Step,
    ) -> Result<Outcome, SessionError> {
        let RawChallenge {
            name,
            mut session,
            parameters,
        } = match step {
            Step::Tokens(tokens) => {
                let (token, record) = self.start_session(check, tokens, Source::Api).await?;
                return Ok(Outcome::Session(token, Box::new(record)));
            }
            Step::Challenge(challenge) => challenge,
        };
        let Some(kind) = ChallengeName::from_name(name.as_str()) else {
            return Err(SessionError::Unavailable(Box::new(IdpError::new(
                "log-in",
                format!(
                    "asks for the {} challenge, which this crate does not answer",
                    name.as_str()
                ),
            ))));
        };
        // The name Cognito knows the user by, for `USERNAME` and `SECRET_HASH` (it differs
        // from what was typed when the user logs in by an alias such as the email).
        let user = parameters
            .get("USER_ID_FOR_SRP")
            .or_else(|| parameters.get("USERNAME"))
            .map_or(cognito_user, String::as_str)
            .to_owned();
        let mut secret_code = None;
        if kind == ChallengeName::MfaSetup {
            // `MFAS_CAN_SETUP` lists what the pool lets the user set up (a JSON array as a
            // string). An authenticator app is what this crate sets up; a pool that only
            // offers email or SMS here is a configuration this log-in can't complete.
            if let Some(offered) = parameters.get("MFAS_CAN_SETUP")
                && !offered.contains("SOFTWARE_TOKEN_MFA")
            {
                return Err(SessionError::Unavailable(Box::new(IdpError::new(
                    "log-in",
                    format!(
                        "asks to set up MFA with {offered}; this crate sets up authenticator apps (SOFTWARE_TOKEN_MFA) only"
                    ),
                ))));
            }
            let (secret, next) = self
                .idp
                .associate_software_token(&session)
                .await
                .map_err(step_error)?;
            secret_code = Some(secret);
            session = next;
        }
        let envelope = Envelope {
            c: kind.as_str().to_owned(),
            s: session.expose().to_owned(),
            u: user,
            e: check.now().saturating_add(self.sealer.lifetime),
        };
        let parameters = public_parameters(parameters);
        tracing::debug!(username, challenge = %kind, "Cognito asks a challenge");
        Ok(Outcome::Challenge(Challenge {
            name: kind,
            session: Secret::new(self.sealer.seal(CHALLENGE, username, &envelope)),
            parameters,
            secret_code,
        }))
    }
}

/// The parameters the user may see: not the SRP exchange's.
fn public_parameters(parameters: HashMap<String, String>) -> BTreeMap<String, String> {
    parameters
        .into_iter()
        .filter(|(name, _)| !matches!(name.as_str(), "SALT" | "SRP_B" | "SECRET_BLOCK"))
        .collect()
}

#[cfg(test)]
mod tests;
