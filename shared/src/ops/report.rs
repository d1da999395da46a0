//! What an operation reports: its steps in order, each with what failed and
//! whether a retry can help, and the operation's result. Every name and
//! code here is typed, so callers match on them and the compiler checks
//! every match; the strings appear only in JSON and logs.

use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use crate::cognito::{CognitoError, CognitoFailure};
use crate::store::StoreError;

/// The steps of every operation, by what they do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    /// The full revocation check of the presented token.
    CheckRevocation,
    /// An admin's username or alias resolved to the user's `sub`.
    ResolveUser,
    RecordCutoff,
    RecordBlock,
    RecordSession,
    RecordClientCutoff,
    RecordPoolCutoff,
    CognitoGlobalSignOut,
    CognitoAdminGlobalSignOut,
    CognitoRevokeToken,
}

impl StepName {
    /// As in the JSON report and the logs.
    pub fn code(self) -> &'static str {
        match self {
            StepName::CheckRevocation => "check_revocation",
            StepName::ResolveUser => "resolve_user",
            StepName::RecordCutoff => "record_cutoff",
            StepName::RecordBlock => "record_block",
            StepName::RecordSession => "record_session",
            StepName::RecordClientCutoff => "record_client_cutoff",
            StepName::RecordPoolCutoff => "record_pool_cutoff",
            StepName::CognitoGlobalSignOut => "cognito_global_sign_out",
            StepName::CognitoAdminGlobalSignOut => "cognito_admin_global_sign_out",
            StepName::CognitoRevokeToken => "cognito_revoke_token",
        }
    }
}

/// Why a step failed: the store's or Cognito's error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepError {
    Store(StoreError),
    Cognito(CognitoFailure),
}

impl StepError {
    pub fn code(&self) -> &'static str {
        match self {
            StepError::Store(e) => e.code(),
            StepError::Cognito(k) => k.code(),
        }
    }
}

impl Serialize for StepError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// One step of an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub step: StepName,
    pub ok: bool,
    pub error: Option<StepError>,
    pub retryable: bool,
}

impl Step {
    pub fn ok(step: StepName) -> Self {
        Step {
            step,
            ok: true,
            error: None,
            retryable: false,
        }
    }

    /// A failed step, logged with its code.
    pub fn failed(step: StepName, error: StepError, retryable: bool) -> Self {
        tracing::warn!(step = step.code(), code = error.code(), "step failed");
        Step {
            step,
            ok: false,
            error: Some(error),
            retryable,
        }
    }

    pub fn store(step: StepName, r: Result<(), StoreError>) -> Self {
        match r {
            Ok(()) => Self::ok(step),
            Err(e) => {
                let retryable = e.retryable();
                Self::failed(step, StepError::Store(e), retryable)
            }
        }
    }

    pub fn cognito(step: StepName, r: Result<(), CognitoError>) -> Self {
        match r {
            Ok(()) => Self::ok(step),
            Err(e) => {
                tracing::debug!(step = step.code(), service_code = %e.service_code, "cognito answered");
                Self::failed(step, StepError::Cognito(e.kind), e.retryable)
            }
        }
    }

    /// The Cognito failure of this step, if that is how it failed.
    pub fn cognito_failure(&self) -> Option<CognitoFailure> {
        match self.error {
            Some(StepError::Cognito(k)) => Some(k),
            _ => None,
        }
    }
}

/// An operation's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    /// Every step worked.
    Complete,
    /// Some steps worked: what they recorded stays; a retry finishes the rest.
    Partial,
    /// No step worked.
    Failed,
}

impl Completion {
    pub fn code(self) -> &'static str {
        match self {
            Completion::Complete => "complete",
            Completion::Partial => "partial",
            Completion::Failed => "failed",
        }
    }
}

/// The steps of one operation, in order.
/// What was signed out, as the `SignOuts` metric's `Kind` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignOutKind {
    /// Every session of the caller (`POST /sign-out`, scope global).
    Global,
    /// The caller's session (scope session).
    Session,
    /// RFC 7009 `POST /revoke`.
    Revoke,
    /// `POST /admin/sign-out`.
    AdminUser,
    /// Incident response: one app client.
    Client,
    /// Incident response: the whole pool.
    Pool,
    /// `GET /logout`.
    Logout,
}

impl SignOutKind {
    pub fn code(self) -> &'static str {
        match self {
            SignOutKind::Global => "global",
            SignOutKind::Session => "session",
            SignOutKind::Revoke => "revoke",
            SignOutKind::AdminUser => "admin_user",
            SignOutKind::Client => "client",
            SignOutKind::Pool => "pool",
            SignOutKind::Logout => "logout",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub steps: Vec<Step>,
}

impl Report {
    pub fn of(step: Step) -> Self {
        Report { steps: vec![step] }
    }

    pub fn result(&self) -> Completion {
        match (
            self.steps.iter().all(|s| s.ok),
            self.steps.iter().any(|s| s.ok),
        ) {
            (true, _) => Completion::Complete,
            (false, false) => Completion::Failed,
            (false, true) => Completion::Partial,
        }
    }

    pub fn retryable(&self) -> bool {
        self.steps.iter().any(|s| !s.ok && s.retryable)
    }

    pub fn to_json(&self) -> Value {
        json!({"result": self.result(), "steps": self.steps})
    }

    /// Adds `s`; whether it worked.
    /// Counts this report as one sign-out of `kind` (the `SignOuts` metrics).
    pub fn counted(self, kind: SignOutKind) -> Self {
        crate::metrics::sign_out(kind, &self);
        self
    }

    pub(crate) fn push(&mut self, s: Step) -> bool {
        let ok = s.ok;
        self.steps.push(s);
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(ok: bool, retryable: bool) -> Step {
        Step {
            step: StepName::RecordCutoff,
            ok,
            error: (!ok).then_some(StepError::Cognito(CognitoFailure::Throttled)),
            retryable,
        }
    }

    #[test]
    fn results_say_complete_partial_or_failed() {
        let r = |steps: Vec<Step>| Report { steps };
        assert_eq!(
            r(vec![step(true, false), step(true, false)]).result(),
            Completion::Complete
        );
        assert_eq!(
            r(vec![step(true, false), step(false, true)]).result(),
            Completion::Partial
        );
        assert!(r(vec![step(true, false), step(false, true)]).retryable());
        assert_eq!(r(vec![step(false, false)]).result(), Completion::Failed);
        assert!(!r(vec![step(false, false)]).retryable());
    }

    #[test]
    fn reports_serialize_with_the_stable_codes() {
        let j = Report {
            steps: vec![step(true, false), step(false, true)],
        }
        .to_json();
        assert_eq!(j["result"], "partial");
        assert_eq!(
            j["steps"][1],
            json!({"step": "record_cutoff", "ok": false, "error": "throttled", "retryable": true})
        );
        let store = Step::store(
            StepName::RecordSession,
            Err(StoreError::Unavailable("x".into())),
        );
        assert_eq!(
            serde_json::to_value(&store).unwrap(),
            json!({"step": "record_session", "ok": false, "error": "store_unavailable", "retryable": true})
        );
    }
}
