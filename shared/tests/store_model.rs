//! A model test of the store under replication (issue 12): proptest drives two
//! Regions' stores (two moto Regions of the emulator) with arbitrary
//! interleavings of sign-outs, replication deliveries and clock steps (with
//! DynamoDB's TTL sweeping at each step), and checks every verdict against a
//! small reference model that knows every fact each Region has received. No
//! verdict may be more permissive than the model's.
//!
//! Replication is delivered by the test, item image by item image, resolving
//! conflicts last-writer-wins per item as DynamoDB global tables do, so each
//! interleaving is chosen (and shrunk) by proptest. Replication lag is bounded:
//! a clock step longer than a minute first delivers everything pending.

use std::collections::HashMap;

use aws_config::Region;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use proptest::prelude::*;
use signout::check::judge;
use signout::model::{ClientId, EpochMs, OriginJti, Source, Sub, TokenUse};
use signout::store::{Consistency, Store, keys};
use signout::tokens::Claims;
use signout::{Config, Verdict};
use testkit::{Fixture, expire_items};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const TOKEN_S: u64 = 300;
const REFRESH_S: u64 = 3_600;

#[derive(Clone, Copy, Debug)]
enum Target {
    User(usize),
    Client(usize),
    Pool,
}

#[derive(Clone, Debug)]
enum Op {
    Cutoff {
        region: usize,
        target: Target,
        ms: u64,
    },
    Session {
        region: usize,
        user: usize,
        session: usize,
    },
    Block {
        region: usize,
        user: usize,
        secs: u64,
    },
    Deliver {
        pick: usize,
    },
    Step {
        secs: u64,
    },
    Check {
        region: usize,
        user: usize,
        session: usize,
        client: usize,
        age: u64,
        /// Stamped by the trigger of a Region (which may not have seen every
        /// cutoff yet), fresh or lagging a minute; or unstamped.
        stamp: Option<(usize, bool)>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let target = prop_oneof![
        (0..2usize).prop_map(Target::User),
        (0..2usize).prop_map(Target::Client),
        Just(Target::Pool)
    ];
    // Weighted towards what makes Regions disagree: writes, deliveries, checks.
    prop_oneof![
        4 => (0..2usize, target, 0..1000u64).prop_map(|(region, target, ms)| Op::Cutoff {
            region,
            target,
            ms
        }),
        2 => (0..2usize, 0..2usize, 0..2usize).prop_map(|(region, user, session)| Op::Session {
            region,
            user,
            session
        }),
        1 => (0..2usize, 0..2usize, 1..600u64).prop_map(|(region, user, secs)| Op::Block {
            region,
            user,
            secs
        }),
        3 => (0..64usize).prop_map(|pick| Op::Deliver { pick }),
        1 => prop_oneof![3 => 0..5u64, 3 => 0..300u64, 1 => 0..(2 * REFRESH_S)].prop_map(|secs| Op::Step { secs }),
        4 => (
            0..2usize,
            0..2usize,
            0..2usize,
            0..2usize,
            0..(REFRESH_S + TOKEN_S),
            proptest::option::of((0..2usize, any::<bool>()))
        )
            .prop_map(|(region, user, session, client, age, stamp)| Op::Check {
                region,
                user,
                session,
                client,
                age,
                stamp
            }),
    ]
}

/// One fact as written: where, in which item, its write sequence and value.
#[derive(Clone, Debug)]
struct Fact {
    region: usize,
    pk: String,
    seq: u64,
    kind: Op,
    value: u64,
}

struct Delivery {
    to: usize,
    pk: String,
    image: Option<HashMap<String, AttributeValue>>,
    seq: u64,
}

struct World {
    ddb: [Client; 2],
    stores: [Store; 2],
    table: String,
    now_s: u64,
    /// Per session (user, session): when it was signed in.
    started: [[u64; 2]; 2],
    seq: u64,
    /// Per (region, pk): the sequence of the version that Region holds.
    holds: HashMap<(usize, String), u64>,
    pending: Vec<Delivery>,
    facts: Vec<Fact>,
    /// Per (region, pk): the highest sequence delivered there from its writer.
    delivered: HashMap<(usize, String), u64>,
}

fn sub(u: usize) -> Sub {
    Sub(format!("user-{u}"))
}
fn client(c: usize) -> ClientId {
    ClientId(format!("client{c}"))
}
fn jti(u: usize, s: usize) -> OriginJti {
    OriginJti(format!("session-{u}-{s}"))
}

impl World {
    fn visible(&self, f: &Fact, region: usize) -> bool {
        f.region == region
            || self
                .delivered
                .get(&(region, f.pk.clone()))
                .is_some_and(|&s| s >= f.seq)
    }

