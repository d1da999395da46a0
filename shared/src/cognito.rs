//! Calls to Cognito's sign-out APIs, with errors mapped to stable codes.

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider::Client;

use crate::aws::{AwsFailure, classify};
use crate::config::{Config, ConfigError};
use crate::model::{ClientId, Sub};

/// What went wrong at Cognito, as a caller decides on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CognitoFailure {
    /// Cognito refused the token or credentials (revoked, expired, wrong).
    NotAuthorized,
    UserNotFound,
    Throttled,
    /// A 5xx, a connection that failed, or an unreadable answer.
    Unavailable,
    Timeout,
    UnsupportedTokenType,
    /// The token was not issued to the client that presented it.
    UnauthorizedClient,
    InvalidRequest,
    /// Anything else Cognito answered, for good.
    Other,
}

impl CognitoFailure {
    /// The stable code, in reports and logs.
    pub fn code(self) -> &'static str {
        match self {
            CognitoFailure::NotAuthorized => "not_authorized",
            CognitoFailure::UserNotFound => "user_not_found",
            CognitoFailure::Throttled => "throttled",
            CognitoFailure::Unavailable => "unavailable",
            CognitoFailure::Timeout => "timeout",
            CognitoFailure::UnsupportedTokenType => "unsupported_token_type",
            CognitoFailure::UnauthorizedClient => "unauthorized_client",
            CognitoFailure::InvalidRequest => "invalid_request",
            CognitoFailure::Other => "cognito_error",
        }
    }
}

/// A failed Cognito call: what failed and whether trying again can help.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cognito {}", .kind.code())]
pub struct CognitoError {
    pub kind: CognitoFailure,
    pub retryable: bool,
    /// Cognito's own error name, for logs.
    pub service_code: String,
}

impl CognitoError {
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl From<AwsFailure> for CognitoError {
    fn from(f: AwsFailure) -> Self {
        use CognitoFailure as K;
        let kind = match f.code.as_str() {
            "NotAuthorizedException" => K::NotAuthorized,
            "UserNotFoundException" => K::UserNotFound,
            "TooManyRequestsException" | "LimitExceededException" | "ThrottlingException" => {
                K::Throttled
            }
            "UnsupportedTokenTypeException" => K::UnsupportedTokenType,
            "UnauthorizedException" => K::UnauthorizedClient,
            "InvalidParameterException" | "ResourceNotFoundException" => K::InvalidRequest,
            "timeout" => K::Timeout,
            "unreachable" | "bad_response" | "InternalErrorException" => K::Unavailable,
            _ if f.retryable => K::Unavailable,
            _ => K::Other,
        };
        CognitoError {
            kind,
            retryable: f.retryable || kind == K::Throttled,
            service_code: f.code,
        }
    }
}

/// A user as an admin names them, resolved to the immutable `sub`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedUser {
    pub username: String,
    pub sub: Sub,
}

#[derive(Clone, Debug)]
pub struct Cognito {
    idp: Client,
    user_pool_id: String,
    secrets: HashMap<ClientId, String>,
}

/// A Cognito client of `sdk` whose calls are X-Ray subsegments.
pub fn traced_client(sdk: &SdkConfig) -> Client {
    Client::from_conf(
        aws_sdk_cognitoidentityprovider::config::Builder::from(sdk)
            .interceptor(crate::xray::Interceptor)
            .build(),
    )
}

impl Cognito {
    /// The pool's Cognito client with the app clients' secrets, read once
    /// (`APP_CLIENT_SECRETS_ARN` from Secrets Manager, or `APP_CLIENT_SECRETS`).
    pub async fn from_config(sdk: &SdkConfig, config: &Config) -> Result<Self, ConfigError> {
        let raw = crate::secrets::resolve(sdk, "APP_CLIENT_SECRETS").await?;
        let secrets = Self::parse_secrets(raw.as_deref())?;
        Ok(Self::new(
            traced_client(sdk),
            config.user_pool_id.clone(),
            secrets,
        ))
    }

    /// `secrets` holds the client secret of every app client that has one;
    /// callers never send it, this proxy adds it.
    pub fn new(
        idp: Client,
        user_pool_id: impl Into<String>,
        secrets: HashMap<ClientId, String>,
    ) -> Self {
        Cognito {
            idp,
            user_pool_id: user_pool_id.into(),
            secrets,
        }
    }

