//! The Pre Token Generation trigger: stamps tokens with the cutoff current at
//! mint time, and refuses to mint for a blocked user.
//!
//! The event is read through a tolerant model (`serde_json::Value`) rather than
//! `aws_lambda_events`' typed structs: those are `#[non_exhaustive]`, have no
//! variant for V3's `TokenGeneration_ClientCredentials`, and require fields that
//! some senders omit (`groupConfiguration`, a non-empty `response`). Whatever
//! we do not understand is passed back unchanged, never an error that breaks
//! sign-in. The response is the event with our claim merged into `response`;
//! nothing else is touched.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::model::{ClientId, EpochMs, Sub};
use crate::store::{Consistency, Lookup, Store, StoreError};

/// Hard bound on the store read, well under Cognito's 5-second trigger limit.
pub const TRIGGER_BUDGET: Duration = Duration::from_millis(1_500);

/// The event versions Cognito sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// V1_0 (also "0" from older senders): ID token only, string claims.
    V1,
    /// V2_0: ID and access token.
    V2,
    /// V3_0: V2 plus machine-to-machine (client credentials) tokens.
    V3,
}

/// What the trigger did, for logs and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stamped with this cutoff (0 when none).
    Stamped(EpochMs),
    /// Passed through unchanged, with the reason.
    PassedThrough(&'static str),
    /// The store could not be read in time: no stamp, sign-in goes on
    /// (unstamped tokens fall back to the conservative `iat` check).
    Unstamped(&'static str),
}

impl Outcome {
    /// The `Outcome` dimension of the `TriggerOutcomes` metric.
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Stamped(_) => "stamped",
            Outcome::PassedThrough(_) => "passed_through",
            Outcome::Unstamped(_) => "unstamped",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    /// Shown by Cognito as a failed sign-in.
    #[error("Sign-in is blocked for this user by an administrator for another {0} s.")]
    Blocked(u64),
}

const USER_SOURCES: &[&str] = &[
    "TokenGeneration_HostedAuth",
    "TokenGeneration_Authentication",
    "TokenGeneration_NewPasswordChallenge",
    "TokenGeneration_AuthenticateDevice",
    "TokenGeneration_RefreshTokens",
];
const M2M_SOURCE: &str = "TokenGeneration_ClientCredentials";

fn version_of(event: &Value) -> Option<Version> {
    let v = match event.get("version")? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    match v.as_str() {
        "0" | "1" | "1.0" | "V1_0" => Some(Version::V1),
        "2" | "2.0" | "V2_0" => Some(Version::V2),
        "3" | "3.0" | "V3_0" => Some(Version::V3),
        _ => None,
    }
}

/// What the trigger needs from the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub version: Version,
    pub sub: Option<Sub>,
    pub client: Option<ClientId>,
    pub machine_to_machine: bool,
}

/// Reads the event; `Err(reason)` means pass it through unchanged.
pub fn parse(event: &Value) -> Result<Request, &'static str> {
    if !event.is_object() {
        return Err("event is not an object");
    }
    let version = version_of(event).ok_or("unknown event version")?;
    let source = event
        .get("triggerSource")
        .and_then(Value::as_str)
        .ok_or("no triggerSource")?;
    let machine_to_machine = source == M2M_SOURCE;
    if !(USER_SOURCES.contains(&source) || machine_to_machine && version == Version::V3) {
        return Err("unknown trigger source");
    }
    let client = event
        .pointer("/callerContext/clientId")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(ClientId::from);
    let sub = event
        .pointer("/request/userAttributes/sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(Sub::from);
    if sub.is_none() && !machine_to_machine {
        return Err("no sub in request.userAttributes");
    }
    if machine_to_machine && client.is_none() {
        return Err("no callerContext.clientId");
    }
    Ok(Request {
        version,
        sub: if machine_to_machine { None } else { sub },
        client,
        machine_to_machine,
    })
}

