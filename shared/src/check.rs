//! The revocation verdict for a verified token.
//!
//! A token is revoked when its session (`origin_jti`) was revoked, when the
//! user is blocked, or when it was minted before the
//! applicable cutoff (latest of user, client and pool `not_before`):
//!
//! * stamped tokens (claim `signout_epoch`, written by our Pre Token
//!   Generation trigger with the cutoff current at mint time) are revoked iff
//!   the stamp is below the cutoff: exact, even within one second;
//! * unstamped tokens fall back to `iat`, which has one-second precision: a
//!   token is revoked unless its whole second lies at or after the cutoff, so
//!   doubt means revoked;
//! * `auth_time` (kept by Cognito across refreshes) revokes a token whose
//!   original sign-in ended before the cutoff even when a refresh minted it
//!   later. Only certain cases count, so it never rejects a sign-in that began
//!   after the cutoff.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::{ClientId, Cutoff, EpochMs, OriginJti, Source, Sub};
use crate::store::{Consistency, Lookup, RevocationState, Store, StoreError};
use crate::tokens::Claims;

/// Why a token is no longer accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// The session was revoked (`origin_jti` on the denylist).
    Session,
    /// Minted before the applicable cutoff (a sign-out of user, client or pool).
    SignedOut,
    /// The user is blocked from holding tokens.
    Blocked,
}

impl Revoked {
    pub fn code(self) -> &'static str {
        match self {
            Revoked::Session => "session_revoked",
            Revoked::SignedOut => "signed_out",
            Revoked::Blocked => "user_blocked",
        }
    }
}

/// The verdict on one token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Active,
    Revoked(Revoked),
}

/// Whether a token minted as `claims` says is earlier than `cutoff`.
pub fn minted_before(claims: &Claims, cutoff: Cutoff) -> bool {
    let by_mint = match claims.stamp {
        Some(stamp) => stamp < cutoff,
        // iat second S covers [S*1000, S*1000+999]: only a token whose whole
        // second starts at or after the cutoff is surely later.
        None => EpochMs::from_secs(claims.iat) < cutoff,
    };
    // The original sign-in's whole second ended before the cutoff.
    let by_session = claims
        .auth_time
        .is_some_and(|a| EpochMs::from_secs(a.saturating_add(1)) <= cutoff);
    by_mint || by_session
}

/// What the check reads for a token: its user, session and client (the
/// pool's and every Region's items come with them).
pub fn lookup(claims: &Claims) -> Lookup<'_> {
    Lookup {
        sub: Some(&claims.sub),
        session: claims.origin_jti.as_ref(),
        client: Some(&claims.client_id),
    }
}

/// The verdict for `claims` given the stored `state`, at `now`. Pure.
pub fn judge(claims: &Claims, state: &RevocationState, now: EpochMs) -> Verdict {
    // The state was read for this token's own session (see `Lookup`).
    if claims.origin_jti.is_some() && state.session_revoked() {
        return Verdict::Revoked(Revoked::Session);
    }
    if state.blocked_until.is_some_and(|b| b > now) {
        return Verdict::Revoked(Revoked::Blocked);
    }
    match state.cutoff() {
        Some(c) if minted_before(claims, c) => Verdict::Revoked(Revoked::SignedOut),
        _ => Verdict::Active,
    }
}

/// The decision after applying the fail-closed policy to a store failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Allowed only because the store failed and fail-open is configured.
    AllowFailOpen(StoreError),
    Deny(Revoked),
    /// Denied because the store failed (fail closed).
    DenyUnavailable(StoreError),
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allow | Decision::AllowFailOpen(_))
    }
}

/// Most entries the verdict cache holds; beyond it, expired entries are
/// dropped, then the whole cache if still full (a burst of distinct users).
const CACHE_CAPACITY: usize = 50_000;

/// What a store read was for: the token's user, client and session.
type CacheKey = (Sub, ClientId, Option<OriginJti>);

struct Cached {
    at: Instant,
    state: RevocationState,
}

/// Checks tokens against the store, with an in-process cache of store reads.
pub struct Checker {
    store: Store,
    ttl: Duration,
    fail_open: bool,
    cache: Mutex<HashMap<CacheKey, Cached>>,
}

impl Checker {
    /// The checker `config` asks for (`REVOCATION_CACHE_MS`, `FAIL_OPEN`).
    pub fn from_config(store: Store, config: &crate::Config) -> Self {
        Self::new(store, config.revocation_cache, config.fail_open)
    }

