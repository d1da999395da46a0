//! The published contract, `docs/openapi.yaml`, checked two ways:
//!
//! * the document is valid OpenAPI 3.1, and its API Gateway rendition
//!   (`tools/openapi_apigateway.py`) valid OpenAPI 3.0 (openapi-spec-validator);
//! * schemathesis drives the real `signout-api` binary under `cargo lambda watch`,
//!   with the emulator behind it, through `tools/apigw_adapter.py` (plain HTTP in,
//!   API Gateway HTTP API 2.0 events out): every answer must be one the document
//!   describes (status, content type, headers, schema), and none may be a 5xx
//!   other than a documented 503. Settings: `tools/schemathesis.toml`; real
//!   credentials and tokens: `tools/contract_hooks.py`.
//!
//! Pinned tools: `tools/requirements-contract.txt`, installed by `make venv`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use testkit::{Fixture, LambdaWatch, free_port, python, root, unique};

mod common;
use common::{Call, CallExt, Format};

/// The `Authorization` value the adapter treats as a valid SigV4 signature (tests only).
const SIGV4_TEST_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";

fn venv_bin(name: &str) -> PathBuf {
    let p = root().join(".venv/bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: run `make venv` (installs tools/requirements-contract.txt)",
        p.display()
    );
    p
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run a tool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_document_is_valid_openapi_3_1_and_its_api_gateway_rendition_valid_3_0() {
    let doc = root().join("docs/openapi.yaml");
    let (ok, text) = run(Command::new(venv_bin("openapi-spec-validator")).arg(&doc));
    assert!(ok, "docs/openapi.yaml: {text}");
    assert!(
        std::fs::read_to_string(&doc)
            .unwrap()
            .starts_with("openapi: 3.1."),
        "the contract is OpenAPI 3.1"
    );

    let (ok, rendition) = run(Command::new(python())
        .arg(root().join("tools/openapi_apigateway.py"))
        .arg(&doc)
        .args([
            "--function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:signout-api",
        ]));
    assert!(ok, "tools/openapi_apigateway.py: {rendition}");
    let json: serde_json::Value = serde_json::from_str(&rendition).expect("JSON");
    assert_eq!(json["openapi"], "3.0.3");
    assert_eq!(
        json["paths"]["/admin/signout-all"]["post"]["security"],
        serde_json::json!([{"sigv4": []}])
    );
    let file = std::env::temp_dir().join(format!("{}.json", unique("openapi-apigateway-")));
    std::fs::write(&file, &rendition).unwrap();
    let (ok, text) = run(Command::new(venv_bin("openapi-spec-validator")).arg(&file));
    let _ = std::fs::remove_file(&file);
    assert!(ok, "API Gateway rendition: {text}");
}

/// The adapter process, killed when dropped.
struct Adapter {
    url: String,
    child: Child,
}

impl Adapter {
    fn start(lambda_endpoint: &str) -> Adapter {
        let mut child = Command::new(python())
            .arg(root().join("tools/apigw_adapter.py"))
            .args(["--lambda", lambda_endpoint, "--function", "signout-api"])
            .args(["--iam-authorization", SIGV4_TEST_AUTHORIZATION])
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tools/apigw_adapter.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("adapter said {line:?}"))
            .to_owned();
        Adapter { url, child }
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_real_function_keeps_the_documented_contract() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // GIVEN the emulator, a fixture (pool, a public and a confidential client, the
    // user whose tokens schemathesis uses) and a second user for the admin routes
    let f = rt.block_on(Fixture::new());
    let admin_target = unique("bob");
    rt.block_on(f.create_user(&admin_target));
    // AND the real binary under cargo lambda watch, built by a first invocation
    let watch = LambdaWatch::start(free_port(), &f.function_env(&[]));
    let tokens = rt.block_on(f.sign_in(&f.username));
    let warm = f.fill(
        &std::fs::read_to_string(root().join("events/signout-api/v2-session.json")).unwrap(),
        Some(&tokens),
        &testkit::sub_of(&tokens.access),
    );
    let (status, body) = watch.invoke("signout-api", &warm);
    assert_eq!(status, 200, "warm-up: {body}");
    // AND the API Gateway stand-in in front of it
    let adapter = Adapter::start(&watch.endpoint);

    // WHEN schemathesis tests every operation of the document against it
    let started = Instant::now();
    let (ok, report) = run(Command::new(venv_bin("schemathesis"))
        .current_dir(root())
        .args(["--config-file", "tools/schemathesis.toml", "--no-color"])
        .args(["run", "docs/openapi.yaml", "--url", &adapter.url])
        .env("CONTRACT_ENDPOINT", &f.endpoint)
        .env("CONTRACT_CLIENT_ID", &f.client_id)
        .env("CONTRACT_SECRET_CLIENT_ID", &f.secret_client_id)
        .env("CONTRACT_SECRET_CLIENT_SECRET", &f.secret_client_secret)
        .env("CONTRACT_USERNAME", &f.username)
        .env("CONTRACT_ADMIN_USERNAME", &admin_target)
        .env("CONTRACT_PASSWORD", testkit::PASSWORD)
        .env("CONTRACT_SIGV4_AUTHORIZATION", SIGV4_TEST_AUTHORIZATION));
    println!(
        "schemathesis ran {:.0} s:\n{report}",
        started.elapsed().as_secs_f64()
    );

    // THEN every answer conforms and none is an undocumented server error
    assert!(
        ok,
        "schemathesis found answers the document does not describe:\n{report}"
    );
    drop(adapter);
    drop(watch);
}

#[tokio::test]
async fn what_schemathesis_found_stays_fixed() {
    let f = Fixture::new().await;
    let app = f.app(&[]).await;
    // `block_for_seconds: 121744.0` is an integer to JSON Schema, as the document
    // says; the function refused it with 400 (serde_json's as_u64 takes only `121744`).
    let r = Call::new(
        Format::V2,
        "POST",
        &format!("/admin/users/{}/signout", f.username),
    )
    .iam()
    .json(serde_json::json!({"block_for_seconds": 60.0}))
    .send(&app)
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["steps"][1]["step"], "record_block");
    for half in [60.5, -60.0] {
        let r = Call::new(Format::V2, "POST", "/admin/users/x/signout")
            .iam()
            .json(serde_json::json!({ "block_for_seconds": half }))
            .send(&app)
            .await;
        assert_eq!(r.status, 400, "{half}: {}", r.text);
    }
    // `client_secret` on POST /introspect was refused with Basic credentials but
    // silently accepted with IAM; it is refused whoever calls, as on POST /revoke.
    let r = Call::new(Format::V2, "POST", "/introspect")
        .iam()
        .form("token=x&client_secret=s")
        .send(&app)
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (400, Some("invalid_request")),
        "{}",
        r.text
    );
}
