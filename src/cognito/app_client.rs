//! The start-up check of the app client: does it allow the flows this crate uses?
//!
//! A client that doesn't allow the configured log-in flow otherwise shows up at the first
//! log-in (as [`SessionError::FlowNotEnabled`]), and one that doesn't allow refreshes only
//! when the first token runs out. `DescribeUserPoolClient` tells at start, when the AWS
//! credentials may call it (log-in and refresh need none, so often they may not).

use super::Cognito;
use super::idp::{CallError, Denial};
use crate::SessionError;
use crate::cognito::AuthFlow;

/// What [`SessionManager::check_app_client`](crate::SessionManager::check_app_client) found
/// when it did not find a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppClientCheck {
    /// The app client allows the configured log-in flow and refreshing tokens.
    Ready,
    /// It can't tell: the AWS credentials may not call `DescribeUserPoolClient` (or there
    /// are none), or Cognito could not be asked. Not a failure: log-in and refresh need no
    /// credentials. `reason` says which, for a log line.
    Unknown {
        /// Why it can't tell, e.g. `"AccessDeniedException"`.
        reason: String,
    },
}

/// The flag the client lacks for `flow` or for refreshes, given its `ExplicitAuthFlows`.
///
/// As Cognito reads them: an empty list allows SRP, refresh and custom auth; values without
/// the `ALLOW_` prefix are the legacy form, where SRP and refresh were always on and
/// `USER_PASSWORD_AUTH` added the password flow (read leniently: a wrong "ready" is caught
/// at the first log-in anyway, a wrong refusal would stop a working server).
pub(super) fn missing_flag(flow: AuthFlow, flows: &[String]) -> Option<&'static str> {
    let has = |flag: &str| flows.iter().any(|f| f == flag);
    if flows.is_empty() {
        return (flow == AuthFlow::Password).then_some(flow.client_flag());
    }
    if !flows.iter().any(|f| f.starts_with("ALLOW_")) {
        let allowed = match flow {
            AuthFlow::Password => has("USER_PASSWORD_AUTH"),
            AuthFlow::Srp => !(flows.len() == 1 && has("CUSTOM_AUTH_FLOW_ONLY")),
        };
        return (!allowed).then_some(flow.client_flag());
    }
    [flow.client_flag(), "ALLOW_REFRESH_TOKEN_AUTH"]
        .into_iter()
        .find(|flag| !has(flag))
}

impl Cognito {
    /// Asks Cognito for the app client's flows and compares them with the configuration.
    pub(crate) async fn check_app_client(&self) -> Result<AppClientCheck, SessionError> {
        let flows = match self.idp.explicit_auth_flows().await {
            Ok(flows) => flows,
            Err(CallError::Denied(Denial::UnknownClient)) => {
                return Err(SessionError::UnknownAppClient);
            }
            Err(CallError::Denied(Denial::NoPermission(code))) => {
                return Ok(AppClientCheck::Unknown {
                    reason: format!(
                        "the AWS credentials may not call DescribeUserPoolClient ({code})"
                    ),
                });
            }
            Err(CallError::Unavailable(error)) => {
                return Ok(AppClientCheck::Unknown {
                    reason: error.to_string(),
                });
            }
            Err(CallError::Refused | CallError::Denied(_)) => {
                return Ok(AppClientCheck::Unknown {
                    reason: "DescribeUserPoolClient refused".into(),
                });
            }
        };
        match missing_flag(self.settings.auth_flow, &flows) {
            Some(flag) => Err(SessionError::FlowNotEnabled { flag }),
            None => Ok(AppClientCheck::Ready),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flows(names: &[&str]) -> Vec<String> {
        names.iter().map(|&n| n.to_owned()).collect()
    }

    #[test]
    fn the_configured_flow_and_refresh_must_be_allowed() {
        use AuthFlow::{Password, Srp};
        let console = flows(&["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]);
        assert_eq!(missing_flag(Srp, &console), None);
        assert_eq!(
            missing_flag(Password, &console),
            Some("ALLOW_USER_PASSWORD_AUTH")
        );
        let both = flows(&[
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ]);
        assert_eq!(missing_flag(Password, &both), None);
        assert_eq!(missing_flag(Srp, &both), None);
        let no_refresh = flows(&["ALLOW_USER_PASSWORD_AUTH"]);
        assert_eq!(
            missing_flag(Password, &no_refresh),
            Some("ALLOW_REFRESH_TOKEN_AUTH")
        );
        // USER_AUTH allows SRP only through USER_AUTH, which this crate does not start.
        let choice = flows(&["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]);
        assert_eq!(missing_flag(Srp, &choice), Some("ALLOW_USER_SRP_AUTH"));
    }

    #[test]
    fn an_empty_list_and_legacy_values_read_as_cognito_reads_them() {
        use AuthFlow::{Password, Srp};
        assert_eq!(missing_flag(Srp, &[]), None);
        assert_eq!(
            missing_flag(Password, &[]),
            Some("ALLOW_USER_PASSWORD_AUTH")
        );
        let legacy = flows(&["USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"]);
        assert_eq!(missing_flag(Password, &legacy), None);
        assert_eq!(missing_flag(Srp, &legacy), None);
        let admin_only = flows(&["ADMIN_NO_SRP_AUTH"]);
        assert_eq!(
            missing_flag(Password, &admin_only),
            Some("ALLOW_USER_PASSWORD_AUTH")
        );
        let custom_only = flows(&["CUSTOM_AUTH_FLOW_ONLY"]);
        assert_eq!(missing_flag(Srp, &custom_only), Some("ALLOW_USER_SRP_AUTH"));
    }
}
