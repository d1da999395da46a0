//! The sign-out API's X-Ray subsegments (issue 16): a sampled global sign-out
//! sends its store write and its Cognito call, each a subsegment of the
//! invocation's segment, valid against AWS's segment document schema.

use std::time::Duration;

use testkit::Fixture;
use testkit::apigw::{Call, Format};
use testkit::runtime_api::{Served, serve_traced};
use testkit::xray::{self, Daemon};

#[tokio::test]
async fn a_global_sign_out_sends_the_store_write_and_the_cognito_call_under_its_segment() {
    let f = Fixture::new().await;
    let user = testkit::unique("xray-api-");
    f.create_user(&user).await;
    let token = f.sign_in(&user).await.access;
    let daemon = Daemon::new();
    let mut env = f.function_env(&[]);
    env.push(daemon.env());
    let event = Call::new(Format::V2, "POST", "/signout")
        .bearer(&token)
        .event();
    let served = serve_traced(
        env!("CARGO_BIN_EXE_signout-api").as_ref(),
        &env,
        &[event.to_string()],
        Duration::from_secs(60),
        true,
    );
    assert!(format!("{:?}", served.answers[0]).contains("complete"));

    let datagrams = daemon.received();
    xray::assert_valid(&datagrams);
    let subsegments = xray::subsegments(&datagrams);
    let operations: Vec<(String, String)> = subsegments
        .iter()
        .filter(|s| s["namespace"] == "aws")
        .map(|s| {
            assert_eq!(s["trace_id"], Served::trace_id(0), "{s}");
            assert_eq!(s["parent_id"], Served::segment_id(0), "{s}");
            assert_eq!(s["http"]["response"]["status"], 200, "{s}");
            let op = s["aws"]["operation"].as_str().unwrap_or_default();
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                op.to_owned(),
            )
        })
        .collect();
    assert!(
        operations.contains(&("DynamoDB".into(), "UpdateItem".into())),
        "{operations:?}"
    );
    assert!(
        operations.iter().any(|(_, op)| op == "GlobalSignOut"),
        "{operations:?}"
    );
}
