//! `POST /revoke` (RFC 7009): what a token is decides how it is revoked; the
//! `token_type_hint` is only a hint.
//!
//! RFC 7009 section 2.1: "If the server is unable to locate the token using
//! the given hint, it MUST extend its search across all of its supported
//! token types", and it "MAY ignore this parameter, particularly if it is
//! able to detect the token type automatically". We can, by form alone
//! ([`TokenForm`]): a JWS is an access or ID token, whose session we record
//! (Cognito cannot revoke those); anything else can only be a refresh token,
//! which only Cognito can judge and revoke. So the hint never routes a token,
//! and an unknown hint is ignored, as Keycloak's revocation endpoint does
//! (it reads the token's own type and never the hint).
//! `unsupported_token_type` is kept for tokens of a type we cannot revoke: a
//! verified access or ID token without `origin_jti` (no session to name).
//!
//! The answer is always a JSON object (RFC 7009 clients read only the
//! status): `{"session_tokens_listed": true}` when an access or ID token's
//! session was recorded; `{"session_tokens_listed": false, "note": ...}`
//! when Cognito revoked a refresh token, because a refresh token does not
//! name its session (`origin_jti`): that session's access and ID tokens stay
//! accepted by our checks until they expire (`POST /signout` with
//! `scope: "session"` revokes both); `{}` when there was nothing to revoke.

use http::StatusCode;
use serde_json::{Value, json};

use super::Form;
use super::client::{self, Basic};
use crate::app::App;
use crate::cognito::CognitoFailure;
use crate::http::{ApiError, token_error};
use crate::model::{ClientId, Source};
use crate::ops::{self, Report, SignOutKind};
use crate::tokens::{Expect, TokenForm};

/// Said, machine-readably, with every refresh token Cognito revoked.
pub const REFRESH_NOTE: &str = "A refresh token does not name its session: Cognito revokes it, and the tokens it minted for Cognito's own APIs, but that session's access and ID tokens stay accepted by signout checks until they expire. To end them too, call POST /signout with the session's access token and {\"scope\": \"session\", \"refresh_token\": ...}.";

/// The `token_type_hint`, as far as we read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hint {
    None,
    Access,
    Id,
    Refresh,
    /// Any other value: ignored (never echoed, never logged).
    Unknown,
}

impl Hint {
    fn parse(form: &Form) -> Self {
        match form.get("token_type_hint").map(String::as_str) {
            None | Some("") => Hint::None,
            Some("access_token") => Hint::Access,
            Some("id_token") => Hint::Id,
            Some("refresh_token") => Hint::Refresh,
            Some(_) => Hint::Unknown,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Hint::None => "none",
            Hint::Access => "access_token",
            Hint::Id => "id_token",
            Hint::Refresh => "refresh_token",
            Hint::Unknown => "unknown",
        }
    }

    /// Whether the hint names what the token's form says it is.
    fn agrees_with(self, form: TokenForm) -> bool {
        matches!(
            (self, form),
            (Hint::None, _)
                | (Hint::Access | Hint::Id, TokenForm::Jws)
                | (Hint::Refresh, TokenForm::Opaque)
        )
    }
}

/// RFC 7009: the answer's JSON body (always with status 200), or the
/// refusal. The client is named by Basic credentials or the `client_id`
/// parameter; Basic credentials, when sent, must match the secret we hold.
pub async fn revoke(app: &App, basic: Option<&Basic>, form: &Form) -> Result<Value, ApiError> {
    let client = client::authenticate(app, basic, form)?
        .ok_or_else(|| ApiError::invalid_client("client_id is required"))?;
    let token = super::token_param(form)?;
    let hint = Hint::parse(form);
    let kind = TokenForm::of(token);
    if !hint.agrees_with(kind) {
        tracing::info!(
            code = "hint_not_followed",
            hint = hint.as_str(),
            form = kind.as_str(),
            "revoke: the token is judged by its form, not by its hint"
        );
    }
    match kind {
        TokenForm::Jws => revoke_session(app, token, &client).await,
        TokenForm::Opaque => revoke_refresh(app, token, &client).await,
    }
}

