//! Invariant 6 for the events function: stream records of every kind of fact
//! announced to a relying party (joserfc validates each token against the
//! published keys) and to one that cannot be reached; then its log is searched
//! for every logout token and SET it signed, and every secret of the fixture
//! (see the crate's documentation).

use e2e_tests::*;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use signout::events::kms::KeySet;
use signout::events::{Announcer, EventsSettings};
use testkit::events::{RelyingParty, SSF_AUDIENCE};

const ISSUER: &str = "https://signout.example.com";

#[test]
fn events_logs_no_token_cookie_secret_or_authorization_header_even_at_trace() {
    no_secrets_in_logs(
        "events",
        &[
            "announced",
            "delivery failed",
            "record failed: retried from here",
        ],
        8,
        drive,
    );
}

/// A sample stream event of `kind` (`events/events/`), naming `sub` and `session`.
fn record(
    kind: &str,
    pk: &str,
    value_attribute: &str,
    sub: &str,
    session: &str,
    client: &str,
) -> Value {
    let (_, text) = testkit::sample_events("events")
        .into_iter()
        .find(|(n, _)| n == "insert-user-cutoff.json")
        .unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    let change = &mut event["Records"][0]["dynamodb"];
    change["Keys"]["pk"]["S"] = json!(pk);
    let image = change["NewImage"].as_object_mut().unwrap();
    image.remove("not_before");
    image.insert("pk".into(), json!({"S": pk}));
    image.insert(
        value_attribute.into(),
        json!({"N": signout::model::EpochMs::now().0.to_string()}),
    );
    image.insert("sub".into(), json!({"S": sub}));
    image.insert("origin_jti".into(), json!({"S": session}));
    image.insert("client_id".into(), json!({"S": client}));
    image.insert("source".into(), json!({"S": kind}));
    event
}

async fn drive(ctx: &Ctx) {
    let f = &ctx.f;
    let user = ctx.user().await;
    let t = ctx.sign_in(&user).await;
    let sub = testkit::sub_of(&t.access);
    let session = testkit::signout_claims(&t.access)["origin_jti"]
        .as_str()
        .unwrap()
        .to_owned();

    // A signing key, its JWKS as the sign-out API publishes it, and a relying party reading it
    let kms = aws_sdk_kms::Client::new(&f.sdk);
    let key_id = testkit::events::signing_key(&f.sdk).await;
    let jwks = KeySet::new(kms, vec![key_id.clone()]).jwks().await.unwrap();
    let jwks_file = std::env::temp_dir()
        .join(testkit::unique("events-jwks-"))
        .with_extension("json");
    std::fs::write(&jwks_file, jwks.to_string()).unwrap();
    let rp = RelyingParty::start(&format!("file://{}", jwks_file.display()), ISSUER);
    let nowhere = format!("http://127.0.0.1:{}/bcl", testkit::free_port());
    let registrations = json!({
        f.client_id.clone(): {"backchannel_logout_uri": rp.bcl_uri(&f.client_id)},
        f.secret_client_id.clone(): {"backchannel_logout_uri": nowhere},
    })
    .to_string();
    let receivers =
        json!([{"endpoint_url": format!("{}/ssf", rp.url), "aud": SSF_AUDIENCE}]).to_string();
    let lookup = ctx.lookup(&[
        ("EVENTS_ISSUER", ISSUER),
        ("EVENTS_SIGNING_KEYS", &key_id),
        ("BACKCHANNEL_LOGOUT", &registrations),
        ("SSF_RECEIVERS", &receivers),
    ]);
    let config = signout::Config::from_lookup(&lookup).unwrap();
    let settings = EventsSettings::from_lookup(&lookup, &config.app_client_ids, true).unwrap();
    let announcer = Announcer::from_config(&f.sdk, &config, settings);

    // Every kind of fact, each as its own batch
    let r = testkit::REGION;
    let facts = [
        ("self-service", format!("{r}#USER#{sub}"), "not_before"),
        (
            "logout",
            format!("{r}#SESSION#{sub}#{session}"),
            "covers_until",
        ),
        ("admin", format!("{r}#BLOCK#{sub}"), "blocked_until"),
        (
            "incident-response",
            format!("{r}#CLIENT#{}", f.client_id),
            "not_before",
        ),
        ("incident-response", format!("{r}#POOL"), "not_before"),
    ];
    for (kind, pk, attribute) in facts {
        let event = record(kind, &pk, attribute, &sub, &session, &f.client_id);
        let event = serde_json::from_value(event).unwrap();
        ctx.count("events");
        let answer = events::handle(&announcer, LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
        // The unreachable relying party fails every fact that names a user;
        // client and pool cutoffs send no logout token.
        let names_a_user = !pk.contains("#CLIENT#") && !pk.ends_with("#POOL");
        assert_eq!(
            answer.batch_item_failures.len(),
            usize::from(names_a_user),
            "{pk}"
        );
    }

    // THEN the relying party verified what it received, and every token it got is searched for
    let received = rp.received();
    assert!(
        received.iter().filter(|r| r["valid"] == true).count() >= 8,
        "{received:?}"
    );
    for r in &received {
        assert_eq!(r["valid"], true, "{r}");
        ctx.secrets().token(r["token"].as_str().unwrap());
    }
}
