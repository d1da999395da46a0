//! How long each item must stay: until the last token it can cover is dead.
//!
//! A token lives at most `A` (`MAX_TOKEN_LIFETIME_SECONDS`) after it is minted,
//! and a refresh token can mint tokens for at most `R`
//! (`REFRESH_TOKEN_LIFETIME_SECONDS`) after it was issued. Every refresh token
//! that exists when a fact is recorded was issued no later than then, so:
//!
//! * a cutoff at `C` covers tokens minted until `C + R` (refresh tokens Cognito
//!   did not revoke: client and pool cutoffs, a Cognito step that failed) that
//!   live until `C + R + A`;
//! * a revoked session whose refresh token may still work covers tokens until
//!   `W + R + A` (`W`: when it was recorded); once Cognito revoked that refresh
//!   token, only the tokens already minted remain, each dead by `W + A`;
//! * a block matters only until it ends: after that it changes no verdict
//!   (the cutoff written with it covers the tokens minted before it).
//!
//! Each expiry adds the verifier's leeway (a token is accepted that long
//! past `exp`) and [`TTL_SLACK_SECS`] for clock differences between writers.

use std::time::Duration;

use crate::config::Config;
use crate::model::EpochMs;

/// Added to every expiry so clock skew between writers never drops an item early.
pub const TTL_SLACK_SECS: u64 = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// `A`: the longest access or ID token lifetime.
    pub token: Duration,
    /// `R`: the longest refresh token lifetime.
    pub refresh: Duration,
    /// How long past `exp` the verifier still accepts a token.
    pub leeway: Duration,
}

impl Lifetimes {
    pub fn from_config(config: &Config) -> Self {
        Lifetimes {
            token: config.max_token_lifetime,
            refresh: config.refresh_token_lifetime,
            leeway: config.leeway,
        }
    }

    fn slack(&self) -> u64 {
        TTL_SLACK_SECS + self.leeway.as_secs()
    }

    /// `expires_at` (epoch s) of a cutoff at `at`.
    pub fn cutoff_expiry(&self, at: EpochMs) -> u64 {
        // The cutoff's own second counts whole: round up.
        at.0.div_ceil(1000)
            .saturating_add(self.refresh.as_secs())
            .saturating_add(self.token.as_secs())
            .saturating_add(self.slack())
    }

    /// `expires_at` of a block that ends at `until`.
    pub fn block_expiry(&self, until: EpochMs) -> u64 {
        until.0.div_ceil(1000).saturating_add(self.slack())
    }

    /// The last moment (epoch s) a token of a session revoked at `now_s` can
    /// still be presented: `token_exp` is the latest `exp` seen of that session
    /// (the presented token), `refresh_revoked` whether Cognito confirmed the
    /// session's refresh token revoked before this was recorded.
    pub fn session_covers_until(&self, now_s: u64, token_exp: u64, refresh_revoked: bool) -> u64 {
        let mint_until = if refresh_revoked {
            now_s
        } else {
            now_s.saturating_add(self.refresh.as_secs())
        };
        token_exp.max(mint_until.saturating_add(self.token.as_secs()))
    }

    /// `expires_at` of a revoked session that covers tokens until `covers_until`.
    pub fn session_expiry(&self, covers_until: u64) -> u64 {
        covers_until.saturating_add(self.slack())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Lifetimes = Lifetimes {
        token: Duration::from_secs(3_600),
        refresh: Duration::from_secs(30 * 86_400),
        leeway: Duration::from_secs(5),
    };

    #[test]
    fn a_cutoff_outlives_every_refresh_token_that_existed_before_it() {
        let c = EpochMs(1_000_000_500);
        let last_mint = 1_000_001 + 30 * 86_400;
        assert!(L.cutoff_expiry(c) >= last_mint + 3_600 + 5);
    }

    #[test]
    fn a_session_whose_refresh_token_may_live_is_kept_for_the_refresh_lifetime() {
        let now = 1_000_000;
        assert_eq!(
            L.session_covers_until(now, now + 60, false),
            now + 30 * 86_400 + 3_600
        );
        // Once Cognito revoked the refresh token, only minted tokens remain.
        assert_eq!(L.session_covers_until(now, now + 60, true), now + 3_600);
        // A token with a longer exp than configured still counts.
        assert_eq!(L.session_covers_until(now, now + 7_200, true), now + 7_200);
        assert_eq!(L.session_expiry(now), now + 305);
    }

    #[test]
    fn a_block_is_kept_until_it_ends() {
        assert_eq!(L.block_expiry(EpochMs(2_000_000_001)), 2_000_001 + 305);
    }
}
