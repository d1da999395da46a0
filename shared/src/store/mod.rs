//! The revocation store on DynamoDB.
//!
//! One table, key `pk` (string), TTL attribute `expires_at` (epoch seconds):
//!
//! | `pk` | attributes |
//! | --- | --- |
//! | `USER#<sub>` | `not_before` (ms), `revoked_sessions` (map origin_jti -> epoch s), `blocked_until` (ms) |
//! | `CLIENT#<client_id>` | `not_before` (ms) |
//! | `POOL` | `not_before` (ms) |
//!
//! Every item also has `expires_at`, `updated_at` (ms) and `source`.
//! Values that must only grow (`not_before`, `blocked_until`, a session's
//! expiry, `expires_at`) are written with conditional updates, never by
//! read-modify-write, so concurrent writers leave the maximum.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};

use crate::aws::{AwsFailure, classify};
use crate::model::{ClientId, Cutoff, EpochMs, OriginJti, Source, Sub};

/// Slack added to every TTL so clock skew never drops an item early.
const TTL_SLACK_SECS: u64 = 300;
/// Bound on the retry loop that resolves a lost conditional race.
const MAX_RACE_ROUNDS: usize = 8;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the revocation store is throttling requests ({0})")]
    Throttled(String),
    #[error("the revocation store is unreachable ({0})")]
    Unavailable(String),
    #[error("the revocation store refused the request ({0})")]
    Rejected(String),
    #[error("the revocation store returned an unreadable item")]
    Corrupt,
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Throttled(_) => "store_throttled",
            StoreError::Unavailable(_) => "store_unavailable",
            StoreError::Rejected(_) => "store_rejected",
            StoreError::Corrupt => "store_corrupt",
        }
    }

    pub fn retryable(&self) -> bool {
        matches!(self, StoreError::Throttled(_) | StoreError::Unavailable(_))
    }

    fn from_failure(f: AwsFailure) -> Self {
        if f.code.contains("Throughput")
            || f.code.contains("Throttl")
            || f.code == "RequestLimitExceeded"
        {
            StoreError::Throttled(f.code)
        } else if f.retryable {
            StoreError::Unavailable(f.code)
        } else {
            StoreError::Rejected(f.code)
        }
    }
}

/// What the store holds about one user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserRecord {
    pub not_before: Option<Cutoff>,
    /// origin_jti -> epoch seconds until which the session stays revoked.
    pub revoked_sessions: HashMap<OriginJti, u64>,
    pub blocked_until: Option<EpochMs>,
}

/// Everything one decision needs, read in one round trip.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevocationState {
    pub user: UserRecord,
    pub client_not_before: Option<Cutoff>,
    pub pool_not_before: Option<Cutoff>,
}

impl RevocationState {
    /// The cutoff that applies: the latest of user, client and pool.
    pub fn cutoff(&self) -> Option<Cutoff> {
        [
            self.user.not_before,
            self.client_not_before,
            self.pool_not_before,
        ]
        .into_iter()
        .flatten()
        .max()
    }
}

/// Whether a read must see every write that completed before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    Eventual,
    Strong,
}

#[derive(Clone, Debug)]
pub struct Store {
    ddb: Client,
    table: String,
    max_token_lifetime: Duration,
}

pub fn user_key(sub: &Sub) -> String {
    format!("USER#{sub}")
}

pub fn client_key(client: &ClientId) -> String {
    format!("CLIENT#{client}")
}

pub const POOL_KEY: &str = "POOL";

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn read_n(item: &HashMap<String, AttributeValue>, k: &str) -> Result<Option<u64>, StoreError> {
    match item.get(k) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| StoreError::Corrupt),
        Some(_) => Err(StoreError::Corrupt),
    }
}

/// What a conditional update ended as.
enum Outcome {
    Written(Option<HashMap<String, AttributeValue>>),
    ConditionFailed,
}

