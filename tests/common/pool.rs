//! A Cognito user pool on moto, made through the real AWS SDK.

use aws_sdk_cognitoidentityprovider as idp;
use idp::types::ExplicitAuthFlowsType;

/// A fresh pool with one app client allowed to log in with a password and to refresh.
pub struct Pool {
    pub client: idp::Client,
    pub id: String,
    pub client_id: String,
    pub client_secret: Option<String>,
}

/// An SDK client for moto's Cognito.
pub fn idp_client() -> idp::Client {
    let config = idp::Config::builder()
        .behavior_version(idp::config::BehaviorVersion::latest())
        .endpoint_url(super::moto_url())
        .region(idp::config::Region::new("us-east-1"))
        .credentials_provider(idp::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    idp::Client::from_conf(config)
}

impl Pool {
    pub async fn create(with_secret: bool) -> Self {
        let client = idp_client();
        let id = client
            .create_user_pool()
            .pool_name(super::unique("pool"))
            .send()
            .await
            .unwrap()
            .user_pool
            .unwrap()
            .id
            .unwrap();
        let app = client
            .create_user_pool_client()
            .user_pool_id(&id)
            .client_name("app")
            .generate_secret(with_secret)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
            .await
            .unwrap()
            .user_pool_client
            .unwrap();
        Self {
            client,
            id,
            client_id: app.client_id.unwrap(),
            client_secret: app.client_secret,
        }
    }

    /// A confirmed user with a permanent password.
    pub async fn add_user(&self, username: &str, password: &str) {
        self.client
            .admin_create_user()
            .user_pool_id(&self.id)
            .username(username)
            .message_action(idp::types::MessageActionType::Suppress)
            .send()
            .await
            .unwrap();
        self.client
            .admin_set_user_password()
            .user_pool_id(&self.id)
            .username(username)
            .password(password)
            .permanent(true)
            .send()
            .await
            .unwrap();
    }
}