    /// Parses client secrets: a JSON object of client id to secret (from
    /// `APP_CLIENT_SECRETS`, or the Secrets Manager secret `APP_CLIENT_SECRETS_ARN` names).
    pub fn parse_secrets(raw: Option<&str>) -> Result<HashMap<ClientId, String>, ConfigError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(HashMap::new()),
            Some(raw) => serde_json::from_str::<HashMap<String, String>>(raw)
                .map(|m| m.into_iter().map(|(k, v)| (ClientId(k), v)).collect())
                .map_err(|_| {
                    ConfigError::one(
                        "APP_CLIENT_SECRETS",
                        "must be a JSON object of client id to secret",
                        r#"{"1example23456789":"<secret>"}"#,
                    )
                }),
        }
    }

    pub fn user_pool_id(&self) -> &str {
        &self.user_pool_id
    }

    /// `GlobalSignOut`: revokes every refresh token of the access token's user.
    pub async fn global_sign_out(&self, access_token: &str) -> Result<(), CognitoError> {
        self.idp
            .global_sign_out()
            .access_token(access_token)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&e).into())
    }

    /// `AdminUserGlobalSignOut` (IAM).
    pub async fn admin_global_sign_out(&self, username: &str) -> Result<(), CognitoError> {
        self.idp
            .admin_user_global_sign_out()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&e).into())
    }

    /// Resolves a username or alias to the user's canonical username and `sub`.
    pub async fn resolve_user(
        &self,
        username_or_alias: &str,
    ) -> Result<ResolvedUser, CognitoError> {
        let out = self
            .idp
            .admin_get_user()
            .user_pool_id(&self.user_pool_id)
            .username(username_or_alias)
            .send()
            .await
            .map_err(|e| CognitoError::from(classify(&e)))?;
        let sub = out
            .user_attributes()
            .iter()
            .find(|a| a.name() == "sub")
            .and_then(|a| a.value())
            .ok_or(CognitoError {
                kind: CognitoFailure::Other,
                retryable: false,
                service_code: "MissingSub".into(),
            })?;
        Ok(ResolvedUser {
            username: out.username().to_owned(),
            sub: Sub(sub.to_owned()),
        })
    }

    /// `RevokeToken`: revokes a refresh token and the tokens of its session.
    /// The client secret is added here when the client has one.
    pub async fn revoke_refresh_token(
        &self,
        refresh_token: &str,
        client: &ClientId,
    ) -> Result<(), CognitoError> {
        self.idp
            .revoke_token()
            .token(refresh_token)
            .client_id(client.as_str())
            .set_client_secret(self.secrets.get(client).cloned())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&e).into())
    }

    /// Whether this proxy holds a secret for `client`.
    pub fn has_secret(&self, client: &ClientId) -> bool {
        self.secrets.contains_key(client)
    }

    /// Constant-time comparison of a caller-presented secret with ours.
    pub fn secret_matches(&self, client: &ClientId, presented: &str) -> bool {
        match self.secrets.get(client) {
            Some(ours) => aws_lc_rs::constant_time::verify_slices_are_equal(
                ours.as_bytes(),
                presented.as_bytes(),
            )
            .is_ok(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_codes_map_to_stable_codes_with_retryability() {
        let f = |code: &str, retryable: bool| {
            CognitoError::from(AwsFailure {
                code: code.into(),
                retryable,
            })
        };
        assert_eq!(
            f("NotAuthorizedException", false).kind,
            CognitoFailure::NotAuthorized
        );
        assert_eq!(f("NotAuthorizedException", false).code(), "not_authorized");
        assert!(!f("NotAuthorizedException", false).retryable);
        assert_eq!(f("TooManyRequestsException", false).code(), "throttled");
        assert!(f("TooManyRequestsException", false).retryable);
        assert_eq!(f("InternalErrorException", true).code(), "unavailable");
        assert_eq!(f("timeout", true).code(), "timeout");
        assert!(f("timeout", true).retryable);
        assert_eq!(f("UserNotFoundException", false).code(), "user_not_found");
        assert_eq!(f("SomethingNew", false).code(), "cognito_error");
        assert_eq!(f("SomethingNew", true).code(), "unavailable");
    }
}
