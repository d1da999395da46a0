//! No per-user limit (issue 12): one user's revoked sessions are items of their
//! own, so a user who revoked 20,000 sessions (about twice what filled the old
//! single-item map to DynamoDB's 400 KB limit) can still be signed out every
//! way, and reading their state costs what it costs for anyone.

use std::sync::Arc;

use signout::app::App;
use signout::model::{OriginJti, Source, Sub};
use signout::ops::{self, Completion};
use signout::tokens::{Claims, Expect};
use testkit::{FaultProxy, Faulty, Fixture, Tokens};

const SESSIONS: usize = 20_000;
/// Concurrent writers: the emulator serves one request at a time (Python), so
/// more would only queue requests past the SDK's timeout.
const WRITERS: usize = 4;

async fn claims(app: &App, t: &Tokens) -> Claims {
    app.verifier
        .verify(&t.access, Expect::ACCESS)
        .await
        .expect("the emulator's token verifies")
        .into_claims()
}

/// The DynamoDB answer bytes of one authorizer cache miss for `claims`.
async fn miss_bytes(proxy: &FaultProxy, app: &App, claims: &Claims) -> usize {
    proxy.clear_seen();
    app.checker.check(claims).await.expect("the store answers");
    assert_eq!(
        proxy.seen(),
        ["DynamoDB_20120810.BatchGetItem"],
        "one request per miss"
    );
    proxy.response_bytes()[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_thousand_revoked_sessions_leave_every_sign_out_working_and_reads_flat() {
    let f = Arc::new(Fixture::new().await);
    let app = f.app(&[]).await;
    let t = f.sign_in(&f.username).await;
    let heavy = claims(&app, &t).await;

    // GIVEN a user who revoked 20,000 sessions
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (app, sub) = (app.clone(), heavy.sub.clone());
        writers.push(tokio::spawn(async move {
            let covers = covers(&app);
            for i in (w..SESSIONS).step_by(WRITERS) {
                app.store()
                    .revoke_session(
                        &sub,
                        &OriginJti(format!("old-session-{i}")),
                        covers,
                        Source::Revoke,
                    )
                    .await
                    .unwrap_or_else(|e| panic!("revocation {i} failed: {e}"));
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }

    // THEN an authorizer miss for them reads exactly what it reads for a user with none
    let proxy = FaultProxy::start(&f.endpoint);
    let through = f.app_through(Faulty::Store, &proxy.endpoint, &[]);
    f.create_user("nobody-revoked").await;
    let fresh = claims(&app, &f.sign_in("nobody-revoked").await).await;
    let heavy_bytes = miss_bytes(&proxy, &through, &heavy).await;
    let fresh_bytes = miss_bytes(&proxy, &through, &fresh).await;
    assert_eq!(
        heavy_bytes, fresh_bytes,
        "a miss for a user with {SESSIONS} revoked sessions reads {heavy_bytes} bytes, for a user with none {fresh_bytes}"
    );

    // AND a new session revocation completes
    let second = f.sign_in(&f.username).await;
    let second_claims = claims(&app, &second).await;
    let r = ops::session_sign_out(&app, &second_claims, second.refresh.as_deref())
        .await
        .expect("the token names its session");
    assert_eq!(
        r.result(),
        Completion::Complete,
        "session sign-out: {:?}",
        r.steps
    );

    // AND a global sign-out completes (cutoff recorded, then Cognito)
    let r = ops::global_sign_out(&app, &heavy, &t.access).await;
    assert_eq!(
        r.result(),
        Completion::Complete,
        "global sign-out: {:?}",
        r.steps
    );

    // AND an administrator's sign-out with a block completes
    let r = ops::admin_sign_out(&app, &f.username, &Sub(heavy.sub.0.clone()), 60).await;
    assert_eq!(
        r.result(),
        Completion::Complete,
        "admin sign-out: {:?}",
        r.steps
    );
}

/// Until when the test's sessions stay listed: as a `/revoke` would record them.
fn covers(app: &App) -> u64 {
    let now = signout::EpochMs::now().secs();
    app.store()
        .lifetimes()
        .session_covers_until(now, now + 3600, false)
}
