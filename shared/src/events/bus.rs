//! One EventBridge event per fact: `source` [`SOURCE`], a `detail-type` per
//! kind of fact ([`detail_type`]), and a `detail` whose JSON Schema is in
//! `docs/events/<kind>.schema.json`. A detail names who and what (`sub`,
//! `origin_jti`, `client_id`), the cutoff, the actor and the Region; never a
//! token, a cookie or a secret. `event_id` is the same on every delivery of
//! one fact: consumers deduplicate by it.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::{Map, Value, json};

use super::fact::{Fact, Recorded};
use crate::aws::classify;

/// The `source` of every event.
pub const SOURCE: &str = "cognito-signout";

/// The `detail-type` of each kind of fact.
pub fn detail_type(fact: &Fact) -> &'static str {
    match fact {
        Fact::UserCutoff { .. } => "User Signed Out",
        Fact::SessionRevoked { .. } => "Session Revoked",
        Fact::UserBlocked { .. } => "User Blocked",
        Fact::ClientCutoff { .. } => "Client Signed Out",
        Fact::PoolCutoff { .. } => "Pool Signed Out",
    }
}

/// The `detail` of `r`'s event.
pub fn detail(r: &Recorded) -> Value {
    let mut d = Map::new();
    d.insert("event_id".into(), json!(r.id));
    d.insert("fact".into(), json!(r.fact.kind()));
    if let Some(sub) = r.fact.sub() {
        d.insert("sub".into(), json!(sub));
    }
    if let Some(session) = r.fact.session() {
        d.insert("origin_jti".into(), json!(session));
    }
    if let Some(client) = r.fact.client() {
        d.insert("client_id".into(), json!(client));
    }
    if let Some(cutoff) = r.fact.cutoff() {
        d.insert("cutoff".into(), json!(cutoff.0));
    }
    if let Fact::UserBlocked { until, .. } = &r.fact {
        d.insert("blocked_until".into(), json!(until.0));
    }
    d.insert("actor".into(), json!(r.actor.as_str()));
    d.insert("region".into(), json!(r.region));
    d.insert("recorded_at".into(), json!(r.recorded_at.0));
    Value::Object(d)
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    #[error("EventBridge is unreachable or failing ({0})")]
    Unavailable(String),
    #[error("EventBridge refused the request ({0})")]
    Rejected(String),
    #[error("EventBridge did not accept the event ({0})")]
    NotAccepted(String),
}

impl BusError {
    pub fn code(&self) -> &'static str {
        match self {
            BusError::Unavailable(_) => "bus_unavailable",
            BusError::Rejected(_) => "bus_rejected",
            BusError::NotAccepted(_) => "bus_not_accepted",
        }
    }
}

/// Puts `r`'s event on `bus`.
pub async fn put(client: &Client, bus: &str, r: &Recorded) -> Result<(), BusError> {
    let entry = PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(SOURCE)
        .detail_type(detail_type(&r.fact))
        .detail(detail(r).to_string())
        .build();
    let out = client
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|e| {
            let f = classify(&e);
            if f.retryable {
                BusError::Unavailable(f.code)
            } else {
                BusError::Rejected(f.code)
            }
        })?;
    // PutEvents answers 200 with per-entry failures (throttling among them).
    if out.failed_entry_count() > 0 {
        let code = out
            .entries()
            .iter()
            .find_map(|e| e.error_code())
            .unwrap_or("unknown")
            .to_owned();
        return Err(BusError::NotAccepted(code));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::fact::Actor;
    use crate::model::{ClientId, EpochMs, OriginJti, Sub};

    fn recorded(fact: Fact) -> Recorded {
        Recorded {
            fact,
            actor: Actor::Admin,
            region: "eu-west-1".into(),
            recorded_at: EpochMs(7),
            id: "id".into(),
        }
    }

    #[test]
    fn a_session_detail_names_the_session_and_no_cutoff() {
        let d = detail(&recorded(Fact::SessionRevoked {
            sub: Sub::from("u"),
            session: OriginJti::from("oj"),
        }));
        assert_eq!(
            d,
            json!({"event_id": "id", "fact": "session_revoked", "sub": "u", "origin_jti": "oj",
                   "actor": "admin", "region": "eu-west-1", "recorded_at": 7})
        );
    }

    #[test]
    fn a_client_detail_names_the_client_and_its_cutoff() {
        let d = detail(&recorded(Fact::ClientCutoff {
            client: ClientId::from("c"),
            cutoff: EpochMs(5),
        }));
        assert_eq!(d["client_id"], "c");
        assert_eq!(d["cutoff"], 5);
        assert!(d.get("sub").is_none());
    }

    #[test]
    fn a_block_detail_carries_its_end() {
        let d = detail(&recorded(Fact::UserBlocked {
            sub: Sub::from("u"),
            until: EpochMs(9),
        }));
        assert_eq!(d["blocked_until"], 9);
        assert_eq!(
            detail_type(&Fact::PoolCutoff { cutoff: EpochMs(1) }),
            "Pool Signed Out"
        );
    }
}
