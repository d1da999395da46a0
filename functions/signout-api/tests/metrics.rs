//! The sign-out API's CloudWatch metrics (issue 16): the real binary, served
//! API Gateway events by a stand-in Lambda runtime API, prints EMF documents
//! that meet the specification (`tools/check_emf.py`) and count every
//! sign-out by kind and result, and each failed step.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::apigw::{Call, Format};
use testkit::runtime_api::{Served, serve, unreachable};
use testkit::{Fixture, emf};

fn run(env: &[(String, String)], calls: &[Call]) -> Served {
    let events: Vec<String> = calls.iter().map(|c| c.event().to_string()).collect();
    let bin = env!("CARGO_BIN_EXE_signout-api");
    serve(bin.as_ref(), env, &events, Duration::from_secs(60))
}

fn status(answer: &testkit::runtime_api::Answered) -> u64 {
    match answer {
        testkit::runtime_api::Answered::Response(body) => serde_json::from_str::<Value>(body)
            .unwrap()["statusCode"]
            .as_u64()
            .unwrap(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn sign_outs_are_counted_by_kind_and_result_in_valid_emf() {
    let f = Fixture::new().await;
    let mut users = Vec::new();
    for _ in 0..2 {
        let u = testkit::unique("metrics-api-");
        f.create_user(&u).await;
        users.push(f.sign_in(&u).await.access);
    }
    // WHEN: a global, a session, a client and a pool sign-out
    let calls = [
        Call::new(Format::V2, "POST", "/signout").bearer(&users[0]),
        Call::new(Format::V2, "POST", "/signout")
            .bearer(&users[1])
            .json(json!({"scope": "session"})),
        Call::new(
            Format::V2,
            "POST",
            &format!("/admin/clients/{}/signout", f.client_id),
        )
        .iam(),
        Call::new(Format::V2, "POST", "/admin/signout-all").iam(),
    ];
    let served = run(&f.function_env(&[]), &calls);
    let statuses: Vec<u64> = served.answers.iter().map(status).collect();
    assert_eq!(statuses, [200, 200, 200, 200]);

    // THEN the documents meet the specification and count each kind, complete
    emf::assert_valid(&served.stdout);
    let docs = emf::documents(&served.stdout);
    for kind in ["global", "session", "client", "pool"] {
        assert_eq!(
            emf::total(&docs, "SignOuts", &[("Kind", kind), ("Result", "complete")]),
            1.0,
            "{kind}"
        );
    }
    assert_eq!(emf::total(&docs, "PartialSignOuts", &[]), 0.0);
}

#[tokio::test]
async fn a_partial_sign_out_is_counted_with_its_failed_step_under_the_function_dimension() {
    let f = Fixture::new().await;
    let u = testkit::unique("metrics-partial-");
    f.create_user(&u).await;
    let token = f.sign_in(&u).await.access;
    // GIVEN Cognito unreachable (a closed port): the cutoff is recorded, Cognito is not told
    let env = unreachable(
        f.function_env(&[("SDK_OPERATION_TIMEOUT_MS", "500")]),
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
    );
    let served = run(
        &env,
        &[Call::new(Format::V2, "POST", "/signout").bearer(&token)],
    );
    assert_eq!(status(&served.answers[0]), 503);
    emf::assert_valid(&served.stdout);
    let docs = emf::documents(&served.stdout);
    assert_eq!(
        emf::total(
            &docs,
            "SignOuts",
            &[("Kind", "global"), ("Result", "partial")]
        ),
        1.0
    );
    assert_eq!(emf::total(&docs, "PartialSignOuts", &[]), 1.0);
    assert_eq!(
        emf::total(
            &docs,
            "SignOutStepFailures",
            &[("Kind", "global"), ("Step", "cognito_global_sign_out")]
        ),
        1.0
    );
}
