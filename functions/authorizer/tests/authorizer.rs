//! The authorizer through its handler, with real tokens from the emulator and
//! its DynamoDB as the store.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use signout::model::{EpochMs, Source, Sub};
use testkit::{Fixture, Tokens};

use authorizer::Authorizer;

use testkit::authorizer_events::{METHOD_ARN, ROUTE_ARN, appsync, rest_token};

fn rest_request(token: &str) -> Value {
    testkit::authorizer_events::rest_request(token, None)
}

fn http_v2(token: &str) -> Value {
    testkit::authorizer_events::http_v2(token, None)
}

struct Setup {
    f: Fixture,
    tokens: Tokens,
}

async fn setup() -> Setup {
    let f = Fixture::new().await;
    let tokens = f.sign_in(&f.username).await;
    Setup { f, tokens }
}

async fn authorizer(f: &Fixture, extra: &[(&str, &str)]) -> Authorizer {
    let app = f.app(extra).await;
    let env = f.env_with(extra);
    Authorizer::from_lookup(app, Fixture::lookup(env)).unwrap()
}

async fn call(a: &Authorizer, event: Value) -> Result<Value, String> {
    a.handle(LambdaEvent::new(event, Context::default()))
        .await
        .map_err(|e| e.to_string())
}

fn assert_allowed_policy(out: &Value, arn: &str, sub: &str) {
    assert_eq!(out["principalId"], sub);
    assert_eq!(
        out["policyDocument"],
        json!({"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": arn}]})
    );
}

fn assert_context(ctx: &Value, f: &Fixture, sub: &str) {
    assert_eq!(ctx["sub"], sub);
    assert_eq!(ctx["username"], f.username.as_str());
    assert_eq!(ctx["client_id"], f.client_id.as_str());
    assert_eq!(ctx["scope"], "aws.cognito.signin.user.admin");
    assert_eq!(ctx["token_use"], "access");
    assert!(ctx["origin_jti"].as_str().is_some_and(|s| !s.is_empty()));
    for (k, v) in ctx.as_object().unwrap() {
        assert!(
            v.is_string(),
            "context {k} must be a string (API Gateway's rule)"
        );
    }
}

#[tokio::test]
async fn every_shape_allows_a_valid_token_then_denies_it_after_a_global_sign_out() {
    // GIVEN a signed-in user and one authorizer per response mode
    let Setup { f, tokens } = setup().await;
    let sub = testkit::sub_of(&tokens.access);
    let simple = authorizer(&f, &[]).await;
    let iam = authorizer(&f, &[("AUTHORIZER_RESPONSE_MODE", "iam")]).await;
    let t = tokens.access.as_str();

    // WHEN the token is presented THEN every shape allows, with the caller's context
    let out = call(&simple, rest_token(t)).await.unwrap();
    assert_allowed_policy(&out, METHOD_ARN, &sub);
    assert_context(&out["context"], &f, &sub);
    let out = call(&simple, rest_request(t)).await.unwrap();
    assert_allowed_policy(&out, METHOD_ARN, &sub);
    let out = call(&simple, http_v2(t)).await.unwrap();
    assert_eq!(out["isAuthorized"], true);
    assert_context(&out["context"], &f, &sub);
    let out = call(&iam, http_v2(t)).await.unwrap();
    assert_allowed_policy(&out, ROUTE_ARN, &sub);
    let out = call(&simple, appsync(t)).await.unwrap();
    assert_eq!(out["isAuthorized"], true);
    assert_eq!(out["ttlOverride"], 0, "REVOCATION_CACHE_MS=0 in tests");
    assert_context(&out["resolverContext"], &f, &sub);

    // WHEN the user signs out globally (recorded through the shared crate)
    simple
        .checker
        .store()
        .raise_user_cutoff(&Sub(sub.clone()), EpochMs::now(), Source::SelfService)
        .await
        .unwrap();

    // THEN every shape denies the same token with the platform's answer
    assert_eq!(
        call(&simple, rest_token(t)).await.unwrap_err(),
        "Unauthorized"
    );
    assert_eq!(
        call(&simple, rest_request(t)).await.unwrap_err(),
        "Unauthorized"
    );
    assert_eq!(
        call(&simple, http_v2(t)).await.unwrap(),
        json!({"isAuthorized": false})
    );
    assert_eq!(call(&iam, http_v2(t)).await.unwrap_err(), "Unauthorized");
    assert_eq!(
        call(&simple, appsync(t)).await.unwrap(),
        json!({"isAuthorized": false, "ttlOverride": 0})
    );
}