/// An access or ID token: verified, then its session recorded in the store.
async fn revoke_session(app: &App, token: &str, client: &ClientId) -> Result<Value, ApiError> {
    let verified = match app.verifier.verify(token, Expect::ANY).await {
        Ok(v) => v,
        Err(e) if e.is_transient() => return Err(token_error(e)),
        // RFC 7009 2.2: invalid tokens do not cause an error.
        Err(e) => {
            tracing::info!(code = e.code(), "revoke: token not valid, nothing to do");
            return Ok(nothing_revoked());
        }
    };
    let c = &verified.claims;
    if c.client_id != *client {
        return Err(unauthorized_client());
    }
    let Some(session) = c.origin_jti.clone() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_token_type",
            "this token has no origin_jti and cannot be revoked by session",
        ));
    };
    let report = ops::record_session(app, &c.sub, &session, c, Source::Revoke)
        .await
        .counted(SignOutKind::Revoke);
    answer(&report, json!({"session_tokens_listed": true}))
}

/// Anything else: a refresh token for Cognito to revoke (the client secret
/// is added by us), or garbage Cognito refuses.
async fn revoke_refresh(app: &App, token: &str, client: &ClientId) -> Result<Value, ApiError> {
    let report = ops::revoke_refresh(app, token, client)
        .await
        .counted(SignOutKind::Revoke);
    answer(
        &report,
        json!({"session_tokens_listed": false, "note": REFRESH_NOTE}),
    )
}

fn nothing_revoked() -> Value {
    json!({})
}

fn unauthorized_client() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        "the token was not issued to this client",
    )
}

/// The answer to the one step of a revocation: `done` when it worked.
fn answer(report: &Report, done: Value) -> Result<Value, ApiError> {
    let Some(s) = report.steps.first() else {
        return Err(server_error());
    };
    if s.ok {
        return Ok(done);
    }
    match s.cognito_failure() {
        // Cognito's own verdicts on the token are not errors for the caller (RFC 7009 2.2).
        Some(CognitoFailure::UnsupportedTokenType | CognitoFailure::NotAuthorized) => {
            Ok(nothing_revoked())
        }
        Some(CognitoFailure::UnauthorizedClient) => Err(unauthorized_client()),
        _ if s.retryable => Err(ApiError::unavailable(format!(
            "step {} failed ({}), try again",
            s.step.code(),
            s.error.as_ref().map_or("error", |e| e.code())
        ))),
        _ => Err(server_error()),
    }
}

fn server_error() -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "server_error",
        "the revocation could not be completed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_agree_only_with_the_form_they_name() {
        use TokenForm::{Jws, Opaque};
        for (hint, jws, opaque) in [
            (Hint::None, true, true),
            (Hint::Access, true, false),
            (Hint::Id, true, false),
            (Hint::Refresh, false, true),
            (Hint::Unknown, false, false),
        ] {
            assert_eq!(hint.agrees_with(Jws), jws, "{hint:?}");
            assert_eq!(hint.agrees_with(Opaque), opaque, "{hint:?}");
        }
    }

    #[test]
    fn every_hint_value_parses_and_unknown_ones_are_not_kept() {
        let form = |v: &str| Form::from([("token_type_hint".to_owned(), v.to_owned())]);
        assert_eq!(Hint::parse(&Form::new()), Hint::None);
        assert_eq!(Hint::parse(&form("")), Hint::None);
        assert_eq!(Hint::parse(&form("access_token")), Hint::Access);
        assert_eq!(Hint::parse(&form("id_token")), Hint::Id);
        assert_eq!(Hint::parse(&form("refresh_token")), Hint::Refresh);
        for other in ["saml", "Refresh_Token", "device_secret", "urn:x"] {
            assert_eq!(Hint::parse(&form(other)), Hint::Unknown, "{other}");
        }
    }
}
