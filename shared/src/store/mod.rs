//! The revocation store on DynamoDB.
//!
//! One table, key `pk` (string), TTL attribute `expires_at` (epoch seconds).
//! Each fact is its own item ([`keys`]): a user's cutoff, a block, one
//! revoked session, a client's cutoff, the pool's cutoff. Every key carries
//! the Region that writes it, so with a global table no item is ever written
//! in two Regions; readers fold the items of every configured Region.
//!
//! Writes are one conditional `UpdateItem` each, raising the fact's value
//! only when it moves forward (`attribute_not_exists(v) OR v < :v`): the
//! stored value is the maximum of every write, with no read before it, and
//! a lost condition means a later value is already there. Each item's
//! `expires_at` follows from its value ([`lifetimes`]), so it moves forward
//! with it. A read is one `BatchGetItem` of a small, known set of keys.

pub mod keys;
pub mod lifetimes;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use crate::aws::{AwsFailure, classify};
use crate::config::Config;
use crate::model::{ClientId, Cutoff, EpochMs, OriginJti, Source, Sub};
pub use keys::Fact;
pub use lifetimes::{Lifetimes, TTL_SLACK_SECS};

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
        crate::metrics::store_error();
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

/// What one read asks about: the token's user, session and client.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lookup<'a> {
    /// `None` for machine-to-machine tokens, which have no user.
    pub sub: Option<&'a Sub>,
    /// The token's `origin_jti`; `None` when unknown (the trigger, which
    /// runs before the new token has one).
    pub session: Option<&'a OriginJti>,
    pub client: Option<&'a ClientId>,
}

impl<'a> Lookup<'a> {
    /// A user's cutoff and block.
    pub fn user(sub: &'a Sub) -> Self {
        Lookup {
            sub: Some(sub),
            ..Lookup::default()
        }
    }

    /// A user's cutoff and block, and whether one of their sessions was revoked.
    pub fn session(sub: &'a Sub, session: &'a OriginJti) -> Self {
        Lookup {
            sub: Some(sub),
            session: Some(session),
            client: None,
        }
    }
}

/// Everything one decision needs, folded over every Region's items.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevocationState {
    pub user_not_before: Option<Cutoff>,
    pub blocked_until: Option<EpochMs>,
    /// Set when the looked-up session was revoked: the last moment (epoch s)
    /// a token of it can be presented.
    pub session_revoked_until: Option<u64>,
    pub client_not_before: Option<Cutoff>,
    pub pool_not_before: Option<Cutoff>,
}

impl RevocationState {
    /// The cutoff that applies: the latest of user, client and pool.
    pub fn cutoff(&self) -> Option<Cutoff> {
        [
            self.user_not_before,
            self.client_not_before,
            self.pool_not_before,
        ]
        .into_iter()
        .flatten()
        .max()
    }

    pub fn session_revoked(&self) -> bool {
        self.session_revoked_until.is_some()
    }
}

/// Whether a read must see every write that completed before it (in this Region).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    Eventual,
    Strong,
}

#[derive(Clone, Debug)]
pub struct Store {
    ddb: Client,
    table: String,
    lifetimes: Lifetimes,
    /// The Region this process writes in (its own replica).
    home: String,
    /// Every Region whose items readers fold, `home` included.
    regions: Vec<String>,
}

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

/// Attributes the reader needs; the rest of an item is for audit.
const PROJECTION: &str = "pk, not_before, blocked_until, covers_until";

/// One fact to record: its item, value and expiry, and who it is about.
struct Write<'a> {
    fact: Fact,
    pk: String,
    value: u64,
    expires_at: u64,
    source: Source,
    sub: Option<&'a Sub>,
    session: Option<&'a OriginJti>,
    client: Option<&'a ClientId>,
}

