//! A DynamoDB Streams record of the revocation table, read back into the
//! sign-out it recorded.
//!
//! Which records are announced, and why:
//!
//! * only `INSERT` and `MODIFY`: the store raises a fact with one
//!   conditional `UpdateItem`, so every write that recorded something is one
//!   of those; a `REMOVE` is never a sign-out (TTL expiry, whose
//!   `userIdentity.principalId` is `dynamodb.amazonaws.com`, or an operator);
//! * only keys whose Region prefix is the function's own Region: with a
//!   global table every replica's stream carries every Region's writes, and
//!   each Region announces its own, so nothing is announced twice;
//! * a `MODIFY` only when the fact's value moved forward: nothing is
//!   announced that was not recorded.

use std::collections::HashMap;

use aws_lambda_events::event::dynamodb::EventRecord;
use serde_dynamo::AttributeValue;

use super::digest_id;
use crate::model::{ClientId, EpochMs, OriginJti, Sub};

/// Who recorded the sign-out, from the item's `source` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The user: self-service sign-out or RFC 7009 revocation.
    User,
    /// The browser logout (`GET /logout`), on the user's behalf.
    Logout,
    /// An administrator (`/admin/users/{username}/signout`).
    Admin,
    /// Incident response (client or pool cutoff).
    Incident,
}

impl Actor {
    /// The `actor` of EventBridge details.
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::User => "self",
            Actor::Logout => "logout",
            Actor::Admin => "admin",
            Actor::Incident => "incident",
        }
    }

    fn from_source(source: &str) -> Option<Self> {
        // The values of `model::Source::as_str`, as the store writes them.
        Some(match source {
            "self-service" | "revoke" => Actor::User,
            "logout" => Actor::Logout,
            "admin" => Actor::Admin,
            "incident-response" => Actor::Incident,
            _ => return None,
        })
    }
}

/// What was recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// Every token of `sub` minted before `cutoff` is revoked.
    UserCutoff { sub: Sub, cutoff: EpochMs },
    /// One session (`origin_jti`) of `sub` is revoked.
    SessionRevoked { sub: Sub, session: OriginJti },
    /// `sub` may hold no tokens until `until`.
    UserBlocked { sub: Sub, until: EpochMs },
    /// Every token of one app client minted before `cutoff`.
    ClientCutoff { client: ClientId, cutoff: EpochMs },
    /// Every token of the pool minted before `cutoff`.
    PoolCutoff { cutoff: EpochMs },
}

impl Fact {
    /// The stable name of the kind of fact (`fact` in EventBridge details).
    pub fn kind(&self) -> &'static str {
        match self {
            Fact::UserCutoff { .. } => "user_cutoff",
            Fact::SessionRevoked { .. } => "session_revoked",
            Fact::UserBlocked { .. } => "user_blocked",
            Fact::ClientCutoff { .. } => "client_cutoff",
            Fact::PoolCutoff { .. } => "pool_cutoff",
        }
    }

    pub fn sub(&self) -> Option<&Sub> {
        match self {
            Fact::UserCutoff { sub, .. }
            | Fact::SessionRevoked { sub, .. }
            | Fact::UserBlocked { sub, .. } => Some(sub),
            _ => None,
        }
    }

    pub fn session(&self) -> Option<&OriginJti> {
        match self {
            Fact::SessionRevoked { session, .. } => Some(session),
            _ => None,
        }
    }

    pub fn client(&self) -> Option<&ClientId> {
        match self {
            Fact::ClientCutoff { client, .. } => Some(client),
            _ => None,
        }
    }

    /// The cutoff of a user, client or pool sign-out.
    pub fn cutoff(&self) -> Option<EpochMs> {
        match self {
            Fact::UserCutoff { cutoff, .. }
            | Fact::ClientCutoff { cutoff, .. }
            | Fact::PoolCutoff { cutoff } => Some(*cutoff),
            _ => None,
        }
    }
}

/// One recorded fact, as the stream delivered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub fact: Fact,
    pub actor: Actor,
    /// The Region that wrote it (the key's prefix).
    pub region: String,
    /// When it was written (`updated_at`, epoch ms).
    pub recorded_at: EpochMs,
    /// Stable over every delivery of this write, distinct for any other write:
    /// the digest of the item's key and its new value. EventBridge details
    /// carry it as `event_id`; logout tokens and SETs derive their `jti` from it.
    pub id: String,
}

/// Why a record is not announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A TTL expiry (`REMOVE` by `dynamodb.amazonaws.com`).
    Expired,
    /// Any other `REMOVE`: deleting an item records no sign-out.
    Removed,
    /// Written in another Region (a global table's replica): that Region announces it.
    OtherRegion,
    /// A `MODIFY` that did not move the fact's value forward.
    NotRaised,
}

impl Skip {
    pub fn code(self) -> &'static str {
        match self {
            Skip::Expired => "ttl_expiry",
            Skip::Removed => "removed",
            Skip::OtherRegion => "other_region",
            Skip::NotRaised => "not_raised",
        }
    }
}

