//! The events function's work: a batch of stream records in, each fact
//! announced to every receiver its scope implies, and the partial batch
//! response the event source mapping acts on.
//!
//! | fact | EventBridge | back-channel logout (every registered client) | CAEP SET (every receiver) |
//! | --- | --- | --- | --- |
//! | session revoked | yes | `sub` and `sid` = `origin_jti` | user + session |
//! | user cutoff, user blocked | yes | `sub` | user |
//! | client cutoff | yes | none: §2.4 needs `sub` or `sid` | application + tenant |
//! | pool cutoff | yes | none: §2.4 needs `sub` or `sid` | tenant |
//!
//! A session's item does not record its app client, so its logout token
//! goes to every registered relying party, each with its own `aud`; `sid`
//! confines it to that one session, and a relying party that never saw the
//! session has nothing to end (and answers 200, §2.8).
//!
//! Delivery is at least once: records are handled in stream order, and the
//! first record with any failed delivery is reported as the batch's item
//! failure, so it and every later record are retried (every receiver again,
//! with the same `jti` and `event_id`), until the mapping's retry limit
//! sends it to the on-failure queue.

use std::sync::Arc;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures_util::future::join_all;

use super::bus::{self, BusError};
use super::deliver::{DeliveryError, backchannel_logout, push_set};
use super::fact::{DecodeError, Recorded, Skip, decode};
use super::kms::KeySet;
use super::settings::EventsSettings;
use super::tokens::{LOGOUT_TYP, SET_TYP, logout_claims, set_claims, subject};
use crate::config::Config;
use crate::model::EpochMs;
use crate::outbound::Outbound;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnnounceError {
    #[error("unreadable record: {0}")]
    Decode(#[from] DecodeError),
    #[error("{0}")]
    Bus(#[from] BusError),
    #[error("{failed} of {total} deliveries failed; first: {first}")]
    Delivery {
        failed: usize,
        total: usize,
        first: DeliveryError,
    },
}

impl AnnounceError {
    pub fn code(&self) -> &'static str {
        match self {
            AnnounceError::Decode(e) => e.code(),
            AnnounceError::Bus(e) => e.code(),
            AnnounceError::Delivery { first, .. } => first.code(),
        }
    }
}

/// What became of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Announced: the fact's kind and how many receivers took it (EventBridge included).
    Announced {
        kind: &'static str,
        receivers: usize,
    },
    Skipped(Skip),
}

pub struct Announcer {
    home: String,
    cognito_issuer: String,
    pool_id: String,
    settings: EventsSettings,
    /// `EVENTS_ISSUER`, when receivers are configured.
    issuer: Option<String>,
    eventbridge: aws_sdk_eventbridge::Client,
    keys: Option<Arc<KeySet>>,
    http: Outbound,
}

impl Announcer {
    pub fn from_config(
        sdk: &aws_config::SdkConfig,
        config: &Config,
        settings: EventsSettings,
    ) -> Self {
        let keys = config
            .events_signing
            .as_ref()
            .map(|s| Arc::new(KeySet::new(crate::xray::kms(sdk), s.keys.clone())));
        Announcer {
            home: config.region.clone(),
            cognito_issuer: config.issuer.clone(),
            pool_id: config.user_pool_id.clone(),
            eventbridge: aws_sdk_eventbridge::Client::from_conf(
                aws_sdk_eventbridge::config::Builder::from(sdk)
                    .interceptor(crate::xray::Interceptor)
                    .build(),
            ),
            keys,
            issuer: config.events_signing.as_ref().map(|s| s.issuer.clone()),
            http: Outbound::new(config.sdk_operation_timeout),
            settings,
        }
    }

    /// Every configured receiver of `r`, signed and delivered concurrently.
    async fn deliver(&self, r: &Recorded) -> Vec<Result<(), DeliveryError>> {
        let (Some(keys), Some(issuer)) = (&self.keys, &self.issuer) else {
            return Vec::new();
        };
        let now = EpochMs::now().secs();
        let issuer = issuer.as_str();
        let logouts = self
            .settings
            .backchannel
            .iter()
            .filter_map(|(client, reg)| {
                let uri = &reg.backchannel_logout_uri;
                let claims = logout_claims(r, issuer, client, uri.as_str(), now)?;
                Some(async move {
                    let token = keys.sign(LOGOUT_TYP, &claims).await?;
                    backchannel_logout(&self.http, uri, &token).await
                })
            });
        let subject = subject(&r.fact, &self.cognito_issuer, &self.pool_id);
        let sets = self.settings.ssf.iter().map(|rcv| {
            let url = &rcv.endpoint_url;
            let claims = set_claims(r, issuer, &rcv.aud, url.as_str(), subject.clone(), now);
            async move {
                let set = keys.sign(SET_TYP, &claims).await?;
                push_set(&self.http, url, &set).await
            }
        });
        let mut all: Vec<_> = join_all(logouts).await;
        all.extend(join_all(sets).await);
        all
    }

    /// Announces one record's fact, or says why there is nothing to announce.
    pub async fn record(&self, record: &EventRecord) -> Result<Outcome, AnnounceError> {
        let r = match decode(record, &self.home)? {
            Ok(r) => r,
            Err(skip) => return Ok(Outcome::Skipped(skip)),
        };
        let bus = async {
            match &self.settings.bus {
                Some(name) => bus::put(&self.eventbridge, name, &r).await.map(|()| 1),
                None => Ok(0),
            }
        };
        let (bus, deliveries) = tokio::join!(bus, self.deliver(&r));
        let total = deliveries.len();
        let failures: Vec<DeliveryError> = deliveries.into_iter().filter_map(Result::err).collect();
        for f in &failures {
            crate::metrics::event_delivery_failed(f.code());
            tracing::warn!(event_id = %r.id, fact = r.fact.kind(), code = f.code(), error = %f, "delivery failed");
        }
        if let Err(e) = &bus {
            crate::metrics::event_delivery_failed(e.code());
        }
        let on_bus = bus?;
        if let Some(first) = failures.first() {
            return Err(AnnounceError::Delivery {
                failed: failures.len(),
                total,
                first: first.clone(),
            });
        }
        crate::metrics::event_announced(r.fact.kind());
        tracing::info!(event_id = %r.id, fact = r.fact.kind(), receivers = total + on_bus, "announced");
        Ok(Outcome::Announced {
            kind: r.fact.kind(),
            receivers: total + on_bus,
        })
    }

    /// Handles a batch in stream order; the first record that fails ends it
    /// and is reported (by sequence number) as the batch item failure, so
    /// the event source mapping retries from there and order per item holds.
    pub async fn batch(&self, event: Event) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        for record in &event.records {
            match self.record(record).await {
                Ok(Outcome::Skipped(skip)) => {
                    tracing::debug!(event_id = record.event_id, reason = skip.code(), "skipped")
                }
                Ok(Outcome::Announced { .. }) => {}
                Err(e) => {
                    tracing::warn!(event_id = record.event_id, code = e.code(), error = %e, "record failed: retried from here");
                    let mut failure = DynamoDbBatchItemFailure::default();
                    failure.item_identifier = record.change.sequence_number.clone();
                    response.batch_item_failures.push(failure);
                    break;
                }
            }
        }
        response
    }
}