    async fn after_write(&mut self, region: usize, pk: String, kind: Op, value: u64) {
        self.seq += 1;
        let image = self.ddb[region]
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item;
        self.holds.insert((region, pk.clone()), self.seq);
        self.facts.push(Fact {
            region,
            pk: pk.clone(),
            seq: self.seq,
            kind,
            value,
        });
        self.pending.push(Delivery {
            to: 1 - region,
            pk,
            image,
            seq: self.seq,
        });
    }

    async fn deliver(&mut self, i: usize) {
        let d = self.pending.remove(i);
        let held = self.holds.get(&(d.to, d.pk.clone())).copied().unwrap_or(0);
        if d.seq > held {
            self.holds.insert((d.to, d.pk.clone()), d.seq);
            let ddb = &self.ddb[d.to];
            match d.image {
                Some(item) => {
                    ddb.put_item()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .send()
                        .await
                        .unwrap();
                }
                None => {
                    ddb.delete_item()
                        .table_name(&self.table)
                        .key("pk", AttributeValue::S(d.pk.clone()))
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
        let e = self.delivered.entry((d.to, d.pk)).or_insert(0);
        *e = (*e).max(d.seq);
    }

    /// The reference verdict: revoked iff some fact the Region has received covers the token.
    fn model_revoked(
        &self,
        region: usize,
        t: &Claims,
        user: usize,
        session: usize,
        c: usize,
    ) -> bool {
        let now_ms = self.now_s * 1000;
        let minted_before = |cut: u64| {
            let by_mint = match t.stamp {
                Some(s) => s.0 < cut,
                None => t.iat * 1000 < cut,
            };
            by_mint || t.auth_time.is_some_and(|a| (a + 1) * 1000 <= cut)
        };
        self.facts
            .iter()
            .filter(|f| self.visible(f, region))
            .any(|f| match f.kind {
                Op::Cutoff {
                    target: Target::User(u),
                    ..
                } => u == user && minted_before(f.value),
                Op::Cutoff {
                    target: Target::Client(x),
                    ..
                } => x == c && minted_before(f.value),
                Op::Cutoff {
                    target: Target::Pool,
                    ..
                } => minted_before(f.value),
                Op::Session {
                    user: u,
                    session: s,
                    ..
                } => u == user && s == session,
                Op::Block { user: u, .. } => u == user && f.value > now_ms,
                _ => false,
            })
    }

    async fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op.clone() {
            Op::Cutoff { region, target, ms } => {
                let at = EpochMs(self.now_s * 1000 + ms);
                let s = &self.stores[region];
                let (pk, r) = match target {
                    Target::User(u) => (
                        keys::user_cutoff(REGIONS[region], &sub(u)),
                        s.raise_user_cutoff(&sub(u), at, Source::Admin).await,
                    ),
                    Target::Client(c) => (
                        keys::client_cutoff(REGIONS[region], &client(c)),
                        s.raise_client_cutoff(&client(c), at, Source::IncidentResponse)
                            .await,
                    ),
                    Target::Pool => (
                        keys::pool_cutoff(REGIONS[region]),
                        s.raise_pool_cutoff(at, Source::IncidentResponse).await,
                    ),
                };
                r.unwrap();
                self.after_write(region, pk, op, at.0).await;
            }
            Op::Session {
                region,
                user,
                session,
            } => {
                if self.started[user][session] > self.now_s {
                    return Ok(()); // not signed in yet: nobody knows its origin_jti
                }
                let s = &self.stores[region];
                let covers =
                    s.lifetimes()
                        .session_covers_until(self.now_s, self.now_s + TOKEN_S, false);
                s.revoke_session(&sub(user), &jti(user, session), covers, Source::Revoke)
                    .await
                    .unwrap();
                let pk = keys::session(REGIONS[region], &sub(user), &jti(user, session));
                self.after_write(region, pk, op, covers).await;
            }
            Op::Block { region, user, secs } => {
                let until = EpochMs((self.now_s + secs) * 1000);
                self.stores[region]
                    .block_user(&sub(user), until, Source::Admin)
                    .await
                    .unwrap();
                self.after_write(
                    region,
                    keys::block(REGIONS[region], &sub(user)),
                    op,
                    until.0,
                )
                .await;
            }
            Op::Deliver { pick } => {
                if !self.pending.is_empty() {
                    self.deliver(pick % self.pending.len()).await;
                }
            }
            Op::Step { secs } => {
                if secs > 60 {
                    while !self.pending.is_empty() {
                        self.deliver(0).await;
                    }
                }
                self.now_s += secs;
                for ddb in &self.ddb {
                    expire_items(ddb, &self.table, self.now_s).await;
                }
            }
            Op::Check {
                region,
                user,
                session,
                client: c,
                age,
                stamp,
            } => {
                // A live token of this session: minted by its sign-in or a refresh
                // while its refresh token lived, not yet expired.
                let start = self.started[user][session];
                let lo = start.max((self.now_s + 1).saturating_sub(TOKEN_S));
                let hi = self.now_s.min(start + REFRESH_S);
                if lo > hi {
                    return Ok(());
                }
                let iat = hi - age % (hi - lo + 1);
                // A stamp is what the minting Region's trigger saw: the latest
                // cutoff of this user, client or pool it holds, or (a lagging
                // replica) the latest one a minute older; 0 when none.
                let stamp = stamp.map(|(mint, fresh)| {
                    let horizon = if fresh {
                        iat * 1000 + 999
                    } else {
                        (iat * 1000).saturating_sub(60_000)
                    };
                    let applies = |f: &&Fact| match f.kind {
                        Op::Cutoff {
                            target: Target::User(x),
                            ..
                        } => x == user,
                        Op::Cutoff {
                            target: Target::Client(x),
                            ..
                        } => x == c,
                        Op::Cutoff {
                            target: Target::Pool,
                            ..
                        } => true,
                        _ => false,
                    };
                    let seen = self
                        .facts
                        .iter()
                        .filter(applies)
                        .filter(|f| self.visible(f, mint) && f.value <= horizon);
                    EpochMs(seen.map(|f| f.value).max().unwrap_or(0))
                });
                let t = Claims {
                    sub: sub(user),
                    token_use: TokenUse::Access,
                    client_id: client(c),
                    iat,
                    exp: iat + TOKEN_S,
                    auth_time: Some(start),
                    jti: None,
                    origin_jti: Some(jti(user, session)),
                    username: None,
                    scope: None,
                    groups: vec![],
                    stamp,
                    identity_providers: vec![],
                };
                let state = self.stores[region]
                    .load(signout::check::lookup(&t), Consistency::Strong)
                    .await
                    .unwrap();
                let store = judge(&t, &state, EpochMs(self.now_s * 1000));
                let model = self.model_revoked(region, &t, user, session, c);
                prop_assert!(
                    !(model && store == Verdict::Active),
                    "{}: the store accepted a token the model revokes: {t:?}\nstate {state:?}\nfacts {:?}",
                    REGIONS[region],
                    self.facts
                );
            }
        }
        Ok(())
    }
}

async fn world(f: &Fixture, started: [[u64; 2]; 2], now_s: u64) -> World {
    let table = testkit::unique("model-");
    let mut ddb = Vec::new();
    let mut stores = Vec::new();
    for r in REGIONS {
        let sdk = f.sdk.to_builder().region(Region::new(r)).build();
        let client = Client::new(&sdk);
        testkit::create_table(&client, &table).await;
        let env = [
            ("AWS_REGION", r),
            ("USER_POOL_ID", "us-east-1_Model"),
            ("SIGNOUT_TABLE", table.as_str()),
            ("APP_CLIENT_IDS", "client0,client1"),
            ("SIGNOUT_REGIONS", "us-east-1,eu-west-1"),
            ("MAX_TOKEN_LIFETIME_SECONDS", "300"),
            ("REFRESH_TOKEN_LIFETIME_SECONDS", "3600"),
        ];
        let config = Config::from_lookup(|k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        stores.push(Store::from_config(client.clone(), &config));
        ddb.push(client);
    }
    World {
        ddb: [ddb[0].clone(), ddb[1].clone()],
        stores: [stores[0].clone(), stores[1].clone()],
        table,
        now_s,
        started,
        seq: 0,
        holds: HashMap::new(),
        pending: Vec::new(),
        facts: Vec::new(),
        delivered: HashMap::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_verdict_is_more_permissive_than_the_model(
        offsets in proptest::array::uniform2(proptest::array::uniform2(0..REFRESH_S + 900)),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let f = Fixture::new().await;
            let now_s = EpochMs::now().secs();
            // Sessions signed in up to R before the start and up to 15 minutes after it.
            let started = offsets.map(|o| o.map(|x| now_s + x - REFRESH_S));
            let mut w = world(&f, started, now_s).await;
            for op in ops {
                w.apply(op).await?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}
