//! Concurrency and soak: bounded loops against the emulator, then the
//! invariants of DESIGN.md checked on what happened.
//!
//! Several users, each with several sessions. At the same time:
//!
//! * global sign-outs through the sign-out API's handler (`POST /signout`),
//!   each followed at once by a sign-in as our trigger would stamp it: the
//!   cutoff read with a strong read, then a token re-signed with the
//!   emulator's key carrying that `signout_epoch` and an `iat` in the same
//!   second (an unstamped token of that second would be revoked);
//! * late cutoff writes carrying older values (a delayed writer), which must
//!   never move a cutoff backwards;
//! * session revocations (`POST /revoke` of access tokens), two revokers at
//!   once on the same users;
//! * authorizer-style checks (`signout::authz::authorize` and
//!   `Checker::check`) of every token, from another `App`, as another
//!   Lambda would.
//!
//! Each operation records the wall-clock instants before it began and after
//! it returned. Afterwards each check is judged against every write and
//! revocation it could or must have seen:
//!
//! * a token minted before a sign-out began, checked after that sign-out
//!   returned, must be rejected (invariant 1);
//! * a token minted after every sign-out that began before the check had
//!   returned must be accepted, also in the same second (invariant 1);
//! * a session revoked before the check began must be rejected, and no
//!   session is reported revoked before its revocation began (invariant 2);
//! * each user's stored `not_before` is the maximum of the cutoffs written
//!   (invariant 3), and no revoked session is lost (invariants 2, 3);
//! * each user's item expires exactly when its longest-lived entry stops
//!   mattering (invariant 7: cutoff + `MAX_TOKEN_LIFETIME_SECONDS`, a
//!   session's listing + the same, plus 5 minutes of slack).

#[path = "../common/mod.rs"]
mod common;
mod loops;
mod record;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signout::Verdict;
use signout::model::{ClientId, EpochMs, OriginJti, Sub};
use signout::store::{Consistency, Lookup};
use testkit::Fixture;

use loops::Soak;
use record::*;

