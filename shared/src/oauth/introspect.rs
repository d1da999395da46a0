//! RFC 7662 introspection, after the full revocation check: a token we
//! signed out is `{"active": false}`, exactly like an invalid one.

use serde_json::{Map, Value, json};

use super::Form;
use super::client::{self, Basic};
use crate::app::App;
use crate::check::Verdict;
use crate::http::{ApiError, token_error};
use crate::model::TokenUse;
use crate::tokens::Expect;

/// Claims copied from the token as they are, when present.
const COPIED: [&str; 8] = [
    "iss",
    "sub",
    "scope",
    "username",
    "jti",
    "origin_jti",
    "auth_time",
    "event_id",
];

/// The introspection answer. Callers authenticate with IAM (`by_iam`, the
/// gateway's SigV4 check) or with a confidential client's Basic credentials.
pub async fn introspect(
    app: &App,
    by_iam: bool,
    basic: Option<&Basic>,
    form: &Form,
) -> Result<Value, ApiError> {
    // Refused whoever calls, as on /revoke.
    client::refuse_client_secret(form)?;
    let by_client = match basic {
        Some(_) => client::authenticate(app, basic, form)?.is_some(),
        None => false,
    };
    if !by_iam && !by_client {
        return Err(ApiError::invalid_client(
            "introspection requires IAM authorization or Basic client credentials",
        ));
    }
    let token = super::token_param(form)?;
    let inactive = || Ok(json!({"active": false}));
    let verified = match app.verifier.verify(token, Expect::ANY).await {
        Ok(v) => v,
        Err(e) if e.is_transient() => return Err(token_error(e)),
        Err(_) => return inactive(),
    };
    match app.checker.check(&verified.claims).await {
        Ok(Verdict::Active) => {}
        Ok(Verdict::Revoked(_)) => return inactive(),
        Err(e) => {
            return Err(ApiError::unavailable(format!(
                "the revocation store is unavailable ({})",
                e.code()
            )));
        }
    }
    let c = &verified.claims;
    let mut out = Map::new();
    out.insert("active".into(), json!(true));
    // Every claim as sent: `token` is the string that just verified.
    let mut raw = crate::tokens::peek_claims(token).unwrap_or_default();
    for k in COPIED {
        if let Some(v) = raw.remove(k) {
            out.insert(k.into(), v);
        }
    }
    out.insert("client_id".into(), json!(c.client_id.as_str()));
    out.insert("exp".into(), json!(c.exp));
    out.insert("iat".into(), json!(c.iat));
    out.insert("token_use".into(), json!(c.token_use.as_str()));
    let token_type = match c.token_use {
        TokenUse::Access => "access_token",
        TokenUse::Id => "id_token",
    };
    out.insert("token_type".into(), json!(token_type));
    if !c.groups.is_empty() {
        out.insert("cognito:groups".into(), json!(c.groups));
    }
    Ok(Value::Object(out))
}