/// Merges `claim = stamp` into the event's response for `req`'s version.
/// Existing overrides (from other code or earlier merges) are kept.
pub fn apply_stamp(mut event: Value, req: &Request, claim: &str, stamp: EpochMs) -> Value {
    let Some(root) = event.as_object_mut() else {
        return event;
    };
    let response = object_at(root, "response");
    match req.version {
        Version::V1 => {
            // V1 claims are strings.
            let details = object_at(response, "claimsOverrideDetails");
            object_at(details, "claimsToAddOrOverride")
                .insert(claim.to_owned(), json!(stamp.0.to_string()));
        }
        Version::V2 | Version::V3 => {
            let details = object_at(response, "claimsAndScopeOverrideDetails");
            let mut targets = vec!["accessTokenGeneration"];
            if !req.machine_to_machine {
                targets.push("idTokenGeneration");
            }
            for t in targets {
                object_at(object_at(details, t), "claimsToAddOrOverride")
                    .insert(claim.to_owned(), json!(stamp.0));
            }
        }
    }
    event
}

/// The object at `key`, created (replacing `null` or a non-object) when absent.
fn object_at<'a>(parent: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = parent.entry(key.to_owned()).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut().expect("just made an object")
}

/// What the trigger function builds once per cold start: the store and the
/// claim it stamps, nothing else.
#[derive(Clone, Debug)]
pub struct Trigger {
    pub store: Store,
    pub claim: String,
}

impl Trigger {
    pub fn from_config(store: Store, config: &crate::Config) -> Self {
        Trigger {
            store,
            claim: config.stamp_claim.clone(),
        }
    }

    /// [`handle`] with this trigger's store and claim.
    /// Counted in the `TriggerOutcomes` and `TriggerLatency` metrics.
    pub async fn handle(&self, event: Value) -> Result<(Value, Outcome), TriggerError> {
        let started = std::time::Instant::now();
        let out = handle(&self.store, &self.claim, event).await;
        let outcome = match &out {
            Ok((_, outcome)) => outcome.code(),
            Err(TriggerError::Blocked(_)) => "blocked",
        };
        crate::metrics::trigger(outcome, started.elapsed());
        out
    }
}