/// A record that cannot be read as a fact. Retrying cannot mend it: the
/// event source mapping keeps it in the on-failure queue for an operator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the record's event name {0:?} is not INSERT, MODIFY or REMOVE")]
    UnknownEventName(String),
    #[error("the record has no string key `pk`")]
    MissingKey,
    #[error("the key names no fact this version knows")]
    UnknownKey,
    #[error("the new image has no usable `{0}`")]
    MissingAttribute(&'static str),
    #[error("the new image's `{0}` is not a whole number")]
    BadNumber(&'static str),
    #[error("the new image's `source` names no known actor")]
    UnknownSource,
}

impl DecodeError {
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::UnknownEventName(_) => "unknown_event_name",
            DecodeError::MissingKey => "missing_key",
            DecodeError::UnknownKey => "unknown_key",
            DecodeError::MissingAttribute(_) => "missing_attribute",
            DecodeError::BadNumber(_) => "bad_number",
            DecodeError::UnknownSource => "unknown_source",
        }
    }
}

/// The principal of TTL deletions in a stream record's `userIdentity`.
pub const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

type Image = HashMap<String, AttributeValue>;

fn string<'a>(image: &'a Image, name: &'static str) -> Result<&'a str, DecodeError> {
    match image.get(name) {
        Some(AttributeValue::S(s)) if !s.is_empty() => Ok(s),
        _ => Err(DecodeError::MissingAttribute(name)),
    }
}

fn number(image: &Image, name: &'static str) -> Result<Option<u64>, DecodeError> {
    match image.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(n)) => n
            .parse()
            .map(Some)
            .map_err(|_| DecodeError::BadNumber(name)),
        Some(_) => Err(DecodeError::BadNumber(name)),
    }
}

