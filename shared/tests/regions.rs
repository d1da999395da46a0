//! Two Regions over one global table (issue 12, invariant 8), with the
//! emulator simulating DynamoDB's replication (`tools/replication.py`): every
//! write reaches the other Region after a random delay, and concurrent writes
//! to one item are resolved last-writer-wins for the whole item.
//!
//! Sign-outs of every kind run concurrently in both Regions. After
//! convergence, both Regions must hold every fact (invariants 1-3), and the
//! simulator must never have had to drop a write: no item was written in two
//! Regions. A second test measures how long one Region still accepts a token
//! the other has already signed out (reported, not asserted on time).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::Region;
use signout::app::App;
use signout::check::{Decision, Revoked, Verdict, judge};
use signout::model::{ClientId, EpochMs, OriginJti, Source, Sub, TokenUse};
use signout::store::{Consistency, RevocationState};
use signout::tokens::Claims;
use testkit::{Emulator, Fixture, start_emulator_replicating, wait_replicated};

const HOME: &str = testkit::REGION;
const OTHER: &str = "eu-west-1";
const USERS: usize = 6;

struct TwoRegions {
    emulator: Emulator,
    f: Fixture,
    /// The same functions' state, one per Region.
    apps: [Arc<App>; 2],
}

async fn two_regions(delay_ms: (u64, u64), seed: u64, extra: &[(&str, &str)]) -> TwoRegions {
    let emulator = start_emulator_replicating(&[HOME, OTHER], delay_ms, seed);
    let f = Fixture::on(&emulator.endpoint).await;
    let other_sdk = f.sdk.to_builder().region(Region::new(OTHER)).build();
    testkit::create_table(&aws_sdk_dynamodb::Client::new(&other_sdk), &f.table).await;
    let regions = format!("{HOME},{OTHER}");
    let mut settings = vec![("SIGNOUT_REGIONS", regions.as_str())];
    settings.extend_from_slice(extra);
    let home = f.app(&settings).await;
    settings.push(("AWS_REGION", OTHER));
    let config = signout::Config::from_lookup(Fixture::lookup(f.env_with(&settings)))
        .expect("valid configuration in the other Region");
    let other_sdk = other_sdk
        .to_builder()
        .timeout_config(signout::aws::timeouts(config.sdk_operation_timeout))
        .build();
    let other = Arc::new(App::build(config, &other_sdk, Default::default()));
    TwoRegions {
        emulator,
        f,
        apps: [home, other],
    }
}

fn token(sub: &Sub, session: &str, client: &ClientId, stamp: Option<EpochMs>) -> Claims {
    token_at(sub, session, client, stamp, EpochMs::now().secs())
}

/// A token signed in and minted at `now` (epoch s).
fn token_at(
    sub: &Sub,
    session: &str,
    client: &ClientId,
    stamp: Option<EpochMs>,
    now: u64,
) -> Claims {
    Claims {
        sub: sub.clone(),
        token_use: TokenUse::Access,
        client_id: client.clone(),
        iat: now,
        exp: now + 3600,
        auth_time: Some(now),
        jti: None,
        origin_jti: Some(OriginJti::from(session)),
        username: None,
        scope: None,
        groups: vec![],
        stamp,
        identity_providers: vec![],
    }
}

