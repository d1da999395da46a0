//! The bounded loops that run at once: stamped sign-ins, sign-outs through
//! the API, late writes of older cutoffs, session revocations, checkers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{Call, CallExt, Format};
use serde_json::json;
use signout::app::App;
use signout::authz::{self, Access, Requirements};
use signout::model::{ClientId, EpochMs, Source};
use signout::store::{Consistency, Lookup};
use signout::tokens::Expect;
use signout::{Revoked, Verdict};
use testkit::Fixture;

use crate::record::*;
use crate::{LATE_WRITES_PER_USER, MAX_CHECKS_PER_CHECKER, SESSIONS, SIGN_OUTS_PER_USER};

pub struct Soak {
    pub f: Arc<Fixture>,
    /// The sign-out API's App (one warm Lambda).
    pub api: Arc<App>,
    /// The authorizer's App (another Lambda: its own clients and cache).
    pub authz: Arc<App>,
    pub users: Vec<User>,
    pub client: ClientId,
    pub rng: Rng,
    pub record: Mutex<Record>,
    pub writers_done: AtomicBool,
    pub soak_start: u64,
    pub signers: tokio::sync::Semaphore,
}

impl Soak {
    /// A sign-in as the trigger stamps it: strong read of the cutoff, then a
    /// token of `session` carrying it, minted in the read's second (signing
    /// with the emulator's key runs in a child process and takes a while; the
    /// claims are fixed at the read).
    pub async fn mint(self: Arc<Self>, user: usize, session: usize) {
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
    pub async fn sign_in_now(self: Arc<Self>, user: usize) -> String {
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
    pub async fn sign_outs(self: Arc<Self>, user: usize) -> Vec<tokio::task::JoinHandle<()>> {
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
    pub async fn late_writes(self: Arc<Self>, user: usize) {
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
    pub async fn revocations(self: Arc<Self>, targets: Vec<(usize, usize)>) {
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
    pub async fn check(&self, i: usize, final_pass: bool) {
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
    pub async fn checker(self: Arc<Self>) {
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