/// Reads one stream record: the fact to announce, a reason not to, or why
/// it cannot be read. `home` is the function's own Region.
pub fn decode(record: &EventRecord, home: &str) -> Result<Result<Recorded, Skip>, DecodeError> {
    let change = &record.change;
    match record.event_name.as_str() {
        "INSERT" | "MODIFY" => {}
        "REMOVE" => {
            let ttl = record
                .user_identity
                .as_ref()
                .is_some_and(|u| u.principal_id == TTL_PRINCIPAL);
            return Ok(Err(if ttl { Skip::Expired } else { Skip::Removed }));
        }
        other => return Err(DecodeError::UnknownEventName(other.to_owned())),
    }
    let pk = match change.keys.get("pk") {
        Some(AttributeValue::S(pk)) => pk.as_str(),
        _ => return Err(DecodeError::MissingKey),
    };
    let mut parts = pk.splitn(3, '#');
    let region = parts.next().unwrap_or_default();
    if region != home {
        return Ok(Err(Skip::OtherRegion));
    }
    let kind = parts.next().ok_or(DecodeError::UnknownKey)?;
    let new: &Image = &change.new_image;
    let value_attribute = match kind {
        "USER" | "CLIENT" | "POOL" => "not_before",
        "BLOCK" => "blocked_until",
        "SESSION" => "covers_until",
        _ => return Err(DecodeError::UnknownKey),
    };
    let value =
        number(new, value_attribute)?.ok_or(DecodeError::MissingAttribute(value_attribute))?;
    if record.event_name == "MODIFY"
        && let Some(old) = number(&change.old_image, value_attribute)?
        && old >= value
    {
        return Ok(Err(Skip::NotRaised));
    }
    let sub = || string(new, "sub").map(Sub::from);
    let fact = match kind {
        "USER" => Fact::UserCutoff {
            sub: sub()?,
            cutoff: EpochMs(value),
        },
        "BLOCK" => Fact::UserBlocked {
            sub: sub()?,
            until: EpochMs(value),
        },
        "SESSION" => Fact::SessionRevoked {
            sub: sub()?,
            session: string(new, "origin_jti").map(OriginJti::from)?,
        },
        "CLIENT" => Fact::ClientCutoff {
            client: string(new, "client_id").map(ClientId::from)?,
            cutoff: EpochMs(value),
        },
        _ => Fact::PoolCutoff {
            cutoff: EpochMs(value),
        },
    };
    let actor = Actor::from_source(string(new, "source")?).ok_or(DecodeError::UnknownSource)?;
    let recorded_at =
        EpochMs(number(new, "updated_at")?.ok_or(DecodeError::MissingAttribute("updated_at"))?);
    Ok(Ok(Recorded {
        id: digest_id(&[pk, &value.to_string()]),
        fact,
        actor,
        region: region.to_owned(),
        recorded_at,
    }))
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::dynamodb::Event;

    use super::*;

    fn sample(name: &str) -> EventRecord {
        let path = format!("{}/../events/events/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("sample event");
        let mut event: Event = serde_json::from_str(&text).expect("a DynamoDB Streams event");
        event.records.remove(0)
    }

    fn with_new(mut record: EventRecord, name: &str, value: AttributeValue) -> EventRecord {
        record.change.new_image.insert(name.to_owned(), value);
        record
    }

    #[test]
    fn an_inserted_user_cutoff_is_announced_with_its_actor_and_region() {
        let r = decode(&sample("insert-user-cutoff.json"), "us-east-1")
            .unwrap()
            .unwrap();
        assert_eq!(
            r.fact,
            Fact::UserCutoff {
                sub: Sub::from("5f0c1a2b-0000-4000-8000-000000000001"),
                cutoff: EpochMs(1_767_225_600_123),
            }
        );
        assert_eq!(r.actor, Actor::User);
        assert_eq!(r.region, "us-east-1");
        assert_eq!(r.recorded_at, EpochMs(1_767_225_600_125));
        assert_eq!(r.id.len(), 32);
    }

    #[test]
    fn a_raised_session_is_announced_with_its_origin_jti() {
        let r = decode(&sample("modify-session-revoked.json"), "us-east-1")
            .unwrap()
            .unwrap();
        assert_eq!(
            r.fact.session(),
            Some(&OriginJti::from("a1b2c3d4-0000-4000-8000-00000000000a"))
        );
        assert_eq!(r.actor, Actor::Logout);
    }

    #[test]
    fn a_ttl_expiry_is_never_announced() {
        let got = decode(&sample("remove-ttl-expiry.json"), "us-east-1").unwrap();
        assert_eq!(got, Err(Skip::Expired));
    }

    #[test]
    fn a_remove_by_anyone_else_is_not_announced_either() {
        let mut record = sample("remove-ttl-expiry.json");
        record.user_identity = None;
        assert_eq!(decode(&record, "us-east-1").unwrap(), Err(Skip::Removed));
    }

    #[test]
    fn a_write_of_another_region_is_left_to_that_region() {
        let got = decode(&sample("insert-user-cutoff.json"), "eu-west-1").unwrap();
        assert_eq!(got, Err(Skip::OtherRegion));
    }

    #[test]
    fn a_modify_that_did_not_raise_the_value_is_not_announced() {
        let record = with_new(
            sample("modify-session-revoked.json"),
            "covers_until",
            AttributeValue::N("1767228000".into()),
        );
        assert_eq!(decode(&record, "us-east-1").unwrap(), Err(Skip::NotRaised));
    }

    #[test]
    fn the_id_is_the_same_for_every_delivery_and_differs_per_value() {
        let a = decode(&sample("insert-user-cutoff.json"), "us-east-1")
            .unwrap()
            .unwrap();
        let again = decode(&sample("insert-user-cutoff.json"), "us-east-1")
            .unwrap()
            .unwrap();
        let later = with_new(
            sample("insert-user-cutoff.json"),
            "not_before",
            AttributeValue::N("1767225600124".into()),
        );
        let b = decode(&later, "us-east-1").unwrap().unwrap();
        assert_eq!(a.id, again.id);
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn every_kind_of_key_reads_as_its_fact() {
        let cases = [
            ("us-east-1#BLOCK#u", "blocked_until", "user_blocked"),
            ("us-east-1#CLIENT#c1", "not_before", "client_cutoff"),
            ("us-east-1#POOL", "not_before", "pool_cutoff"),
        ];
        for (pk, attr, kind) in cases {
            let mut record = sample("insert-user-cutoff.json");
            record
                .change
                .keys
                .insert("pk".into(), AttributeValue::S(pk.into()));
            record.change.new_image.remove("not_before");
            record
                .change
                .new_image
                .insert(attr.into(), AttributeValue::N("5".into()));
            record
                .change
                .new_image
                .insert("client_id".into(), AttributeValue::S("c1".into()));
            record
                .change
                .new_image
                .insert("source".into(), AttributeValue::S("admin".into()));
            let r = decode(&record, "us-east-1").unwrap().unwrap();
            assert_eq!(r.fact.kind(), kind, "{pk}");
        }
    }

    #[test]
    fn unreadable_records_are_errors_with_stable_codes() {
        let mut no_key = sample("insert-user-cutoff.json");
        no_key.change.keys.clear();
        let mut unknown = sample("insert-user-cutoff.json");
        unknown
            .change
            .keys
            .insert("pk".into(), AttributeValue::S("us-east-1#NEW#x".into()));
        let bad_number = with_new(
            sample("insert-user-cutoff.json"),
            "not_before",
            AttributeValue::N("soon".into()),
        );
        let no_sub = {
            let mut r = sample("insert-user-cutoff.json");
            r.change.new_image.remove("sub");
            r
        };
        let bad_source = with_new(
            sample("insert-user-cutoff.json"),
            "source",
            AttributeValue::S("someone".into()),
        );
        let mut odd_name = sample("insert-user-cutoff.json");
        odd_name.event_name = "TRUNCATE".into();
        let codes: Vec<&str> = [no_key, unknown, bad_number, no_sub, bad_source, odd_name]
            .iter()
            .map(|r| decode(r, "us-east-1").unwrap_err().code())
            .collect();
        assert_eq!(
            codes,
            [
                "missing_key",
                "unknown_key",
                "bad_number",
                "missing_attribute",
                "unknown_source",
                "unknown_event_name"
            ]
        );
    }
}