async fn state(app: &App, claims: &Claims) -> RevocationState {
    app.store()
        .load(signout::check::lookup(claims), Consistency::Strong)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_outs_in_two_regions_leave_every_fact_in_both() {
    // Deliveries take 100-400 ms: every write below lands in its own Region
    // before the other Region's concurrent write reaches it.
    let r = two_regions((100, 400), 7, &[]).await;
    let client = ClientId(r.f.client_id.clone());
    let base = EpochMs::now().0;
    let users: Vec<Sub> = (0..USERS).map(|u| Sub(format!("user-{u}"))).collect();

    // WHEN both Regions sign out every user at once, the later write in each
    // pair carrying the lower value, and revoke sessions, block, and cut off
    // the client and the pool
    let mut tasks = Vec::new();
    for (i, app) in r.apps.iter().enumerate() {
        for (u, sub) in users.iter().enumerate() {
            let (app, sub, client) = (app.clone(), sub.clone(), client.clone());
            let u = u as u64;
            tasks.push(tokio::spawn(async move {
                let s = app.store();
                // Region 0 writes the higher cutoff and block; region 1 the lower ones, later.
                let high = i == 0;
                if !high {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                }
                let cutoff = EpochMs(base + 1_000 * u + if high { 500 } else { 100 });
                s.raise_user_cutoff(&sub, cutoff, Source::Admin).await?;
                let until = EpochMs(base + 3_600_000 + if high { 60_000 } else { 0 });
                s.block_user(&sub, until, Source::Admin).await?;
                let covers = s.lifetimes().session_covers_until(base / 1000, 0, false);
                s.revoke_session(&sub, &OriginJti(format!("s{i}")), covers, Source::Revoke)
                    .await?;
                s.raise_client_cutoff(
                    &client,
                    EpochMs(base + if high { 50 } else { 10 }),
                    Source::IncidentResponse,
                )
                .await?;
                s.raise_pool_cutoff(
                    EpochMs(base + if high { 40 } else { 20 }),
                    Source::IncidentResponse,
                )
                .await
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().expect("every write is acknowledged");
    }
    let counters = wait_replicated(&r.emulator.endpoint);

    // THEN no write had to be dropped: no item was written in two Regions
    assert_eq!(counters["dropped_lww"], 0, "{counters}");
    assert_eq!(counters["applied"], counters["captured"], "{counters}");

    // AND both Regions hold the maximum of every fact, and both sessions
    for (region, app) in [HOME, OTHER].iter().zip(&r.apps) {
        for (u, sub) in users.iter().enumerate() {
            let u = u as u64;
            for session in ["s0", "s1"] {
                let t = token(sub, session, &client, None);
                let st = state(app, &t).await;
                assert_eq!(
                    st.user_not_before,
                    Some(EpochMs(base + 1_000 * u + 500)),
                    "{region}: user {u}'s highest cutoff"
                );
                assert_eq!(
                    st.blocked_until,
                    Some(EpochMs(base + 3_660_000)),
                    "{region}: user {u}'s longest block"
                );
                assert!(st.session_revoked(), "{region}: user {u}'s {session}");
                assert_eq!(st.client_not_before, Some(EpochMs(base + 50)), "{region}");
                assert_eq!(st.pool_not_before, Some(EpochMs(base + 40)), "{region}");
            }
            let untouched = state(app, &token(sub, "s2", &client, None)).await;
            assert!(!untouched.session_revoked(), "{region}: user {u}'s s2");
            // Invariant 1, exact: stamped just below the cutoff is revoked, at it is not.
            let cutoff = EpochMs(base + 1_000 * u + 500);
            let now = EpochMs(base + 3_700_000);
            // Both minted in the cutoff's own second.
            let below = token_at(
                sub,
                "s2",
                &client,
                Some(EpochMs(cutoff.0 - 1)),
                cutoff.secs(),
            );
            let at = token_at(sub, "s2", &client, Some(cutoff), cutoff.secs());
            assert_eq!(
                judge(&below, &untouched, now),
                Verdict::Revoked(Revoked::SignedOut),
                "{region}"
            );
            assert_eq!(judge(&at, &untouched, now), Verdict::Active, "{region}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_out_in_one_region_is_enforced_in_the_other_once_replicated() {
    const TRIALS: usize = 12;
    // The default verdict cache, as deployed: the window is replication plus cache.
    let r = two_regions((0, 300), 11, &[("REVOCATION_CACHE_MS", "1000")]).await;
    let client = ClientId(r.f.client_id.clone());
    let mut windows = Vec::with_capacity(TRIALS);
    for trial in 0..TRIALS {
        let (from, to) = (&r.apps[trial % 2], &r.apps[1 - trial % 2]);
        let sub = Sub(format!("window-user-{trial}"));
        let t = token(&sub, "s", &client, Some(EpochMs(0)));
        // The other Region has a fresh verdict cached for the token.
        assert_eq!(to.checker.decide(&t).await, Decision::Allow);
        from.store()
            .raise_user_cutoff(&sub, EpochMs::now(), Source::SelfService)
            .await
            .unwrap();
        let acknowledged = Instant::now();
        let deadline = acknowledged + Duration::from_secs(30);
        loop {
            if to.checker.decide(&t).await == Decision::Deny(Revoked::SignedOut) {
                windows.push(acknowledged.elapsed());
                break;
            }
            assert!(Instant::now() < deadline, "trial {trial}: never enforced");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    windows.sort();
    println!(
        "cross-Region window over {TRIALS} sign-outs (replication 0-300 ms, cache 1000 ms): median {} ms, worst {} ms",
        windows[TRIALS / 2].as_millis(),
        windows[TRIALS - 1].as_millis()
    );
}
