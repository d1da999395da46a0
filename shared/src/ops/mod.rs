//! Sign-out operations as ordered steps: record in the store first, then tell
//! Cognito. Each step reports whether it worked, its error code and whether a
//! retry can help, so a partial failure says exactly which step failed and
//! nothing already recorded is lost. Every operation is idempotent: calling it
//! again after a partial result finishes the job.

mod report;

pub use report::{Completion, Report, SignOutKind, Step, StepError, StepName};

use crate::app::App;
use crate::check::{Revoked, Verdict};
use crate::cognito::{CognitoError, CognitoFailure};
use crate::model::{ClientId, EpochMs, OriginJti, Source, Sub};
use crate::tokens::Claims;

/// `GlobalSignOut` with a token we verified ourselves: Cognito refusing it
/// means it was already revoked there (a retry after a lost answer), which
/// is the goal.
fn already_signed_out_is_done(r: Result<(), CognitoError>) -> Result<(), CognitoError> {
    match r {
        Err(e) if e.kind == CognitoFailure::NotAuthorized => Ok(()),
        r => r,
    }
}

/// A session sign-out of a token that names no session (`origin_jti`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the token has no origin_jti: no session to name")]
pub struct NoSessionClaim;

impl NoSessionClaim {
    pub fn code(self) -> &'static str {
        "token_without_origin_jti"
    }
}

/// Self-service global sign-out with a verified access token.
/// Steps: `record_cutoff`, `cognito_global_sign_out`.
pub async fn global_sign_out(app: &App, claims: &Claims, access_token: &str) -> Report {
    let cutoff = EpochMs::now();
    let mut report = Report::default();
    let recorded = app
        .checker
        .sign_out_user(&claims.sub, cutoff, Source::SelfService)
        .await;
    if !report.push(Step::store(StepName::RecordCutoff, recorded)) {
        // Nothing recorded: do not let Cognito and the store disagree.
        return report.counted(SignOutKind::Global);
    }
    let told = already_signed_out_is_done(app.cognito.global_sign_out(access_token).await);
    report.push(Step::cognito(StepName::CognitoGlobalSignOut, told));
    report.counted(SignOutKind::Global)
}

/// The first step of a self-service sign-out: the full revocation check of
/// the presented token, so a token already signed out cannot sign its user
/// out again. `Err` is the report to answer with when the store could not
/// be read (step `check_revocation`, nothing recorded, Cognito not told).
pub async fn check_first(app: &App, claims: &Claims) -> Result<Verdict, Report> {
    app.checker.check(claims).await.map_err(|e| {
        let retryable = e.retryable();
        Report::of(Step::failed(
            StepName::CheckRevocation,
            StepError::Store(e),
            retryable,
        ))
    })
}

/// For a token the check found revoked: records nothing, and only redoes
/// the Cognito step a sign-out of this kind would end with, so a retry
/// after `partial` still finishes at Cognito: for a `global` sign-out,
/// `GlobalSignOut` with the token when its user was signed out; for a
/// session sign-out, `RevokeToken` of `refresh_token` when its session was. Neither gives the caller anything: Cognito takes
/// `GlobalSignOut` from whoever holds an access token it accepts (and
/// refuses tokens it already signed out), and anyone holding a refresh
/// token may revoke it (`POST /revoke`). `None` when there is no such step.
pub async fn finish_at_cognito(
    app: &App,
    claims: &Claims,
    access_token: &str,
    why: Revoked,
    global: bool,
    refresh_token: Option<&str>,
) -> Option<Step> {
    match (global, why, refresh_token) {
        (true, Revoked::SignedOut, _) => {
            let told = already_signed_out_is_done(app.cognito.global_sign_out(access_token).await);
            Some(Step::cognito(StepName::CognitoGlobalSignOut, told))
        }
        (false, Revoked::Session, Some(refresh)) => {
            let r = app
                .cognito
                .revoke_refresh_token(refresh, &claims.client_id)
                .await;
            Some(Step::cognito(StepName::CognitoRevokeToken, r))
        }
        _ => None,
    }
}

