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

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Call, Format};
use serde_json::json;
use signout::app::App;
use signout::authz::{self, Access, Requirements};
use signout::model::{ClientId, EpochMs, OriginJti, Source, Sub};
use signout::store::{Consistency, Lookup};
use signout::tokens::Expect;
use signout::{Revoked, Verdict};
use testkit::Fixture;

const USERS: usize = 4;
const SESSIONS: usize = 3;
const SIGN_OUTS_PER_USER: usize = 3;
const LATE_WRITES_PER_USER: usize = 4;
const REVOCATIONS: usize = 6;
const CHECKERS: usize = 4;
/// Upper bound per checker while the writers and sign-ins run (the loop ends with them).
const MAX_CHECKS_PER_CHECKER: usize = 60;

/// A small deterministic generator (the seed is printed; `SOAK_SEED` replays a run).
struct Rng(AtomicU64);

impl Rng {
    fn next(&self, below: u64) -> u64 {
        let mut x = self.0.load(Ordering::Relaxed);
        loop {
            let mut y = x;
            y ^= y << 13;
            y ^= y >> 7;
            y ^= y << 17;
            match self
                .0
                .compare_exchange(x, y, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return y % below.max(1),
                Err(now) => x = now,
            }
        }
    }

    async fn pause(&self, from_ms: u64, to_ms: u64) {
        let ms = from_ms + self.next(to_ms - from_ms);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

fn now() -> u64 {
    EpochMs::now().0
}

struct User {
    name: String,
    sub: Sub,
    /// Per session: (origin_jti, access token).
    sessions: Vec<(OriginJti, String)>,
}

/// A token the checkers present, and what decides its fate.
#[derive(Clone)]
struct Tok {
    user: usize,
    session: usize,
    token: String,
    /// Revoked iff the cutoff is above this (ms): the stamp, or `iat * 1000` when unstamped.
    threshold: u64,
    stamped: bool,
    /// When the sign-in that minted it began and when its cutoff read returned (ms).
    mint_began: u64,
    mint_read: u64,
    /// `iat` and `auth_time` (s).
    iat: u64,
    auth_time: Option<u64>,
}

/// A cutoff write: its value lies in `[lo, hi]`, written between `began` and `returned`.
#[derive(Clone, Copy)]
struct Write {
    user: usize,
    began: u64,
    returned: u64,
    lo: u64,
    hi: u64,
    late: bool,
}

#[derive(Clone, Copy)]
struct Revocation {
    user: usize,
    session: usize,
    began: u64,
    returned: u64,
}

struct Check {
    tok: usize,
    began: u64,
    returned: u64,
    verdict: Result<Verdict, String>,
    final_pass: bool,
}

#[derive(Default)]
struct Record {
    tokens: Vec<Tok>,
    writes: Vec<Write>,
    revocations: Vec<Revocation>,
    checks: Vec<Check>,
    mints: usize,
}

struct Soak {
    f: Arc<Fixture>,
    /// The sign-out API's App (one warm Lambda).
    api: Arc<App>,
    /// The authorizer's App (another Lambda: its own clients and cache).
    authz: Arc<App>,
    users: Vec<User>,
    client: ClientId,
    rng: Rng,
    record: Mutex<Record>,
    writers_done: AtomicBool,
    soak_start: u64,
    signers: tokio::sync::Semaphore,
}

impl Soak {
    /// A sign-in as the trigger stamps it: strong read of the cutoff, then a
    /// token of `session` carrying it, minted in the read's second (signing
    /// with the emulator's key runs in a child process and takes a while; the
    /// claims are fixed at the read).
    async fn mint(self: Arc<Self>, user: usize, session: usize) {
        let began = now();
        let state = self
            .api
            .store()
            .load(
                Lookup {
                    sub: Some(&self.users[user].sub),
                    session: None,
                    client: Some(&self.client),
                },
                Consistency::Strong,
            )
            .await
            .expect("the store is readable");
        let read = now();
        let stamp = state.cutoff().unwrap_or_default().0;
        let iat = began / 1000;
        let base = self.users[user].sessions[session].1.clone();
        let f = self.f.clone();
        let jti = testkit::unique("soak-jti-");
        // Few signers at once: each is a Python process, and so is the emulator.
        let _slot = self.signers.acquire().await.unwrap();
        let token = tokio::task::spawn_blocking(move || {
            f.remint(
                &base,
                json!({"signout_epoch": stamp, "iat": iat, "auth_time": iat, "jti": jti}),
            )
        })
        .await
        .unwrap();
        let mut r = self.record.lock().unwrap();
        r.mints += 1;
        r.tokens.push(Tok {
            user,
            session,
            token,
            threshold: stamp,
            stamped: true,
            mint_began: began,
            mint_read: read,
            iat,
            auth_time: Some(iat),
        });
    }

    /// The access token a user signs out with: from a sign-in just now, in a
    /// session of its own, stamped with this instant. A token minted before a
    /// sign-out is revoked and refused at `POST /signout`, and the revokers
    /// may list any of the user's sessions, so none of those would do. (The
    /// trigger would stamp the cutoff current at mint time; no cutoff can
    /// exceed now, and the late writes carry older values, so the token is
    /// active when presented.)
    async fn sign_in_now(self: Arc<Self>, user: usize) -> String {
        let base = self.users[user].sessions[0].1.clone();
        let at = now();
        let f = self.f.clone();
        let (jti, origin) = (
            testkit::unique("soak-jti-"),
            testkit::unique("soak-signout-session-"),
        );
        let _slot = self.signers.acquire().await.unwrap();
        tokio::task::spawn_blocking(move || {
            f.remint(
                &base,
                json!({"signout_epoch": at, "iat": at / 1000, "auth_time": at / 1000,
                       "jti": jti, "origin_jti": origin}),
            )
        })
        .await
        .unwrap()
    }

    /// Global sign-outs through the API's handler, each followed at once by a
    /// sign-in (after the last one, one per session). Returns the sign-ins,
    /// still being signed.
    async fn sign_outs(self: Arc<Self>, user: usize) -> Vec<tokio::task::JoinHandle<()>> {
        let mut mints = Vec::new();
        for k in 0..SIGN_OUTS_PER_USER {
            self.rng.pause(50, 400).await;
            if k + 1 == SIGN_OUTS_PER_USER {
                // The last one starts early in a second (every user's at once), so
                // the sign-ins right after it most likely share the cutoff's second.
                let ms = now() % 1000;
                tokio::time::sleep(Duration::from_millis(1_000 - ms + 5)).await;
            }
            let token = self.clone().sign_in_now(user).await;
            let began = now();
            let r = Call::new(
                if k % 2 == 0 { Format::V2 } else { Format::V1 },
                "POST",
                "/signout",
            )
            .bearer(&token)
            .send(&self.api)
            .await;
            let returned = now();
            assert_eq!(r.status, 200, "sign-out of user {user}: {}", r.text);
            assert_eq!(r.json["result"], "complete", "{}", r.text);
            self.record.lock().unwrap().writes.push(Write {
                user,
                began,
                returned,
                lo: began,
                hi: returned,
                late: false,
            });
            if k + 1 < SIGN_OUTS_PER_USER {
                let session = self.rng.next(SESSIONS as u64) as usize;
                mints.push(tokio::spawn(self.clone().mint(user, session)));
            } else {
                for session in 0..SESSIONS {
                    mints.push(tokio::spawn(self.clone().mint(user, session)));
                }
            }
        }
        mints
    }

    /// Cutoff writes carrying values older than anything the soak minted.
    async fn late_writes(self: Arc<Self>, user: usize) {
        for _ in 0..LATE_WRITES_PER_USER {
            self.rng.pause(20, 500).await;
            let value = self.soak_start - 1 - self.rng.next(5_000);
            let began = now();
            self.api
                .store()
                .raise_user_cutoff(&self.users[user].sub, EpochMs(value), Source::Admin)
                .await
                .expect("a late write");
            let returned = now();
            self.record.lock().unwrap().writes.push(Write {
                user,
                began,
                returned,
                lo: value,
                hi: value,
                late: true,
            });
        }
    }

    /// `POST /revoke` of access tokens, for the sessions given.
    async fn revocations(self: Arc<Self>, targets: Vec<(usize, usize)>) {
        for (user, session) in targets {
            self.rng.pause(50, 600).await;
            let token = self.users[user].sessions[session].1.clone();
            let began = now();
            let r = Call::new(Format::V2, "POST", "/revoke")
                .form(&format!(
                    "token={token}&token_type_hint=access_token&client_id={}",
                    self.client
                ))
                .send(&self.api)
                .await;
            let returned = now();
            assert_eq!(r.status, 200, "revoke: {}", r.text);
            self.record.lock().unwrap().revocations.push(Revocation {
                user,
                session,
                began,
                returned,
            });
        }
    }

    /// One authorizer-style check of token `i`.
    async fn check(&self, i: usize, final_pass: bool) {
        let token = self.record.lock().unwrap().tokens[i].token.clone();
        let began = now();
        let verdict = if i.is_multiple_of(2) {
            match self.authz.verifier.verify(&token, Expect::ANY).await {
                Ok(v) => self
                    .authz
                    .checker
                    .check(&v.claims)
                    .await
                    .map_err(|e| e.code().to_owned()),
                Err(e) => Err(e.code().to_owned()),
            }
        } else {
            let any = Requirements {
                token_use: None,
                ..Requirements::default()
            };
            match authz::authorize(&self.authz.verifier, &self.authz.checker, &token, &any).await {
                Access::Allow(_) => Ok(Verdict::Active),
                Access::Unauthorized("session_revoked") => Ok(Verdict::Revoked(Revoked::Session)),
                Access::Unauthorized("signed_out") => Ok(Verdict::Revoked(Revoked::SignedOut)),
                Access::Unauthorized("user_blocked") => Ok(Verdict::Revoked(Revoked::Blocked)),
                other => Err(format!("{other:?}")),
            }
        };
        let returned = now();
        self.record.lock().unwrap().checks.push(Check {
            tok: i,
            began,
            returned,
            verdict,
            final_pass,
        });
    }

    /// Checks random tokens until the writers and sign-ins are done (bounded).
    async fn checker(self: Arc<Self>) {
        for _ in 0..MAX_CHECKS_PER_CHECKER {
            if self.writers_done.load(Ordering::Relaxed) {
                break;
            }
            self.rng.pause(20, 80).await;
            let n = self.record.lock().unwrap().tokens.len() as u64;
            let i = self.rng.next(n) as usize;
            self.check(i, false).await;
        }
    }
}

/// What the record says about one check: a violation, if any, and what it exercised.
#[derive(Default)]
struct Judged {
    violation: Option<String>,
    must_reject: bool,
    must_accept: bool,
    same_second: bool,
}

fn judge(r: &Record, c: &Check) -> Judged {
    let t = &r.tokens[c.tok];
    let mut j = Judged::default();
    let revokes: Vec<&Revocation> = r
        .revocations
        .iter()
        .filter(|v| v.user == t.user && v.session == t.session)
        .collect();
    let session_must = revokes.iter().any(|v| v.returned < c.began);
    let session_may = revokes.iter().any(|v| v.began <= c.returned);
    let writes: Vec<&Write> = r.writes.iter().filter(|w| w.user == t.user).collect();
    // Surely revokes: its value is surely above the token's threshold.
    let cutoff_must = writes
        .iter()
        .any(|w| w.returned < c.began && w.lo > t.threshold);
    // Can revoke: begun before the check returned, not already in the token's
    // stamp (a write that returned before the stamped sign-in began is), and
    // possibly above the stamp, or above the sign-in's whole second (auth_time).
    // (ms instants: a write that returned in the millisecond the sign-in began
    // completed before its strong read, which is a network call later)
    let cutoff_may = writes.iter().any(|w| {
        w.began <= c.returned
            && !(t.stamped && w.returned <= t.mint_began)
            && (w.hi > t.threshold || t.auth_time.is_some_and(|a| (a + 1) * 1000 <= w.hi))
    });
    j.must_reject = session_must || cutoff_must;
    j.must_accept = !session_may && !cutoff_may;
    // An unstamped token of this second would be revoked (iat * 1000 < cutoff).
    j.same_second = j.must_accept && t.stamped && t.threshold / 1000 == t.iat && t.threshold > 0;
    let what = |v: &str| {
        format!(
            "{v}: user {} session {} stamped={} threshold={} iat={} minted [{}, {}], checked [{}, {}]",
            t.user,
            t.session,
            t.stamped,
            t.threshold,
            t.iat,
            t.mint_began,
            t.mint_read,
            c.began,
            c.returned
        )
    };
    j.violation = match &c.verdict {
        Err(e) => Some(what(&format!("check failed ({e})"))),
        Ok(Verdict::Active) if session_must => Some(what("accepted after its session was revoked")),
        Ok(Verdict::Active) if cutoff_must => {
            Some(what("accepted though minted before a completed sign-out"))
        }
        Ok(Verdict::Revoked(Revoked::Session)) if !session_may => {
            Some(what("session reported revoked before any revocation began"))
        }
        Ok(Verdict::Revoked(Revoked::SignedOut)) if session_must => {
            Some(what("a completed session revocation was not seen"))
        }
        Ok(Verdict::Revoked(Revoked::SignedOut)) if !cutoff_may => Some(what(
            "rejected though minted after every sign-out before it returned",
        )),
        Ok(Verdict::Revoked(Revoked::Blocked)) => Some(what("blocked, though nobody was")),
        Ok(_) => None,
    };
    j
}

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