impl Store {
    pub fn new(ddb: Client, table: impl Into<String>, max_token_lifetime: Duration) -> Self {
        Store {
            ddb,
            table: table.into(),
            max_token_lifetime,
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// TTL for an item that records something valid until `until_s`.
    fn ttl_after(&self, until_s: u64) -> u64 {
        until_s + self.max_token_lifetime.as_secs() + TTL_SLACK_SECS
    }

    async fn update(
        &self,
        pk: &str,
        set: &str,
        condition: Option<&str>,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
        return_new: bool,
    ) -> Result<Outcome, StoreError> {
        let mut req = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .update_expression(set)
            .set_condition_expression(condition.map(str::to_owned));
        for (k, v) in names {
            req = req.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        if return_new {
            req = req.return_values(ReturnValue::AllNew);
        }
        match req.send().await {
            Ok(out) => Ok(Outcome::Written(out.attributes)),
            Err(e) => {
                let f = classify(&e);
                if f.code == "ConditionalCheckFailedException" {
                    Ok(Outcome::ConditionFailed)
                } else {
                    Err(StoreError::from_failure(f))
                }
            }
        }
    }

    /// Raises `attr` on `pk` to `value` unless it is already at least that,
    /// and `expires_at` to `ttl` unless it is already later. One round trip
    /// when both move forward (the usual case), three at most otherwise.
    async fn raise(
        &self,
        pk: &str,
        attr: &str,
        value: u64,
        ttl: u64,
        source: Source,
    ) -> Result<(), StoreError> {
        let now = EpochMs::now().0;
        let vals = || {
            vec![
                (":v", n(value)),
                (":exp", n(ttl)),
                (":now", n(now)),
                (":src", s(source.as_str())),
            ]
        };
        let names = [("#a", attr), ("#src", "source")];
        let both = self
            .update(
                pk,
                "SET #a = :v, expires_at = :exp, updated_at = :now, #src = :src",
                Some("(attribute_not_exists(#a) OR #a <= :v) AND (attribute_not_exists(expires_at) OR expires_at <= :exp)"),
                &names,
                vals(),
                false,
            )
            .await?;
        if let Outcome::Written(_) = both {
            return Ok(());
        }
        // One of the two is already ahead: move each on its own.
        self.update(
            pk,
            "SET #a = :v, expires_at = if_not_exists(expires_at, :exp), updated_at = :now, #src = :src",
            Some("attribute_not_exists(#a) OR #a < :v"),
            &names,
            vals(),
            false,
        )
        .await?;
        self.bump_ttl(pk, ttl).await
    }

    async fn bump_ttl(&self, pk: &str, ttl: u64) -> Result<(), StoreError> {
        self.update(
            pk,
            "SET expires_at = :exp",
            Some("attribute_not_exists(expires_at) OR expires_at < :exp"),
            &[],
            vec![(":exp", n(ttl))],
            false,
        )
        .await
        .map(|_| ())
    }

    /// Records that every token of `sub` minted before `at` is revoked.
    pub async fn raise_user_cutoff(
        &self,
        sub: &Sub,
        at: Cutoff,
        source: Source,
    ) -> Result<(), StoreError> {
        self.raise(
            &user_key(sub),
            "not_before",
            at.0,
            self.ttl_after(at.secs()),
            source,
        )
        .await
    }

    /// Incident response: every token of one app client minted before `at`.
    pub async fn raise_client_cutoff(
        &self,
        client: &ClientId,
        at: Cutoff,
        source: Source,
    ) -> Result<(), StoreError> {
        self.raise(
            &client_key(client),
            "not_before",
            at.0,
            self.ttl_after(at.secs()),
            source,
        )
        .await
    }

    /// Incident response: every token of the pool minted before `at`.
    pub async fn raise_pool_cutoff(&self, at: Cutoff, source: Source) -> Result<(), StoreError> {
        self.raise(
            POOL_KEY,
            "not_before",
            at.0,
            self.ttl_after(at.secs()),
            source,
        )
        .await
    }

    /// Refuses new tokens for `sub` until `until` (the trigger enforces it).
    pub async fn block_user(
        &self,
        sub: &Sub,
        until: EpochMs,
        source: Source,
    ) -> Result<(), StoreError> {
        self.raise(
            &user_key(sub),
            "blocked_until",
            until.0,
            self.ttl_after(until.secs()),
            source,
        )
        .await
    }

    /// Records one session (`origin_jti`) of `sub` as revoked until `until_s`
    /// (epoch seconds): the expiry of the last token that session can carry.
    pub async fn revoke_session(
        &self,
        sub: &Sub,
        session: &OriginJti,
        until_s: u64,
        source: Source,
    ) -> Result<(), StoreError> {
        let pk = user_key(sub);
        let ttl = self.ttl_after(until_s);
        let now = EpochMs::now().0;
        let names = [("#j", session.as_str()), ("#src", "source")];
        let base = || {
            vec![
                (":u", n(until_s)),
                (":now", n(now)),
                (":src", s(source.as_str())),
            ]
        };
        for _ in 0..MAX_RACE_ROUNDS {
            // Usual case: the map exists, the entry is new or older, the TTL moves forward.
            let mut vals = base();
            vals.push((":exp", n(ttl)));
            let first = self
                .update(
                    &pk,
                    "SET revoked_sessions.#j = :u, expires_at = :exp, updated_at = :now, #src = :src",
                    Some(
                        "attribute_exists(revoked_sessions) \
                         AND (attribute_not_exists(revoked_sessions.#j) OR revoked_sessions.#j < :u) \
                         AND (attribute_not_exists(expires_at) OR expires_at <= :exp)",
                    ),
                    &names,
                    vals,
                    true,
                )
                .await?;
            if let Outcome::Written(item) = first {
                self.prune(&pk, item.as_ref(), now / 1000).await;
                return Ok(());
            }
            // Some part of the condition failed: look, then fix only what is behind.
            let current = self.get_user_item(&pk).await?;
            let map = match current.as_ref().and_then(|i| i.get("revoked_sessions")) {
                Some(AttributeValue::M(m)) => Some(m),
                _ => None,
            };
            let Some(map) = map else {
                let mut vals = base();
                vals.push((":exp", n(ttl)));
                vals.push((
                    ":m",
                    AttributeValue::M(HashMap::from([(session.0.clone(), n(until_s))])),
                ));
                let created = self
                    .update(
                        &pk,
                        "SET revoked_sessions = :m, expires_at = if_not_exists(expires_at, :exp), updated_at = :now, #src = :src",
                        Some("attribute_not_exists(revoked_sessions)"),
                        &[("#src", "source")],
                        vals.into_iter().filter(|(k, _)| *k != ":u").collect(),
                        false,
                    )
                    .await?;
                if let Outcome::ConditionFailed = created {
                    continue; // someone created the map first: go round again
                }
                return self.bump_ttl(&pk, ttl).await;
            };
            let behind = match map.get(session.as_str()) {
                None => true,
                Some(AttributeValue::N(v)) => v.parse::<u64>().map_or(true, |v| v < until_s),
                Some(_) => true,
            };
            if behind {
                let entry = self
                    .update(
                        &pk,
                        "SET revoked_sessions.#j = :u, updated_at = :now, #src = :src",
                        Some("attribute_exists(revoked_sessions) AND (attribute_not_exists(revoked_sessions.#j) OR revoked_sessions.#j < :u)"),
                        &names,
                        base(),
                        false,
                    )
                    .await?;
                if let Outcome::ConditionFailed = entry {
                    continue;
                }
            }
            return self.bump_ttl(&pk, ttl).await;
        }
        Err(StoreError::Unavailable(
            "conditional write kept losing races".into(),
        ))
    }

    /// Drops session entries whose tokens have all expired. Best effort: each
    /// removal is conditional on the entry being unchanged.
    async fn prune(&self, pk: &str, item: Option<&HashMap<String, AttributeValue>>, now_s: u64) {
        let Some(AttributeValue::M(map)) = item.and_then(|i| i.get("revoked_sessions")) else {
            return;
        };
        let expired: Vec<(&String, &AttributeValue)> = map
            .iter()
            .filter(|(_, v)| matches!(v, AttributeValue::N(x) if x.parse::<u64>().is_ok_and(|x| x + TTL_SLACK_SECS < now_s)))
            .take(50)
            .collect();
        for (k, v) in expired {
            let _ = self
                .update(
                    pk,
                    "REMOVE revoked_sessions.#j",
                    Some("revoked_sessions.#j = :old"),
                    &[("#j", k)],
                    vec![(":old", v.clone())],
                    false,
                )
                .await;
        }
    }

    async fn get_user_item(
        &self,
        pk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        self.ddb
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map(|o| o.item)
            .map_err(|e| StoreError::from_failure(classify(&e)))
    }

    /// Reads the user, client and pool items in one `BatchGetItem`.
    /// `sub` is `None` for machine-to-machine tokens, which have no user.
    pub async fn load(
        &self,
        sub: Option<&Sub>,
        client: Option<&ClientId>,
        consistency: Consistency,
    ) -> Result<RevocationState, StoreError> {
        let ukey = sub.map(user_key);
        let ckey = client.map(client_key);
        let mut keys = Vec::with_capacity(3);
        if let Some(u) = &ukey {
            keys.push(HashMap::from([("pk".to_owned(), s(u))]));
        }
        if let Some(c) = &ckey {
            keys.push(HashMap::from([("pk".to_owned(), s(c))]));
        }
        keys.push(HashMap::from([("pk".to_owned(), s(POOL_KEY))]));
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(consistency == Consistency::Strong)
            .projection_expression("pk, not_before, revoked_sessions, blocked_until")
            .build()
            .map_err(|_| StoreError::Rejected("invalid_request".into()))?;
        let mut items: Vec<HashMap<String, AttributeValue>> = Vec::new();
        // Unprocessed keys come back under throttling: try once more, then fail (closed).
        for attempt in 0..2 {
            let out = self
                .ddb
                .batch_get_item()
                .request_items(&self.table, request.clone())
                .send()
                .await
                .map_err(|e| StoreError::from_failure(classify(&e)))?;
            if let Some(mut responses) = out.responses
                && let Some(got) = responses.remove(&self.table)
            {
                items.extend(got);
            }
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys.is_empty() => {
                    if attempt == 1 {
                        return Err(StoreError::Throttled("UnprocessedKeys".into()));
                    }
                    request = rest;
                }
                _ => break,
            }
        }
        let mut state = RevocationState::default();
        for item in items {
            let Some(AttributeValue::S(pk)) = item.get("pk") else {
                return Err(StoreError::Corrupt);
            };
            let nb = read_n(&item, "not_before")?.map(EpochMs);
            if Some(pk) == ukey.as_ref() {
                state.user.not_before = nb;
                state.user.blocked_until = read_n(&item, "blocked_until")?.map(EpochMs);
                if let Some(AttributeValue::M(m)) = item.get("revoked_sessions") {
                    for (k, v) in m {
                        let AttributeValue::N(v) = v else {
                            return Err(StoreError::Corrupt);
                        };
                        let until = v.parse().map_err(|_| StoreError::Corrupt)?;
                        state
                            .user
                            .revoked_sessions
                            .insert(OriginJti(k.clone()), until);
                    }
                }
            } else if Some(pk) == ckey.as_ref() {
                state.client_not_before = nb;
            } else if pk == POOL_KEY {
                state.pool_not_before = nb;
            }
        }
        Ok(state)
    }
}
