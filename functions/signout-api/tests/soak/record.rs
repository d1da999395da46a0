//! What the soak records (tokens, writes, revocations, checks, each with the
//! wall-clock instants around it) and how each check is judged against it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use signout::model::{EpochMs, OriginJti, Sub};
use signout::{Revoked, Verdict};

/// A small deterministic generator (the seed is printed; `SOAK_SEED` replays a run).
pub struct Rng(pub AtomicU64);

impl Rng {
    pub fn next(&self, below: u64) -> u64 {
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

    pub async fn pause(&self, from_ms: u64, to_ms: u64) {
        let ms = from_ms + self.next(to_ms - from_ms);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

pub fn now() -> u64 {
    EpochMs::now().0
}

pub struct User {
    pub name: String,
    pub sub: Sub,
    /// Per session: (origin_jti, access token).
    pub sessions: Vec<(OriginJti, String)>,
}

/// A token the checkers present, and what decides its fate.
#[derive(Clone)]
pub struct Tok {
    pub user: usize,
    pub session: usize,
    pub token: String,
    /// Revoked iff the cutoff is above this (ms): the stamp, or `iat * 1000` when unstamped.
    pub threshold: u64,
    pub stamped: bool,
    /// When the sign-in that minted it began and when its cutoff read returned (ms).
    pub mint_began: u64,
    pub mint_read: u64,
    /// `iat` and `auth_time` (s).
    pub iat: u64,
    pub auth_time: Option<u64>,
}

/// A cutoff write: its value lies in `[lo, hi]`, written between `began` and `returned`.
#[derive(Clone, Copy)]
pub struct Write {
    pub user: usize,
    pub began: u64,
    pub returned: u64,
    pub lo: u64,
    pub hi: u64,
    pub late: bool,
}

#[derive(Clone, Copy)]
pub struct Revocation {
    pub user: usize,
    pub session: usize,
    pub began: u64,
    pub returned: u64,
}

pub struct Check {
    pub tok: usize,
    pub began: u64,
    pub returned: u64,
    pub verdict: Result<Verdict, String>,
    pub final_pass: bool,
}

#[derive(Default)]
pub struct Record {
    pub tokens: Vec<Tok>,
    pub writes: Vec<Write>,
    pub revocations: Vec<Revocation>,
    pub checks: Vec<Check>,
    pub mints: usize,
}

/// What the record says about one check: a violation, if any, and what it exercised.
#[derive(Default)]
pub struct Judged {
    pub violation: Option<String>,
    pub must_reject: bool,
    pub must_accept: bool,
    pub same_second: bool,
}

pub fn judge(r: &Record, c: &Check) -> Judged {
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