/// Signs one session out: the session of the verified token, and the refresh
/// token at Cognito when given. Steps: `record_session`, then `cognito_revoke_token`.
pub async fn session_sign_out(
    app: &App,
    claims: &Claims,
    refresh_token: Option<&str>,
) -> Result<Report, NoSessionClaim> {
    let session = claims.origin_jti.as_ref().ok_or(NoSessionClaim)?;
    let mut report = Report::default();
    let recorded = app
        .checker
        .revoke_session(&claims.sub, session, claims.exp, Source::SelfService)
        .await;
    if report.push(Step::store(StepName::RecordSession, recorded))
        && let Some(refresh) = refresh_token
    {
        let r = app
            .cognito
            .revoke_refresh_token(refresh, &claims.client_id)
            .await;
        report.push(Step::cognito(StepName::CognitoRevokeToken, r));
    }
    Ok(report.counted(SignOutKind::Session))
}

/// Records a session revoked without telling Cognito (access or ID token
/// revocation, which Cognito cannot do). Step: `record_session`.
pub async fn record_session(
    app: &App,
    sub: &Sub,
    session: &OriginJti,
    claims: &Claims,
    source: Source,
) -> Report {
    let mut report = Report::default();
    let r = app
        .checker
        .revoke_session(sub, session, claims.exp, source)
        .await;
    report.push(Step::store(StepName::RecordSession, r));
    report
}

/// Revokes a refresh token at Cognito. Step: `cognito_revoke_token`.
pub async fn revoke_refresh(app: &App, refresh_token: &str, client: &ClientId) -> Report {
    let mut report = Report::default();
    let r = app
        .cognito
        .revoke_refresh_token(refresh_token, client)
        .await;
    report.push(Step::cognito(StepName::CognitoRevokeToken, r));
    report
}

/// Admin sign-out of a user already resolved to `sub`, optionally blocking new
/// sign-ins. Steps: `record_cutoff`, `record_block` (when asked),
/// `cognito_admin_global_sign_out`.
pub async fn admin_sign_out(
    app: &App,
    username: &str,
    sub: &Sub,
    block_for_seconds: u64,
) -> Report {
    let now = EpochMs::now();
    let mut report = Report::default();
    let r = app.checker.sign_out_user(sub, now, Source::Admin).await;
    if !report.push(Step::store(StepName::RecordCutoff, r)) {
        return report.counted(SignOutKind::AdminUser);
    }
    if block_for_seconds > 0 {
        let r = app
            .checker
            .block_user(sub, now.plus_secs(block_for_seconds), Source::Admin)
            .await;
        report.push(Step::store(StepName::RecordBlock, r));
    }
    let r = app.cognito.admin_global_sign_out(username).await;
    report.push(Step::cognito(StepName::CognitoAdminGlobalSignOut, r));
    report.counted(SignOutKind::AdminUser)
}

/// Incident response: every token of one app client minted before now. Step: `record_client_cutoff`.
pub async fn client_sign_out(app: &App, client: &ClientId) -> Report {
    let mut report = Report::default();
    let r = app
        .checker
        .sign_out_client(client, EpochMs::now(), Source::IncidentResponse)
        .await;
    report.push(Step::store(StepName::RecordClientCutoff, r));
    report.counted(SignOutKind::Client)
}

/// Incident response: every token of the pool minted before now. Step: `record_pool_cutoff`.
pub async fn pool_sign_out(app: &App) -> Report {
    let mut report = Report::default();
    let r = app
        .checker
        .sign_out_pool(EpochMs::now(), Source::IncidentResponse)
        .await;
    report.push(Step::store(StepName::RecordPoolCutoff, r));
    report.counted(SignOutKind::Pool)
}
