//! DynamoDB's errors as [`StoreError`]s: the table under [Errors](super#errors), in code.

use std::error::Error as StdError;
use std::fmt;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::store::{BoxError, StoreError};

pub(super) fn backend(error: impl Into<BoxError>) -> StoreError {
    StoreError::Backend(error.into())
}

pub(super) fn backend_msg(message: impl Into<String>) -> StoreError {
    StoreError::Backend(message.into().into())
}

/// A failed DynamoDB call: which operation, DynamoDB's error code and message when it sent
/// one, and the SDK's error as the source.
#[derive(Debug)]
struct OperationError {
    operation: &'static str,
    code: Option<String>,
    message: Option<String>,
    source: BoxError,
}

impl fmt::Display for OperationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DynamoDB {}: ", self.operation)?;
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => write!(f, "{code}: {message}"),
            (Some(code), None) => f.write_str(code),
            _ => write!(f, "{}", self.source),
        }
    }
}

impl StdError for OperationError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// How an SDK call failed, as far as the mapping to [`StoreError`] cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    /// Timed out, or no response arrived (connection refused, reset, DNS).
    NoResponse,
    /// DynamoDB answered with this HTTP status.
    Response(u16),
    /// The request was never sent: a bug or a bad configuration on our side.
    NotSent,
}

/// Error codes that say "not now" rather than "not this".
const TRANSIENT_CODES: [&str; 7] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
];

fn classify(failure: Failure, code: Option<&str>) -> fn(BoxError) -> StoreError {
    if code == Some("ConditionalCheckFailedException") {
        return |_| StoreError::Conflict;
    }
    let transient = match failure {
        Failure::NoResponse => true,
        Failure::Response(status) => {
            (500..600).contains(&status) || code.is_some_and(|c| TRANSIENT_CODES.contains(&c))
        }
        Failure::NotSent => false,
    };
    if transient {
        StoreError::Unavailable
    } else {
        StoreError::Backend
    }
}

pub(super) fn sdk_error<E>(operation: &'static str, error: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let failure = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => Failure::NoResponse,
        SdkError::ResponseError(e) => Failure::Response(e.raw().status().as_u16()),
        SdkError::ServiceError(e) => Failure::Response(e.raw().status().as_u16()),
        _ => Failure::NotSent,
    };
    let code = error.code().map(str::to_owned);
    let message = error.message().map(str::to_owned);
    let to_store_error = classify(failure, code.as_deref());
    to_store_error(Box::new(OperationError {
        operation,
        code,
        message,
        source: Box::new(error),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_map_to_store_errors() {
        let kind = |failure, code| match classify(failure, code)("x".into()) {
            StoreError::Conflict => "conflict",
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Backend(_) => "backend",
        };
        use Failure::*;
        let conflict = Some("ConditionalCheckFailedException");
        assert_eq!(kind(Response(400), conflict), "conflict");
        assert_eq!(kind(NoResponse, None), "unavailable");
        for code in TRANSIENT_CODES {
            assert_eq!(kind(Response(400), Some(code)), "unavailable", "{code}");
        }
        assert_eq!(kind(Response(500), None), "unavailable");
        assert_eq!(kind(Response(503), Some("Whatever")), "unavailable");
        assert_eq!(
            kind(Response(400), Some("ResourceNotFoundException")),
            "backend"
        );
        assert_eq!(kind(Response(400), Some("ValidationException")), "backend");
        assert_eq!(kind(Response(404), None), "backend");
        assert_eq!(kind(NotSent, None), "backend");
    }
}
