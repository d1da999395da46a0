//! The logout function's CloudWatch metrics (issue 16): the real binary,
//! served browser requests by a stand-in Lambda runtime API, prints EMF
//! documents that meet the specification (`tools/check_emf.py`) and count
//! each logout as a sign-out of kind `logout`, with the step that failed.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Map, Value, json};
use testkit::apigw::Format;
use testkit::runtime_api::{Served, serve, unreachable};
use testkit::{Fixture, emf};

/// The function's settings as `common::harness_on` gives them, for a process.
fn function_env(f: &Fixture) -> Vec<(String, String)> {
    let mut urls = Map::new();
    urls.insert(f.client_id.clone(), json!([TARGET]));
    let urls = Value::Object(urls).to_string();
    f.function_env(&[
        ("COGNITO_DOMAIN", DOMAIN),
        ("LOGOUT_URLS", &urls),
        ("LOGOUT_CALLBACK_URL", CALLBACK),
        ("LOGOUT_STATE_KEY", STATE_KEY),
        ("LOGOUT_COOKIES", COOKIES),
        ("SDK_OPERATION_TIMEOUT_MS", "500"),
    ])
}

fn run(env: &[(String, String)], events: &[Value]) -> Served {
    let events: Vec<String> = events.iter().map(Value::to_string).collect();
    serve(
        env!("CARGO_BIN_EXE_logout").as_ref(),
        env,
        &events,
        Duration::from_secs(60),
    )
}

async fn hinted_logout(f: &Fixture) -> Value {
    let user = testkit::unique("metrics-logout-");
    f.create_user(&user).await;
    let hint = f.sign_in(&user).await.id;
    logout(
        Format::V2,
        &[
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", TARGET),
        ],
        &[],
    )
}

#[tokio::test]
async fn a_logout_is_counted_as_a_complete_sign_out_in_valid_emf() {
    let f = Fixture::new().await;
    let served = run(&function_env(&f), &[hinted_logout(&f).await]);
    emf::assert_valid(&served.stdout);
    let docs = emf::documents(&served.stdout);
    assert_eq!(
        emf::total(
            &docs,
            "SignOuts",
            &[("Kind", "logout"), ("Result", "complete")]
        ),
        1.0
    );
    assert_eq!(emf::total(&docs, "StoreErrors", &[]), 0.0);
}

#[tokio::test]
async fn a_logout_the_store_cannot_record_is_counted_failed_with_its_step() {
    let f = Fixture::new().await;
    // GIVEN a table nobody answers for (a closed port); the default scope is the hinted session
    let env = unreachable(function_env(&f), "AWS_ENDPOINT_URL_DYNAMODB");
    let served = run(&env, &[hinted_logout(&f).await]);
    emf::assert_valid(&served.stdout);
    let docs = emf::documents(&served.stdout);
    assert_eq!(
        emf::total(
            &docs,
            "SignOuts",
            &[("Kind", "logout"), ("Result", "failed")]
        ),
        1.0
    );
    assert_eq!(
        emf::total(
            &docs,
            "SignOutStepFailures",
            &[("Kind", "logout"), ("Step", "record_session")]
        ),
        1.0
    );
    assert!(emf::total(&docs, "StoreErrors", &[]) >= 1.0);
}
