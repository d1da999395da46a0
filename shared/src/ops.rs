//! Sign-out operations as ordered steps: record in the store first, then tell
//! Cognito. Each step reports whether it worked, its error code and whether a
//! retry can help, so a partial failure says exactly which step failed and
//! nothing already recorded is lost. Every operation is idempotent: calling it
//! again after a partial result finishes the job.

use serde::Serialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::check::{Revoked, Verdict};
use crate::cognito::CognitoError;
use crate::model::{ClientId, EpochMs, OriginJti, Source, Sub};
use crate::store::StoreError;
use crate::tokens::Claims;

/// One step of an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub step: &'static str,
    pub ok: bool,
    pub error: Option<String>,
    pub retryable: bool,
}

impl Step {
    fn ok(step: &'static str) -> Self {
        Step {
            step,
            ok: true,
            error: None,
            retryable: false,
        }
    }

    fn store(step: &'static str, r: Result<(), StoreError>) -> Self {
        match r {
            Ok(()) => Self::ok(step),
            Err(e) => {
                tracing::warn!(step, code = e.code(), "step failed");
                Step {
                    step,
                    ok: false,
                    error: Some(e.code().to_owned()),
                    retryable: e.retryable(),
                }
            }
        }
    }

    fn cognito(step: &'static str, r: Result<(), CognitoError>) -> Self {
        match r {
            Ok(()) => Self::ok(step),
            Err(e) => {
                tracing::warn!(step, code = e.code, service_code = %e.service_code, "step failed");
                Step {
                    step,
                    ok: false,
                    error: Some(e.code.to_owned()),
                    retryable: e.retryable,
                }
            }
        }
    }
}

/// The steps of one operation, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub steps: Vec<Step>,
}

impl Report {
    /// `complete` when every step worked, `failed` when none did, else `partial`.
    pub fn result(&self) -> &'static str {
        match (
            self.steps.iter().all(|s| s.ok),
            self.steps.iter().any(|s| s.ok),
        ) {
            (true, _) => "complete",
            (false, false) => "failed",
            (false, true) => "partial",
        }
    }

    pub fn retryable(&self) -> bool {
        self.steps.iter().any(|s| !s.ok && s.retryable)
    }

    pub fn to_json(&self) -> Value {
        json!({"result": self.result(), "steps": self.steps})
    }

    fn push(&mut self, s: Step) -> bool {
        let ok = s.ok;
        self.steps.push(s);
        ok
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
    if !report.push(Step::store("record_cutoff", recorded)) {
        // Nothing recorded: do not let Cognito and the store disagree.
        return report;
    }
    let told = match app.cognito.global_sign_out(access_token).await {
        // We verified the token ourselves: Cognito refusing it means it was already
        // revoked there (a retry after a lost answer), which is the goal.
        Err(e) if e.code == "not_authorized" => Ok(()),
        r => r,
    };
    report.push(Step::cognito("cognito_global_sign_out", told));
    report
}

/// The first step of a self-service sign-out: the full revocation check of
/// the presented token, so a token already signed out cannot sign its user
/// out again. `Err` is the report to answer with when the store could not
/// be read (step `check_revocation`, nothing recorded, Cognito not told).
pub async fn check_first(app: &App, claims: &Claims) -> Result<Verdict, Report> {
    app.checker.check(claims).await.map_err(|e| {
        tracing::warn!(step = "check_revocation", code = e.code(), "step failed");
        Report {
            steps: vec![Step {
                step: "check_revocation",
                ok: false,
                error: Some(e.code().to_owned()),
                retryable: e.retryable(),
            }],
        }
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
            let told = match app.cognito.global_sign_out(access_token).await {
                Err(e) if e.code == "not_authorized" => Ok(()),
                r => r,
            };
            Some(Step::cognito("cognito_global_sign_out", told))
        }
        (false, Revoked::Session, Some(refresh)) => {
            let r = app
                .cognito
                .revoke_refresh_token(refresh, &claims.client_id)
                .await;
            Some(Step::cognito("cognito_revoke_token", r))
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
) -> Result<Report, &'static str> {
    let session = claims
        .origin_jti
        .as_ref()
        .ok_or("token_without_origin_jti")?;
    let mut report = Report::default();
    let recorded = app
        .checker
        .revoke_session(&claims.sub, session, claims.exp, Source::SelfService)
        .await;
    if !report.push(Step::store("record_session", recorded)) {
        return Ok(report);
    }
    if let Some(refresh) = refresh_token {
        let r = app
            .cognito
            .revoke_refresh_token(refresh, &claims.client_id)
            .await;
        report.push(Step::cognito("cognito_revoke_token", r));
    }
    Ok(report)
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
    report.push(Step::store("record_session", r));
    report
}

/// Revokes a refresh token at Cognito. Step: `cognito_revoke_token`.
pub async fn revoke_refresh(app: &App, refresh_token: &str, client: &ClientId) -> Report {
    let mut report = Report::default();
    let r = app
        .cognito
        .revoke_refresh_token(refresh_token, client)
        .await;
    report.push(Step::cognito("cognito_revoke_token", r));
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
    if !report.push(Step::store("record_cutoff", r)) {
        return report;
    }
    if block_for_seconds > 0 {
        let r = app
            .checker
            .block_user(sub, now.plus_secs(block_for_seconds), Source::Admin)
            .await;
        report.push(Step::store("record_block", r));
    }
    let r = app.cognito.admin_global_sign_out(username).await;
    report.push(Step::cognito("cognito_admin_global_sign_out", r));
    report
}

/// Incident response: every token of one app client minted before now. Step: `record_client_cutoff`.
pub async fn client_sign_out(app: &App, client: &ClientId) -> Report {
    let mut report = Report::default();
    let r = app
        .checker
        .sign_out_client(client, EpochMs::now(), Source::IncidentResponse)
        .await;
    report.push(Step::store("record_client_cutoff", r));
    report
}

/// Incident response: every token of the pool minted before now. Step: `record_pool_cutoff`.
pub async fn pool_sign_out(app: &App) -> Report {
    let mut report = Report::default();
    let r = app
        .checker
        .sign_out_pool(EpochMs::now(), Source::IncidentResponse)
        .await;
    report.push(Step::store("record_pool_cutoff", r));
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(ok: bool, retryable: bool) -> Step {
        Step {
            step: "s",
            ok,
            error: (!ok).then(|| "e".to_owned()),
            retryable,
        }
    }

    #[test]
    fn results_say_complete_partial_or_failed() {
        let r = |steps: Vec<Step>| Report { steps };
        assert_eq!(
            r(vec![step(true, false), step(true, false)]).result(),
            "complete"
        );
        assert_eq!(
            r(vec![step(true, false), step(false, true)]).result(),
            "partial"
        );
        assert!(r(vec![step(true, false), step(false, true)]).retryable());
        assert_eq!(r(vec![step(false, false)]).result(), "failed");
        assert!(!r(vec![step(false, false)]).retryable());
        let j = r(vec![step(true, false), step(false, true)]).to_json();
        assert_eq!(
            j["steps"][1],
            json!({"step": "s", "ok": false, "error": "e", "retryable": true})
        );
    }
}