/// Handles one trigger event: returns the response event, or an error that
/// makes Cognito refuse the sign-in (blocked user).
pub async fn handle(
    store: &Store,
    claim: &str,
    event: Value,
) -> Result<(Value, Outcome), TriggerError> {
    let req = match parse(&event) {
        Ok(r) => r,
        Err(reason) => {
            tracing::warn!(
                reason,
                "pre token generation: event passed through unchanged"
            );
            return Ok((event, Outcome::PassedThrough(reason)));
        }
    };
    let read = tokio::time::timeout(
        TRIGGER_BUDGET,
        store.load(
            Lookup {
                sub: req.sub.as_ref(),
                session: None,
                client: req.client.as_ref(),
            },
            Consistency::Strong,
        ),
    )
    .await;
    let state = match read {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => {
            tracing::warn!(
                code = e.code(),
                "pre token generation: store unreadable, token not stamped"
            );
            return Ok((event, Outcome::Unstamped(e.code())));
        }
        Err(_) => {
            crate::metrics::store_error();
            let code = StoreError::Unavailable("budget".into()).code();
            tracing::warn!(
                code,
                budget_ms = TRIGGER_BUDGET.as_millis() as u64,
                "pre token generation: store too slow, token not stamped"
            );
            return Ok((event, Outcome::Unstamped("store_timeout")));
        }
    };
    let now = EpochMs::now();
    if let Some(until) = state.blocked_until
        && until > now
    {
        let secs = (until.0 - now.0).div_ceil(1000);
        tracing::info!(sub = ?req.sub.as_ref().map(Sub::as_str), "pre token generation: user blocked, refusing to mint");
        return Err(TriggerError::Blocked(secs));
    }
    let stamp = state.cutoff().unwrap_or_default();
    Ok((
        apply_stamp(event, &req, claim, stamp),
        Outcome::Stamped(stamp),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(source: &str) -> Value {
        json!({
            "version": "2",
            "triggerSource": source,
            "region": "us-east-1",
            "userPoolId": "us-east-1_X",
            "userName": "alice",
            "callerContext": {"awsSdkVersion": "x", "clientId": "c1"},
            "request": {"userAttributes": {"sub": "s1"}, "groupConfiguration": {}, "scopes": []},
            "response": {"claimsAndScopeOverrideDetails": null}
        })
    }

    #[test]
    fn versions_and_sources_are_recognised() {
        let r = parse(&v2("TokenGeneration_RefreshTokens")).unwrap();
        assert_eq!(r.version, Version::V2);
        assert_eq!(r.sub, Some(Sub::from("s1")));
        for (v, want) in [("0", Version::V1), ("1", Version::V1), ("3", Version::V3)] {
            let mut e = v2("TokenGeneration_HostedAuth");
            e["version"] = json!(v);
            assert_eq!(parse(&e).unwrap().version, want);
        }
        let mut e = v2("TokenGeneration_HostedAuth");
        e["version"] = json!(2);
        assert_eq!(parse(&e).unwrap().version, Version::V2);
        assert_eq!(
            parse(&v2("TokenGeneration_Other")),
            Err("unknown trigger source")
        );
        // Client credentials only exist in V3
        assert_eq!(
            parse(&v2("TokenGeneration_ClientCredentials")),
            Err("unknown trigger source")
        );
        let mut m2m = v2("TokenGeneration_ClientCredentials");
        m2m["version"] = json!("3");
        let r = parse(&m2m).unwrap();
        assert!(r.machine_to_machine);
        assert_eq!(r.sub, None);
        assert_eq!(parse(&json!([1])), Err("event is not an object"));
        let mut e = v2("TokenGeneration_HostedAuth");
        e["version"] = json!("9");
        assert_eq!(parse(&e), Err("unknown event version"));
    }

    #[test]
    fn v2_stamps_both_tokens_and_keeps_other_overrides() {
        let mut e = v2("TokenGeneration_Authentication");
        e["response"] = json!({"claimsAndScopeOverrideDetails": {
            "idTokenGeneration": {"claimsToAddOrOverride": {"tenant": "t1"}, "claimsToSuppress": ["email"]},
            "groupOverrideDetails": {"groupsToOverride": ["a"]}
        }});
        let req = parse(&e).unwrap();
        let out = apply_stamp(e, &req, "signout_epoch", EpochMs(42));
        let d = &out["response"]["claimsAndScopeOverrideDetails"];
        assert_eq!(
            d["idTokenGeneration"]["claimsToAddOrOverride"],
            json!({"tenant": "t1", "signout_epoch": 42})
        );
        assert_eq!(d["idTokenGeneration"]["claimsToSuppress"], json!(["email"]));
        assert_eq!(
            d["accessTokenGeneration"]["claimsToAddOrOverride"],
            json!({"signout_epoch": 42})
        );
        assert_eq!(
            d["groupOverrideDetails"],
            json!({"groupsToOverride": ["a"]})
        );
        assert_eq!(out["request"]["userAttributes"]["sub"], "s1");
    }

    #[test]
    fn v1_stamps_the_id_token_with_a_string() {
        let mut e = v2("TokenGeneration_HostedAuth");
        e["version"] = json!("1");
        e["response"] = json!({"claimsOverrideDetails": null});
        let req = parse(&e).unwrap();
        let out = apply_stamp(e, &req, "signout_epoch", EpochMs(7));
        assert_eq!(
            out["response"],
            json!({"claimsOverrideDetails": {"claimsToAddOrOverride": {"signout_epoch": "7"}}})
        );
    }

    #[test]
    fn client_credentials_stamp_only_the_access_token() {
        let mut e = v2("TokenGeneration_ClientCredentials");
        e["version"] = json!("3");
        e["response"] = json!({});
        let req = parse(&e).unwrap();
        let out = apply_stamp(e, &req, "signout_epoch", EpochMs(9));
        assert_eq!(
            out["response"],
            json!({"claimsAndScopeOverrideDetails": {"accessTokenGeneration": {"claimsToAddOrOverride": {"signout_epoch": 9}}}})
        );
    }
}
