//! What `GET /logout` revokes: the refresh-token cookie at Cognito, then the
//! hinted session (or the user) in the store. Each step logs its failure by
//! code and never stops the browser; no token is ever logged.

use super::settings::{LogoutSettings, Scope};
use crate::app::App;
use crate::check::Verdict;
use crate::model::{ClientId, EpochMs, Source};
use crate::ops::{Report, Step, StepError, StepName};
use crate::tokens::Claims;

/// Refresh-token cookies revoked per request (the same name under several paths).
const MAX_REFRESH_COOKIES: usize = 4;

/// Revokes the refresh-token cookie at Cognito (the client secret is
/// added by [`crate::cognito::Cognito`]), one `cognito_revoke_token` step
/// in `report` per token presented (it does not shorten any listing, see
/// [`record`]).
pub(super) async fn revoke_refresh_tokens(
    app: &App,
    settings: &LogoutSettings,
    client: &ClientId,
    cookies: &[(String, String)],
    report: &mut Report,
) {
    let Some(name) = &settings.refresh_cookie else {
        return;
    };
    let mut tokens: Vec<&str> = cookies
        .iter()
        .filter(|(n, v)| n == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
        .collect();
    tokens.sort_unstable();
    tokens.dedup();
    tokens.truncate(MAX_REFRESH_COOKIES);
    for token in tokens {
        match app.cognito.revoke_refresh_token(token, client).await {
            Ok(()) => report.push(Step::ok(StepName::CognitoRevokeToken)),
            Err(e) => {
                tracing::warn!(
                    step = "revoke_refresh_token",
                    code = e.code(),
                    retryable = e.retryable,
                    "logout step failed"
                );
                report.push(unlogged_failure(
                    StepName::CognitoRevokeToken,
                    StepError::Cognito(e.kind),
                    e.retryable,
                ))
            }
        };
    }
}

/// Records the hinted session (or the whole user) as signed out.
///
/// The session stays listed as long as its refresh token could mint: the
/// refresh-token cookie revoked before cannot be tied to the hint (Cognito's
/// refresh tokens are encrypted to Cognito and name no `origin_jti`; a
/// browser may hold another session's cookie), so Cognito's confirmation
/// never shortens the listing.
///
/// With [`Scope::Global`] a hint already revoked (its user signed out since
/// it was minted, or its session revoked) records nothing: its authority
/// ended with that sign-out, and a leaked hint must not sign out, again and
/// again, sessions that began after it. Should the store not answer, the
/// sign-out is recorded anyway: the browser asked for it.
pub(super) async fn record(app: &App, scope: Scope, claims: &Claims, report: &mut Report) {
    if scope == Scope::Global
        && let Ok(Verdict::Revoked(why)) = app.checker.check(claims).await
    {
        tracing::info!(
            step = "record_cutoff",
            code = "hint_already_revoked",
            revoked = why.code(),
            sub = %claims.sub,
            "logout: the hint is already signed out; nothing more recorded"
        );
        return;
    }
    let (step, result) = match (scope, &claims.origin_jti) {
        (Scope::Global, _) => (
            StepName::RecordCutoff,
            app.checker
                .sign_out_user(&claims.sub, EpochMs::now(), Source::Logout)
                .await,
        ),
        (Scope::Session, Some(session)) => (
            StepName::RecordSession,
            app.checker
                .revoke_session(&claims.sub, session, claims.exp, Source::Logout)
                .await,
        ),
        (Scope::Session, None) => {
            // Cognito stamps origin_jti on every token; without it there is
            // no session to name, and signing out every session instead
            // would do more than was asked.
            tracing::warn!(
                step = "record_session",
                code = "hint_without_session",
                "logout step failed"
            );
            return;
        }
    };
    match result {
        Ok(()) => report.push(Step::ok(step)),
        Err(e) => {
            tracing::warn!(
                step = step.code(),
                code = e.code(),
                retryable = e.retryable(),
                "logout step failed"
            );
            let retryable = e.retryable();
            report.push(unlogged_failure(step, StepError::Store(e), retryable))
        }
    };
}

/// A failed step for the metrics; logged above as `logout step failed`.
fn unlogged_failure(step: StepName, error: StepError, retryable: bool) -> Step {
    Step {
        step,
        ok: false,
        error: Some(error),
        retryable,
    }
}
