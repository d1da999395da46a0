//! The table's keys: one item per fact, and every key names the Region that
//! writes it.
//!
//! | `pk` | fact | value attribute |
//! | --- | --- | --- |
//! | `<region>#USER#<sub>` | the user's sign-out cutoff | `not_before` (epoch ms) |
//! | `<region>#BLOCK#<sub>` | the user may hold no tokens until | `blocked_until` (epoch ms) |
//! | `<region>#SESSION#<sub>#<origin_jti>` | one revoked session | `covers_until` (epoch s) |
//! | `<region>#CLIENT#<client_id>` | an app client's cutoff | `not_before` (epoch ms) |
//! | `<region>#POOL` | the pool's cutoff | `not_before` (epoch ms) |
//!
//! Why the Region is in the key: in a DynamoDB global table, concurrent
//! writes to one item in two Regions are resolved last-writer-wins for the
//! whole item, and a condition sees only the local replica. If only one
//! Region ever writes an item, there is never a concurrent write to resolve:
//! replication copies each Region's items as they are, and the reader folds
//! the items of every Region (max of cutoffs, any revoked session).

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::model::{ClientId, OriginJti, Sub};

/// Escaped in key components, so `#` only ever separates them.
const KEY_ESCAPE: &AsciiSet = &CONTROLS.add(b'#').add(b'%');

fn esc(s: &str) -> impl std::fmt::Display + '_ {
    utf8_percent_encode(s, KEY_ESCAPE)
}

/// Which fact an item records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fact {
    UserCutoff,
    Block,
    Session,
    ClientCutoff,
    PoolCutoff,
}

impl Fact {
    /// The attribute that holds the fact's value, raised monotonically.
    pub fn value_attribute(self) -> &'static str {
        match self {
            Fact::UserCutoff | Fact::ClientCutoff | Fact::PoolCutoff => "not_before",
            Fact::Block => "blocked_until",
            Fact::Session => "covers_until",
        }
    }
}

pub fn user_cutoff(region: &str, sub: &Sub) -> String {
    format!("{region}#USER#{}", esc(sub.as_str()))
}

pub fn block(region: &str, sub: &Sub) -> String {
    format!("{region}#BLOCK#{}", esc(sub.as_str()))
}

pub fn session(region: &str, sub: &Sub, session: &OriginJti) -> String {
    format!(
        "{region}#SESSION#{}#{}",
        esc(sub.as_str()),
        esc(session.as_str())
    )
}

pub fn client_cutoff(region: &str, client: &ClientId) -> String {
    format!("{region}#CLIENT#{}", esc(client.as_str()))
}

pub fn pool_cutoff(region: &str) -> String {
    format!("{region}#POOL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_region_and_the_fact() {
        let sub = Sub::from("u-1");
        assert_eq!(user_cutoff("eu-west-1", &sub), "eu-west-1#USER#u-1");
        assert_eq!(block("eu-west-1", &sub), "eu-west-1#BLOCK#u-1");
        assert_eq!(
            session("us-east-1", &sub, &OriginJti::from("j")),
            "us-east-1#SESSION#u-1#j"
        );
        assert_eq!(
            client_cutoff("us-east-1", &ClientId::from("c")),
            "us-east-1#CLIENT#c"
        );
        assert_eq!(pool_cutoff("us-east-1"), "us-east-1#POOL");
    }

    #[test]
    fn a_separator_inside_an_id_cannot_make_two_sessions_share_a_key() {
        let a = session("r", &Sub::from("a#b"), &OriginJti::from("c"));
        let b = session("r", &Sub::from("a"), &OriginJti::from("b#c"));
        assert_ne!(a, b);
        assert_eq!(a, "r#SESSION#a%23b#c");
        // An id that already looks escaped stays distinct too.
        assert_ne!(
            user_cutoff("r", &Sub::from("a%23b")),
            user_cutoff("r", &Sub::from("a#b"))
        );
    }
}