const USERS: usize = 4;
const SESSIONS: usize = 3;
const SIGN_OUTS_PER_USER: usize = 3;
const LATE_WRITES_PER_USER: usize = 4;
const REVOCATIONS: usize = 6;
const CHECKERS: usize = 4;
/// Upper bound per checker while the writers and sign-ins run (the loop ends with them).
const MAX_CHECKS_PER_CHECKER: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_outs_revocations_and_checks_keep_every_invariant() {
    let started = Instant::now();
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| now() | 1);

    // GIVEN several users, each signed in several times (real emulator tokens)
    let f = Arc::new(Fixture::new().await);
    // (generous SDK timeouts: this test is about correctness, on a shared machine)
    let timeouts = [("SDK_OPERATION_TIMEOUT_MS", "15000")];
    let api = f.app(&timeouts).await;
    let authz = f.app(&timeouts).await;
    let mut users = Vec::new();
    let mut tokens = Vec::new();
    for u in 0..USERS {
        let name = testkit::unique(&format!("soak{u}-"));
        f.create_user(&name).await;
        let mut sessions = Vec::new();
        for s in 0..SESSIONS {
            let began = now();
            let t = f.sign_in(&name).await;
            let claims = signout::tokens::peek_claims(&t.access).unwrap();
            let iat = claims["iat"].as_u64().unwrap();
            let auth_time = claims.get("auth_time").and_then(serde_json::Value::as_u64);
            let jti = OriginJti(claims["origin_jti"].as_str().unwrap().to_owned());
            for token in [&t.access, &t.id] {
                tokens.push(Tok {
                    user: u,
                    session: s,
                    token: token.clone(),
                    threshold: iat * 1000,
                    stamped: false,
                    mint_began: began,
                    mint_read: now(),
                    iat,
                    auth_time,
                });
            }
            sessions.push((jti, t.access));
        }
        users.push(User {
            sub: Sub(testkit::sub_of(&sessions[0].1)),
            name,
            sessions,
        });
    }
    let soak_start = now();
    let soak = Arc::new(Soak {
        client: ClientId(f.client_id.clone()),
        f: f.clone(),
        api,
        authz,
        users,
        rng: Rng(AtomicU64::new(seed)),
        record: Mutex::new(Record {
            tokens,
            ..Record::default()
        }),
        writers_done: AtomicBool::new(false),
        soak_start,
        signers: tokio::sync::Semaphore::new(2),
    });

    // WHEN sign-outs, late writes, revocations and checks run at once on overlapping users
    let mut targets: Vec<(usize, usize)> = Vec::new();
    while targets.len() < REVOCATIONS {
        let pick = (
            soak.rng.next(USERS as u64) as usize,
            soak.rng.next(SESSIONS as u64) as usize,
        );
        if !targets.contains(&pick) {
            targets.push(pick);
        }
    }
    let (first, second) = targets.split_at(REVOCATIONS / 2);
    let sign_outs: Vec<_> = (0..USERS)
        .map(|u| tokio::spawn(soak.clone().sign_outs(u)))
        .collect();
    let mut writers = Vec::new();
    for u in 0..USERS {
        writers.push(tokio::spawn(soak.clone().late_writes(u)));
    }
    writers.push(tokio::spawn(soak.clone().revocations(first.to_vec())));
    writers.push(tokio::spawn(soak.clone().revocations(second.to_vec())));
    let checkers: Vec<_> = (0..CHECKERS)
        .map(|_| tokio::spawn(soak.clone().checker()))
        .collect();
    let mut mints = Vec::new();
    for s in sign_outs {
        mints.extend(s.await.expect("a sign-out driver panicked"));
    }
    for w in writers {
        w.await.expect("a writer panicked");
    }
    for m in mints {
        m.await.expect("a sign-in panicked");
    }
    soak.writers_done.store(true, Ordering::Relaxed);
    for c in checkers {
        c.await.expect("a checker panicked");
    }
    // AND, once everything returned, a final check of every token
    let n = soak.record.lock().unwrap().tokens.len();
    for chunk in (0..n).collect::<Vec<_>>().chunks(8) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let soak = soak.clone();
                tokio::spawn(async move { soak.check(i, true).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    }

    // THEN every invariant held
    let r = std::mem::take(&mut *soak.record.lock().unwrap());
    let mut violations: Vec<String> = Vec::new();
    // Invariant 3: each stored cutoff is the maximum of the cutoffs written
    for (u, user) in soak.users.iter().enumerate() {
        let state = soak
            .api
            .store()
            .load(Lookup::user(&user.sub), Consistency::Strong)
            .await
            .unwrap();
        let stored = state.user_not_before.map_or(0, |c| c.0);
        let mine: Vec<&Write> = r.writes.iter().filter(|w| w.user == u).collect();
        let lo = mine.iter().map(|w| w.lo).max().unwrap_or(0);
        let hi = mine.iter().map(|w| w.hi).max().unwrap_or(0);
        if stored < lo || stored > hi {
            violations.push(format!(
                "user {u} ({}): stored not_before {stored} is not the maximum written (in [{lo}, {hi}])",
                user.name
            ));
        }
        // Invariant 2: no revoked session lost, and none revoked that nobody revoked
        let revoked: BTreeSet<&OriginJti> = r
            .revocations
            .iter()
            .filter(|v| v.user == u)
            .map(|v| &user.sessions[v.session].0)
            .collect();
        for (jti, _) in &user.sessions {
            let listed = soak
                .api
                .store()
                .load(Lookup::session(&user.sub, jti), Consistency::Strong)
                .await
                .unwrap()
                .session_revoked();
            match (revoked.contains(jti), listed) {
                (true, false) => {
                    violations.push(format!("user {u}: revoked session {jti} was lost"))
                }
                (false, true) => {
                    violations.push(format!("user {u}: session {jti} listed but never revoked"))
                }
                _ => {}
            }
        }
        // Invariant 7: the cutoff item lives until every refresh token issued before it is dead
        let item = soak
            .f
            .ddb
            .get_item()
            .table_name(&soak.f.table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(signout::store::keys::user_cutoff(
                    testkit::REGION,
                    &user.sub,
                )),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .expect("the user's cutoff item");
        let expires_at: u64 = item["expires_at"].as_n().unwrap().parse().unwrap();
        let expected = soak.api.store().lifetimes().cutoff_expiry(EpochMs(stored));
        if expires_at != expected {
            violations.push(format!(
                "user {u}: expires_at {expires_at}, expected {expected} (cutoff {stored} ms + refresh + token lifetimes)"
            ));
        }
    }
    // Invariants 1 and 2, check by check
    let (mut must_reject, mut must_accept, mut same_second, mut finals_n) = (0, 0, 0, 0);
    for c in &r.checks {
        let j = judge(&r, c);
        must_reject += usize::from(j.must_reject);
        must_accept += usize::from(j.must_accept);
        same_second += usize::from(j.same_second);
        finals_n += usize::from(c.final_pass);
        violations.extend(j.violation);
    }
    let sign_outs = r.writes.iter().filter(|w| !w.late).count();
    let late = r.writes.len() - sign_outs;
    let accepted = r
        .checks
        .iter()
        .filter(|c| c.verdict == Ok(Verdict::Active))
        .count();
    let operations = sign_outs + late + r.revocations.len() + r.mints + r.checks.len();
    println!(
        "soak (seed {seed}): {operations} operations in {:?} over {USERS} users x {SESSIONS} sessions",
        started.elapsed()
    );
    println!(
        "  global sign-outs (signout-api handler): {sign_outs}; late older cutoff writes: {late}; \
         session revocations (/revoke): {}; stamped sign-ins (f.remint): {}",
        r.revocations.len(),
        r.mints
    );
    println!(
        "  checks: {} ({} while writing, {finals_n} after), {accepted} accepted; \
         judged must-reject: {must_reject}, must-accept: {must_accept} \
         (of which same-second stamped: {same_second})",
        r.checks.len(),
        r.checks.len() - finals_n
    );
    println!("  violations: {}", violations.len());
    assert!(
        violations.is_empty(),
        "{} violation(s):\n{}",
        violations.len(),
        violations.join("\n")
    );
    // The run exercised what it claims to
    assert_eq!(sign_outs, USERS * SIGN_OUTS_PER_USER);
    assert_eq!(r.revocations.len(), REVOCATIONS);
    assert!(must_reject > 0 && must_accept > 0, "nothing was judged");
    assert!(same_second > 0, "no same-second stamped token was judged");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
}
