//! The real function binaries under `cargo lambda watch`, invoked through the
//! Lambda invoke API with the sample events of `events/`, while the emulator
//! invokes the real Pre Token Generation trigger on every sign-in.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::{Fixture, LambdaWatch, Tokens, free_port, sample_events, start_emulator_with_lambda};

fn event(f: &Fixture, dir: &str, name: &str, tokens: Option<&Tokens>, sub: &str) -> String {
    let (_, text) = sample_events(dir)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("events/{dir}/{name}"));
    f.fill(&text, tokens, sub)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

#[test]
fn the_four_functions_under_cargo_lambda_watch() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // GIVEN an emulator that calls our trigger, a pool with the trigger attached (V2_0),
    // and the functions running under cargo lambda watch
    let port = free_port();
    let emu = start_emulator_with_lambda(&format!("http://127.0.0.1:{port}"));
    let f = rt.block_on(Fixture::on(&emu.endpoint));
    rt.block_on(f.attach_trigger("V2_0"));
    let watch = LambdaWatch::start(port, &f.function_env(&[]));

    // The trigger, invoked directly with every sample event, answers each (none is an error).
    for (name, _) in sample_events("pre-token") {
        let (status, body) = watch.invoke(
            "pre-token",
            &event(&f, "pre-token", &name, None, "no-record-sub"),
        );
        assert_eq!(status, 200, "{name}: {body}");
        let out = json(&body);
        assert!(out.get("errorType").is_none(), "{name}: {body}");
        assert!(out.get("response").is_some(), "{name}: {body}");
    }

    // WHEN a user signs in at the emulator THEN the emulator ran our trigger: both tokens are stamped (0: no sign-out yet)
    let before = rt.block_on(f.sign_in(&f.username));
    let sub = testkit::sub_of(&before.access);
    for t in [&before.access, &before.id] {
        let claims = signout::tokens::peek_claims(t).unwrap();
        assert_eq!(
            claims["signout_epoch"],
            json!(0),
            "stamped by the real trigger"
        );
    }

    // The authorizer allows the token in every shape of the sample events
    for name in [
        "rest-token.json",
        "rest-request.json",
        "http-v2.json",
        "appsync.json",
    ] {
        let (status, body) = watch.invoke(
            "authorizer",
            &event(&f, "authorizer", name, Some(&before), &sub),
        );
        assert_eq!(status, 200, "{name}: {body}");
        let out = json(&body);
        let allowed = out["isAuthorized"] == json!(true)
            || out.pointer("/policyDocument/Statement/0/Effect") == Some(&json!("Allow"));
        assert!(allowed, "{name}: {body}");
    }
    let (_, body) = watch.invoke(
        "authorizer",
        &event(&f, "authorizer", "rest-token-garbage.json", None, &sub),
    );
    assert!(body.contains("Unauthorized"), "{body}");

    // WHEN the user signs out through the sign-out API (sample event, HTTP API v2)
    let (status, body) = watch.invoke(
        "signout-api",
        &event(&f, "signout-api", "v2-signout.json", Some(&before), &sub),
    );
    assert_eq!(status, 200, "{body}");
    let resp = json(&body);
    assert_eq!(resp["statusCode"], 200, "{body}");
    let result = json(resp["body"].as_str().unwrap());
    assert_eq!(result["result"], "complete", "{body}");

    // AND signs in again at once (possibly within the same second)
    let after = rt.block_on(f.sign_in(&f.username));
    let stamp = signout::tokens::peek_claims(&after.access).unwrap()["signout_epoch"].clone();
    assert!(
        stamp.as_u64().unwrap() > 0,
        "the new token carries the cutoff"
    );

    // THEN the old token is denied and the new one allowed: exact, whatever the second
    let (_, body) = watch.invoke(
        "authorizer",
        &event(&f, "authorizer", "rest-token.json", Some(&before), &sub),
    );
    assert!(body.contains("Unauthorized"), "old token: {body}");
    let (_, body) = watch.invoke(
        "authorizer",
        &event(&f, "authorizer", "rest-token.json", Some(&after), &sub),
    );
    assert!(body.contains("\"Allow\""), "new token: {body}");

    // The session route and a REST v1 event go through the same binary
    let (_, body) = watch.invoke(
        "signout-api",
        &event(&f, "signout-api", "v1-session.json", Some(&after), &sub),
    );
    assert_eq!(json(&body)["statusCode"], 200, "{body}");

    // An admin block makes the emulator's sign-in fail through the real trigger
    let (_, body) = watch.invoke(
        "signout-api",
        &event(
            &f,
            "signout-api",
            "v2-admin-user-signout.json",
            Some(&after),
            &sub,
        ),
    );
    assert_eq!(json(&body)["statusCode"], 200, "{body}");
    let refused = rt.block_on(async {
        f.idp
            .initiate_auth()
            .client_id(&f.client_id)
            .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", &f.username)
            .auth_parameters("PASSWORD", testkit::PASSWORD)
            .send()
            .await
    });
    let err = format!("{:?}", refused.unwrap_err());
    assert!(err.contains("UserLambdaValidationException"), "{err}");
    assert!(err.contains("blocked"), "{err}");
    drop(watch);
    std::thread::sleep(Duration::from_millis(100));
}
