//! Secrets (client secrets, the logout state key) are read once per cold
//! start: from Secrets Manager when `<NAME>_ARN` is set (in AWS), else from
//! the plain variable `<NAME>` (local runs and tests). Never from a template
//! parameter, and never logged.

use aws_config::SdkConfig;

/// Where a secret came from failed to give it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct SecretError {
    pub variable: String,
    pub message: String,
}

/// The secret named `name`: `GetSecretValue` of `<name>_ARN`, or `<name>`, or `None`.
pub async fn resolve(sdk: &SdkConfig, name: &str) -> Result<Option<String>, SecretError> {
    resolve_with(sdk, name, |k| std::env::var(k).ok()).await
}

/// [`resolve`] with settings read through `get` (tests).
pub async fn resolve_with<F: Fn(&str) -> Option<String>>(
    sdk: &SdkConfig,
    name: &str,
    get: F,
) -> Result<Option<String>, SecretError> {
    let arn_var = format!("{name}_ARN");
    if let Some(arn) = get(&arn_var).filter(|v| !v.trim().is_empty()) {
        let client = aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(sdk)
                .interceptor(crate::xray::Interceptor)
                .build(),
        );
        let out = client
            .get_secret_value()
            .secret_id(arn.trim())
            .send()
            .await
            .map_err(|e| SecretError {
                variable: arn_var.clone(),
                message: format!("GetSecretValue failed ({})", crate::aws::classify(&e).code),
            })?;
        return out
            .secret_string()
            .map(|s| Some(s.to_owned()))
            .ok_or(SecretError {
                variable: arn_var,
                message: "the secret has no SecretString".into(),
            });
    }
    Ok(get(name).filter(|v| !v.trim().is_empty()))
}