impl Store {
    /// [`Store::from_config`] with a DynamoDB client of `sdk`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, config: &Config) -> Self {
        let client = aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(crate::xray::Interceptor)
            .build();
        Self::from_config(Client::from_conf(client), config)
    }

    /// The store of `config`'s table, writing in `config.region`.
    pub fn from_config(ddb: Client, config: &Config) -> Self {
        Store {
            ddb,
            table: config.table.clone(),
            lifetimes: Lifetimes::from_config(config),
            home: config.region.clone(),
            regions: config.regions.clone(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn lifetimes(&self) -> &Lifetimes {
        &self.lifetimes
    }

    pub fn home_region(&self) -> &str {
        &self.home
    }

    /// One conditional `UpdateItem`: raises the fact unless an equal or later
    /// value is already recorded (then there is nothing to do).
    async fn raise(&self, w: Write<'_>) -> Result<(), StoreError> {
        let mut req = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&w.pk))
            .condition_expression("attribute_not_exists(#v) OR #v < :v")
            .expression_attribute_names("#v", w.fact.value_attribute())
            .expression_attribute_names("#src", "source")
            .expression_attribute_values(":v", n(w.value))
            .expression_attribute_values(":exp", n(w.expires_at))
            .expression_attribute_values(":now", n(EpochMs::now().0))
            .expression_attribute_values(":src", s(w.source.as_str()));
        // The key names the fact and the Region; the ids are kept for audit.
        let mut set =
            String::from("SET #v = :v, expires_at = :exp, updated_at = :now, #src = :src");
        for (attr, value) in [
            ("sub", w.sub.map(Sub::as_str)),
            ("origin_jti", w.session.map(OriginJti::as_str)),
            ("client_id", w.client.map(ClientId::as_str)),
        ] {
            if let Some(value) = value {
                set.push_str(&format!(", #{attr} = :{attr}"));
                req = req
                    .expression_attribute_names(format!("#{attr}"), attr)
                    .expression_attribute_values(format!(":{attr}"), s(value));
            }
        }
        match req.update_expression(set).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let f = classify(&e);
                if f.code == "ConditionalCheckFailedException" {
                    Ok(()) // an equal or later value is already recorded
                } else {
                    Err(StoreError::from_failure(f))
                }
            }
        }
    }

    /// Records that every token of `sub` minted before `at` is revoked.
    pub async fn raise_user_cutoff(
        &self,
        sub: &Sub,
        at: Cutoff,
        source: Source,
    ) -> Result<(), StoreError> {
        self.raise(Write {
            fact: Fact::UserCutoff,
            pk: keys::user_cutoff(&self.home, sub),
            value: at.0,
            expires_at: self.lifetimes.cutoff_expiry(at),
            source,
            sub: Some(sub),
            session: None,
            client: None,
        })
        .await
    }

    /// Incident response: every token of one app client minted before `at`.
    pub async fn raise_client_cutoff(
        &self,
        client: &ClientId,
        at: Cutoff,
        source: Source,
    ) -> Result<(), StoreError> {
        self.raise(Write {
            fact: Fact::ClientCutoff,
            pk: keys::client_cutoff(&self.home, client),
            value: at.0,
            expires_at: self.lifetimes.cutoff_expiry(at),
            source,
            sub: None,
            session: None,
            client: Some(client),
        })
        .await
    }

    /// Incident response: every token of the pool minted before `at`.
    pub async fn raise_pool_cutoff(&self, at: Cutoff, source: Source) -> Result<(), StoreError> {
        self.raise(Write {
            fact: Fact::PoolCutoff,
            pk: keys::pool_cutoff(&self.home),
            value: at.0,
            expires_at: self.lifetimes.cutoff_expiry(at),
            source,
            sub: None,
            session: None,
            client: None,
        })
        .await
    }

    /// Refuses tokens for `sub` until `until` (the trigger refuses to mint, the check denies).
    pub async fn block_user(
        &self,
        sub: &Sub,
        until: EpochMs,
        source: Source,
    ) -> Result<(), StoreError> {
        self.raise(Write {
            fact: Fact::Block,
            pk: keys::block(&self.home, sub),
            value: until.0,
            expires_at: self.lifetimes.block_expiry(until),
            source,
            sub: Some(sub),
            session: None,
            client: None,
        })
        .await
    }

    /// Records one session (`origin_jti`) of `sub` as revoked. `covers_until`
    /// (epoch s) is the last moment a token of that session can be presented
    /// ([`Lifetimes::session_covers_until`]).
    pub async fn revoke_session(
        &self,
        sub: &Sub,
        session: &OriginJti,
        covers_until: u64,
        source: Source,
    ) -> Result<(), StoreError> {
        self.raise(Write {
            fact: Fact::Session,
            pk: keys::session(&self.home, sub, session),
            value: covers_until,
            expires_at: self.lifetimes.session_expiry(covers_until),
            source,
            sub: Some(sub),
            session: Some(session),
            client: None,
        })
        .await
    }

    /// The keys one read needs, each with the fact it holds.
    fn keys_for(&self, lookup: Lookup<'_>) -> Vec<(String, Fact)> {
        let mut out = Vec::with_capacity(5 * self.regions.len());
        for r in &self.regions {
            if let Some(sub) = lookup.sub {
                out.push((keys::user_cutoff(r, sub), Fact::UserCutoff));
                out.push((keys::block(r, sub), Fact::Block));
                if let Some(jti) = lookup.session {
                    out.push((keys::session(r, sub, jti), Fact::Session));
                }
            }
            if let Some(c) = lookup.client {
                out.push((keys::client_cutoff(r, c), Fact::ClientCutoff));
            }
            out.push((keys::pool_cutoff(r), Fact::PoolCutoff));
        }
        out
    }

    /// Reads every item that could bear on `lookup`, in every Region, with
    /// one `BatchGetItem`, and folds them: the latest cutoffs and block, and
    /// whether the session was revoked in any Region.
    pub async fn load(
        &self,
        lookup: Lookup<'_>,
        consistency: Consistency,
    ) -> Result<RevocationState, StoreError> {
        let wanted: HashMap<String, Fact> = self.keys_for(lookup).into_iter().collect();
        let keys = wanted
            .keys()
            .map(|k| HashMap::from([("pk".to_owned(), s(k))]))
            .collect();
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(consistency == Consistency::Strong)
            .projection_expression(PROJECTION)
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
            let Some(fact) = wanted.get(pk) else {
                continue;
            };
            let Some(v) = read_n(&item, fact.value_attribute())? else {
                continue;
            };
            let slot = match fact {
                Fact::UserCutoff => &mut state.user_not_before,
                Fact::Block => &mut state.blocked_until,
                Fact::ClientCutoff => &mut state.client_not_before,
                Fact::PoolCutoff => &mut state.pool_not_before,
                Fact::Session => {
                    state.session_revoked_until = state.session_revoked_until.max(Some(v));
                    continue;
                }
            };
            *slot = (*slot).max(Some(EpochMs(v)));
        }
        Ok(state)
    }
}
