//! Concurrent writes: cutoffs only rise, session revocations are never lost
//! (invariant 3).

use signout::model::{EpochMs, OriginJti, Source, Sub};
use signout::store::{Consistency, Lookup};
use testkit::Fixture;

use super::app;

#[tokio::test]
async fn fifty_concurrent_cutoff_writes_leave_the_maximum() {
    let f = Fixture::new().await;
    let app = app(&f, &[]).await;
    let sub = Sub::from("concurrent-user");
    let base = EpochMs::now().0;
    let mut tasks = Vec::new();
    // Interleave values so later tasks often write smaller ones.
    for i in 0..50u64 {
        let app = app.clone();
        let sub = sub.clone();
        let v = base + (i * 37) % 50;
        tasks.push(tokio::spawn(async move {
            app.store()
                .raise_user_cutoff(&sub, EpochMs(v), Source::Admin)
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let state = app
        .store()
        .load(Lookup::user(&sub), Consistency::Strong)
        .await
        .unwrap();
    assert_eq!(state.user_not_before, Some(EpochMs(base + 49)));

    // A later smaller write does not move it back
    app.store()
        .raise_user_cutoff(&sub, EpochMs(base), Source::Admin)
        .await
        .unwrap();
    let state = app
        .store()
        .load(Lookup::user(&sub), Consistency::Strong)
        .await
        .unwrap();
    assert_eq!(state.user_not_before, Some(EpochMs(base + 49)));

    // And the item carries a TTL that outlives every refresh token issued before it
    let item = f
        .ddb
        .get_item()
        .table_name(&f.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(signout::store::keys::user_cutoff(
                testkit::REGION,
                &sub,
            )),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let ttl: u64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    let c = &app.config;
    assert!(
        ttl >= (base + 49) / 1000
            + c.refresh_token_lifetime.as_secs()
            + c.max_token_lifetime.as_secs(),
        "TTL covers the refresh and token lifetimes"
    );
}

#[tokio::test]
async fn concurrent_session_revocations_are_never_lost() {
    let f = Fixture::new().await;
    let app = app(&f, &[]).await;
    let sub = Sub::from("many-sessions");
    let until = EpochMs::now().secs() + 3600;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let app = app.clone();
        let sub = sub.clone();
        tasks.push(tokio::spawn(async move {
            app.store()
                .revoke_session(
                    &sub,
                    &OriginJti(format!("session-{i}")),
                    until + i,
                    Source::Revoke,
                )
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    for i in 0..30u64 {
        let jti = OriginJti(format!("session-{i}"));
        let state = app
            .store()
            .load(Lookup::session(&sub, &jti), Consistency::Strong)
            .await
            .unwrap();
        assert_eq!(state.session_revoked_until, Some(until + i), "session-{i}");
    }
    // An entry is never shortened
    app.store()
        .revoke_session(
            &sub,
            &OriginJti("session-5".into()),
            until - 100,
            Source::Revoke,
        )
        .await
        .unwrap();
    let jti = OriginJti("session-5".into());
    let state = app
        .store()
        .load(Lookup::session(&sub, &jti), Consistency::Strong)
        .await
        .unwrap();
    assert_eq!(state.session_revoked_until, Some(until + 5));
}