    pub fn new(store: Store, cache_ttl: Duration, fail_open: bool) -> Self {
        Checker {
            store,
            ttl: cache_ttl,
            fail_open,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The stored state for this token's user, session and client: from the
    /// cache when fresh, otherwise one `BatchGetItem`.
    pub async fn state_for(&self, claims: &Claims) -> Result<RevocationState, StoreError> {
        let key = (
            claims.sub.clone(),
            claims.client_id.clone(),
            claims.origin_jti.clone(),
        );
        if !self.ttl.is_zero() {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = cache.get(&key)
                && c.at.elapsed() < self.ttl
            {
                return Ok(c.state.clone());
            }
        }
        let state = self
            .store
            .load(lookup(claims), Consistency::Eventual)
            .await?;
        if !self.ttl.is_zero() {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= CACHE_CAPACITY {
                let ttl = self.ttl;
                cache.retain(|_, c| c.at.elapsed() < ttl);
                if cache.len() >= CACHE_CAPACITY {
                    cache.clear();
                }
            }
            cache.insert(
                key,
                Cached {
                    at: Instant::now(),
                    state: state.clone(),
                },
            );
        }
        Ok(state)
    }

    /// The verdict, or the store's error.
    pub async fn check(&self, claims: &Claims) -> Result<Verdict, StoreError> {
        let state = self.state_for(claims).await?;
        Ok(judge(claims, &state, EpochMs::now()))
    }

    /// The verdict with the failure policy applied: deny when the store cannot
    /// be read, unless fail-open was configured. Fail-open decisions are logged.
    pub async fn decide(&self, claims: &Claims) -> Decision {
        match self.check(claims).await {
            Ok(Verdict::Active) => Decision::Allow,
            Ok(Verdict::Revoked(r)) => Decision::Deny(r),
            Err(e) if self.fail_open => {
                tracing::warn!(code = e.code(), sub = %claims.sub, "revocation store unreadable: allowing (AUTHORIZER_FAIL_OPEN)");
                Decision::AllowFailOpen(e)
            }
            Err(e) => {
                tracing::warn!(code = e.code(), sub = %claims.sub, "revocation store unreadable: denying (fail closed)");
                Decision::DenyUnavailable(e)
            }
        }
    }

    fn forget_where(&self, concerned: impl Fn(&CacheKey) -> bool) {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|key, _| !concerned(key));
    }
}

/// Sign-outs are written through the checker, which forgets what this
/// process cached about whatever each write concerns, written or not (a
/// timed-out write may still land). Other processes' caches expire within
/// `REVOCATION_CACHE_MS`.
impl Checker {
    /// Every token of `sub` minted before `at` is revoked.
    pub async fn sign_out_user(
        &self,
        sub: &Sub,
        at: Cutoff,
        source: Source,
    ) -> Result<(), StoreError> {
        let r = self.store.raise_user_cutoff(sub, at, source).await;
        self.forget_where(|(s, _, _)| s == sub);
        r
    }

    /// `sub` may hold no token until `until`.
    pub async fn block_user(
        &self,
        sub: &Sub,
        until: EpochMs,
        source: Source,
    ) -> Result<(), StoreError> {
        let r = self.store.block_user(sub, until, source).await;
        self.forget_where(|(s, _, _)| s == sub);
        r
    }

    /// One session of `sub`, revoked now, listed for as long as a token of
    /// it can be presented: its refresh token may still mint (Cognito is
    /// told after the record, or not at all), and the latest token seen of
    /// it expires at `token_exp`.
    pub async fn revoke_session(
        &self,
        sub: &Sub,
        session: &OriginJti,
        token_exp: u64,
        source: Source,
    ) -> Result<(), StoreError> {
        let covers_until =
            self.store
                .lifetimes()
                .session_covers_until(EpochMs::now().secs(), token_exp, false);
        let r = self
            .store
            .revoke_session(sub, session, covers_until, source)
            .await;
        self.forget_where(|(s, _, _)| s == sub);
        r
    }

    /// Incident response: every token of `client` minted before `at`.
    pub async fn sign_out_client(
        &self,
        client: &ClientId,
        at: Cutoff,
        source: Source,
    ) -> Result<(), StoreError> {
        let r = self.store.raise_client_cutoff(client, at, source).await;
        self.forget_where(|(_, c, _)| c == client);
        r
    }

