//! [`TableSettings`]: where the session table is.

use crate::env::Env;
use crate::error::ConfigError;

/// Where the session table is: its name and the names its key and index have.
///
/// ```
/// use cognito_session::store::dynamodb::TableSettings;
///
/// let mut table = TableSettings::new("sessions");
/// table.partition_key = "sub".into(); // a table laid out for @sswahn/session
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableSettings {
    /// The table's name (`SESSION_TABLE`).
    pub name: String,
    /// The partition key attribute (`PARTITION_KEY`); default `SessionToken`, as in the
    /// DynamoDB Book's table.
    pub partition_key: String,
    /// The global secondary index on `username` (`SESSION_USERNAME_INDEX`); default
    /// `UsernameIndex`.
    pub username_index: String,
}

impl TableSettings {
    /// The table `name`, with the default partition key `SessionToken` and index
    /// `UsernameIndex`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            partition_key: "SessionToken".into(),
            username_index: "UsernameIndex".into(),
        }
    }

    /// Reads `SESSION_TABLE`, `PARTITION_KEY` and `SESSION_USERNAME_INDEX` through `var`;
    /// `None` without `SESSION_TABLE`.
    ///
    /// ```
    /// use cognito_session::store::dynamodb::TableSettings;
    ///
    /// let table = TableSettings::from_env_with(|name| (name == "SESSION_TABLE").then(|| "s".to_owned()));
    /// assert_eq!(table, Some(TableSettings::new("s")));
    /// ```
    pub fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let env = Env::new(var);
        let mut table = Self::new(env.get("SESSION_TABLE")?);
        if let Some(pk) = env.get("PARTITION_KEY") {
            table.partition_key = pk;
        }
        if let Some(index) = env.get("SESSION_USERNAME_INDEX") {
            table.username_index = index;
        }
        Some(table)
    }

    /// The partition key must not have the name of a session attribute.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let pk = self.partition_key.as_str();
        if super::attr::ALL.contains(&pk) {
            return Err(ConfigError::setting(
                "partition_key",
                format!(
                    "{pk:?} is also the name of a session attribute; choose another PARTITION_KEY"
                ),
            ));
        }
        Ok(())
    }
}