#[tokio::test]
async fn a_revoked_session_is_denied_once_the_cache_ttl_has_passed() {
    let Setup { f, tokens } = setup().await;
    let a = authorizer(&f, &[("REVOCATION_CACHE_MS", "3000")]).await;
    let other = f.sign_in(&f.username).await;
    let cached_at = std::time::Instant::now();
    assert!(call(&a, rest_token(&tokens.access)).await.is_ok());
    assert!(call(&a, rest_token(&other.access)).await.is_ok());
    let claims = signout::tokens::peek_claims(&tokens.access).unwrap();
    a.checker
        .store()
        .revoke_session(
            &Sub::from(claims["sub"].as_str().unwrap()),
            &signout::OriginJti::from(claims["origin_jti"].as_str().unwrap()),
            claims["exp"].as_u64().unwrap(),
            Source::Revoke,
        )
        .await
        .unwrap();
    // Inside the cache TTL the cached state stands (checked only while surely
    // inside it, so a slow machine cannot make this flaky); after it, denied.
    let still_cached = call(&a, rest_token(&tokens.access)).await.is_ok();
    if cached_at.elapsed() < std::time::Duration::from_millis(2_500) {
        assert!(still_cached, "served from the cache inside its TTL");
    }
    tokio::time::sleep(
        std::time::Duration::from_millis(3_000).saturating_sub(cached_at.elapsed())
            + std::time::Duration::from_millis(100),
    )
    .await;
    assert_eq!(
        call(&a, rest_token(&tokens.access)).await.unwrap_err(),
        "Unauthorized"
    );
    assert!(
        call(&a, rest_token(&other.access)).await.is_ok(),
        "the other session still works"
    );
}

#[tokio::test]
async fn bad_tokens_are_denied_with_the_platforms_401_never_an_error_of_ours() {
    let Setup { f, tokens } = setup().await;
    let a = authorizer(&f, &[]).await;
    let parts: Vec<&str> = tokens.access.split('.').collect();
    let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
    let now = EpochMs::now().secs();

    let expired = f.remint(
        &tokens.access,
        json!({"iat": now - 7200, "exp": now - 3600, "auth_time": now - 7200}),
    );
    let foreign_client = f.remint(&tokens.access, json!({"client_id": "someoneelsesclient"}));
    let foreign_issuer = f.remint(
        &tokens.access,
        json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"}),
    );
    let tampered = {
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["username"] = "admin".into();
        format!("{}.{}.{}", parts[0], b64(&claims.to_string()), parts[2])
    };
    let alg_none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    // The classic confusion attack: HS256 keyed with the public key material.
    let jwks = reqwest_free_get(&format!(
        "{}/{}/.well-known/jwks.json",
        f.endpoint, f.pool_id
    ));
    let hs_signed = {
        let signing_input = format!("{}.{}", b64(r#"{"alg":"HS256","kid":"dummy"}"#), parts[1]);
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, jwks.as_bytes());
        let tag = aws_lc_rs::hmac::sign(&key, signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    };
    let unknown_kid = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"RS256","kid":"rotated"}"#),
        parts[1],
        parts[2]
    );
    let oversized = format!("{}.{}.{}", parts[0], "A".repeat(20_000), parts[2]);
    let cases: Vec<(&str, String)> = vec![
        ("expired", expired),
        ("wrong client", foreign_client),
        ("wrong issuer", foreign_issuer),
        ("ID token where access is required", tokens.id.clone()),
        ("tampered payload", tampered),
        ("alg none", alg_none),
        ("HS256 with the public key", hs_signed),
        ("unknown kid", unknown_kid),
        ("oversized", oversized),
        ("garbage", "not-a-jwt".into()),
        ("garbage header", format!("%%%.{}.{}", parts[1], parts[2])),
        ("empty", String::new()),
    ];
    for (what, token) in &cases {
        assert_eq!(
            call(&a, rest_token(token)).await.unwrap_err(),
            "Unauthorized",
            "REST TOKEN: {what}"
        );
        assert_eq!(
            call(&a, rest_request(token)).await.unwrap_err(),
            "Unauthorized",
            "REST REQUEST: {what}"
        );
        assert_eq!(
            call(&a, http_v2(token)).await.unwrap(),
            json!({"isAuthorized": false}),
            "HTTP: {what}"
        );
        assert_eq!(
            call(&a, appsync(token)).await.unwrap()["isAuthorized"],
            false,
            "AppSync: {what}"
        );
    }
    // The unknown kid made at most one JWKS fetch beyond the first, however often it came
    assert!(
        a.verifier.jwks_fetches() <= 2,
        "fetches: {}",
        a.verifier.jwks_fetches()
    );

    // No header, another scheme, doubled headers
    let mut no_header = http_v2(&tokens.access);
    no_header["headers"] = json!({});
    assert_eq!(
        call(&a, no_header).await.unwrap(),
        json!({"isAuthorized": false})
    );
    let mut basic = rest_request(&tokens.access);
    basic["headers"]["Authorization"] = json!("Basic dXNlcjpwYXNz");
    basic["multiValueHeaders"]["Authorization"] = json!(["Basic dXNlcjpwYXNz"]);
    assert_eq!(call(&a, basic).await.unwrap_err(), "Unauthorized");
    let mut doubled = rest_request(&tokens.access);
    doubled["multiValueHeaders"]["Authorization"] = json!([
        format!("Bearer {}", tokens.access),
        format!("Bearer {}", tokens.access)
    ]);
    assert_eq!(call(&a, doubled).await.unwrap_err(), "Unauthorized");
    // The same token still passes: nothing above poisoned anything
    assert!(call(&a, rest_token(&tokens.access)).await.is_ok());
}