    /// Incident response: every token of the pool minted before `at`.
    pub async fn sign_out_pool(&self, at: Cutoff, source: Source) -> Result<(), StoreError> {
        let r = self.store.raise_pool_cutoff(at, source).await;
        self.forget_where(|_| true);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TokenUse;

    fn claims(iat: u64, stamp: Option<u64>, auth_time: Option<u64>) -> Claims {
        Claims {
            sub: Sub::from("u1"),
            token_use: TokenUse::Access,
            client_id: ClientId::from("c1"),
            iat,
            exp: iat + 3600,
            auth_time,
            jti: Some("j".into()),
            origin_jti: Some(OriginJti::from("s1")),
            username: Some("alice".into()),
            scope: None,
            groups: vec![],
            stamp: stamp.map(EpochMs),
            identity_providers: vec![],
        }
    }

    fn state(nb: Option<u64>) -> RevocationState {
        RevocationState {
            user_not_before: nb.map(EpochMs),
            ..Default::default()
        }
    }

    const NOW: EpochMs = EpochMs(2_000_000_000_000);

    #[test]
    fn no_record_means_active() {
        assert_eq!(
            judge(&claims(1_000, None, None), &state(None), NOW),
            Verdict::Active
        );
    }

    #[test]
    fn stamp_is_exact_within_one_second() {
        // Cutoff at 1_000_500 ms; a token stamped with the previous cutoff is revoked,
        // one stamped with this cutoff (minted after the sign-out) is not, although
        // both have iat = 1000 s.
        let s = state(Some(1_000_500));
        let before = claims(1_000, Some(0), None);
        let after = claims(1_000, Some(1_000_500), None);
        assert_eq!(
            judge(&before, &s, NOW),
            Verdict::Revoked(Revoked::SignedOut)
        );
        assert_eq!(judge(&after, &s, NOW), Verdict::Active);
    }

    #[test]
    fn unstamped_tokens_fall_back_to_iat_and_doubt_means_revoked() {
        let s = state(Some(1_000_500));
        // Same second as the cutoff: cannot tell, so revoked.
        assert_eq!(
            judge(&claims(1_000, None, None), &s, NOW),
            Verdict::Revoked(Revoked::SignedOut)
        );
        // Earlier second: revoked.
        assert_eq!(
            judge(&claims(999, None, None), &s, NOW),
            Verdict::Revoked(Revoked::SignedOut)
        );
        // Next second: surely after.
        assert_eq!(judge(&claims(1_001, None, None), &s, NOW), Verdict::Active);
        // A cutoff exactly on a second boundary: a token of that second is after it.
        assert_eq!(
            judge(&claims(1_000, None, None), &state(Some(1_000_000)), NOW),
            Verdict::Active
        );
    }

    #[test]
    fn auth_time_revokes_refreshed_tokens_of_an_old_sign_in_only_when_certain() {
        let s = state(Some(1_000_500));
        // Minted (and stamped) after the cutoff by a refresh of a sign-in at 990 s.
        assert_eq!(
            judge(&claims(1_100, Some(1_000_500), Some(990)), &s, NOW),
            Verdict::Revoked(Revoked::SignedOut)
        );
        // Sign-in in the cutoff's own second: not certain, the stamp decides.
        assert_eq!(
            judge(&claims(1_000, Some(1_000_500), Some(1_000)), &s, NOW),
            Verdict::Active
        );
    }

    #[test]
    fn client_and_pool_cutoffs_apply() {
        let t = claims(1_000, Some(0), None);
        let mut s = state(None);
        s.client_not_before = Some(EpochMs(900_000));
        assert_eq!(judge(&t, &s, NOW), Verdict::Revoked(Revoked::SignedOut));
        let mut s = state(None);
        s.pool_not_before = Some(EpochMs(900_000));
        assert_eq!(judge(&t, &s, NOW), Verdict::Revoked(Revoked::SignedOut));
        assert_eq!(s.cutoff(), Some(EpochMs(900_000)));
    }

    #[test]
    fn a_revoked_session_read_for_the_token_revokes_it() {
        let mut s = state(None);
        s.session_revoked_until = Some(5_000);
        let mine = claims(1_000, Some(0), None);
        assert_eq!(judge(&mine, &s, NOW), Verdict::Revoked(Revoked::Session));
        assert_eq!(judge(&mine, &state(None), NOW), Verdict::Active);
    }

    #[test]
    fn a_block_denies_until_it_ends() {
        let mut s = state(None);
        s.blocked_until = Some(EpochMs(NOW.0 + 1));
        let t = claims(NOW.secs(), Some(NOW.0), None);
        assert_eq!(judge(&t, &s, NOW), Verdict::Revoked(Revoked::Blocked));
        assert_eq!(judge(&t, &s, EpochMs(NOW.0 + 1)), Verdict::Active);
    }
}