#[tokio::test]
async fn requirements_unmet_give_403_and_id_tokens_pass_when_configured() {
    let Setup { f, tokens } = setup().await;
    let needs_scope = authorizer(&f, &[("REQUIRED_SCOPES", "orders/write")]).await;
    let out = call(&needs_scope, rest_token(&tokens.access))
        .await
        .unwrap();
    assert_eq!(out["policyDocument"]["Statement"][0]["Effect"], "Deny");
    assert_eq!(
        out["policyDocument"]["Statement"][0]["Resource"],
        METHOD_ARN
    );
    assert_eq!(
        call(&needs_scope, http_v2(&tokens.access)).await.unwrap(),
        json!({"isAuthorized": false})
    );
    let needs_group = authorizer(&f, &[("REQUIRED_GROUPS", "admins")]).await;
    let out = call(&needs_group, rest_token(&tokens.access))
        .await
        .unwrap();
    assert_eq!(out["policyDocument"]["Statement"][0]["Effect"], "Deny");
    let any = authorizer(&f, &[("AUTHORIZER_TOKEN_USE", "any")]).await;
    assert!(call(&any, rest_token(&tokens.id)).await.is_ok());
}

#[tokio::test]
async fn an_unreachable_store_denies_by_default_and_allows_only_with_fail_open() {
    let emu = testkit::start_emulator();
    let f = Fixture::on(&emu.endpoint).await;
    let tokens = f.sign_in(&f.username).await;
    let closed = authorizer(&f, &[("SDK_OPERATION_TIMEOUT_MS", "400")]).await;
    let open = authorizer(
        &f,
        &[
            ("SDK_OPERATION_TIMEOUT_MS", "400"),
            ("AUTHORIZER_FAIL_OPEN", "true"),
        ],
    )
    .await;
    // Warm both JWKS caches while the emulator is up
    assert!(call(&closed, rest_token(&tokens.access)).await.is_ok());
    assert!(call(&open, rest_token(&tokens.access)).await.is_ok());
    emu.kill();
    assert_eq!(
        call(&closed, rest_token(&tokens.access)).await.unwrap_err(),
        "Unauthorized"
    );
    assert_eq!(
        call(&closed, http_v2(&tokens.access)).await.unwrap(),
        json!({"isAuthorized": false})
    );
    assert!(call(&open, rest_token(&tokens.access)).await.is_ok());
    assert_eq!(
        call(&open, http_v2(&tokens.access)).await.unwrap()["isAuthorized"],
        true
    );
}

#[tokio::test]
async fn jwks_down_at_cold_start_denies_every_shape_even_with_fail_open_then_recovers() {
    // GIVEN cold starts (fail closed and fail open) whose JWKS goes through a failing proxy
    let Setup { f, tokens } = setup().await;
    let proxy = testkit::FaultProxy::start(&f.endpoint);
    let jwks = format!("{}/{}/.well-known/jwks.json", proxy.endpoint, f.pool_id);
    proxy.set(testkit::Fault::Error(503, "ServiceUnavailable"));
    let closed = authorizer(&f, &[("JWKS_URL", jwks.as_str())]).await;
    let open = authorizer(
        &f,
        &[
            ("JWKS_URL", jwks.as_str()),
            ("AUTHORIZER_FAIL_OPEN", "true"),
        ],
    )
    .await;
    // WHEN valid tokens arrive, twice (the second inside the retry window)
    for a in [&closed, &open] {
        for _ in 0..2 {
            // THEN every shape denies: a token that cannot be verified is never
            // allowed, fail-open or not (fail-open is about the store)
            assert_eq!(
                call(a, rest_token(&tokens.access)).await.unwrap_err(),
                "Unauthorized"
            );
            assert_eq!(
                call(a, http_v2(&tokens.access)).await.unwrap(),
                json!({"isAuthorized": false})
            );
            assert_eq!(
                call(a, appsync(&tokens.access)).await.unwrap()["isAuthorized"],
                false
            );
        }
    }
    // AND once the keys can be fetched, the same token is allowed
    proxy.set(testkit::Fault::Pass);
    tokio::time::sleep(
        signout::tokens::JWKS_RETRY_INTERVAL + std::time::Duration::from_millis(100),
    )
    .await;
    assert!(call(&closed, rest_token(&tokens.access)).await.is_ok());
}

#[tokio::test]
async fn an_unknown_event_shape_is_a_clear_error() {
    let Setup { f, .. } = setup().await;
    let a = authorizer(&f, &[]).await;
    let err = call(&a, json!({"hello": "world"})).await.unwrap_err();
    assert!(err.starts_with("unsupported_event"), "{err}");
}

/// A tiny blocking HTTP GET (the test needs the JWKS bytes once).
fn reqwest_free_get(url: &str) -> String {
    let url = url.strip_prefix("http://").unwrap();
    let (host, path) = url.split_once('/').unwrap();
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
}
