//! The local walkthrough behind `make run`: the emulator, the five functions
//! under `cargo lambda watch` (the events function fed by the table's stream,
//! a relying party on loopback receiving its logout tokens), and a newcomer's tour, each request and answer
//! printed. Every step checks its answer, so the same code is an end-to-end
//! test (`testkit/tests/walkthrough.rs`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::emulator::start_emulator_env;
use crate::events::{RelyingParty, enable_stream};
use crate::{Fixture, LambdaWatch, Tokens, free_port, request};

/// Shortens a token for printing: the walkthrough never prints a whole one.
pub fn short(token: &str) -> String {
    format!("{}…({} bytes)", &token[..10.min(token.len())], token.len())
}

fn say(n: &mut u32, what: &str) {
    *n += 1;
    println!("\n\x1b[1m== {n}. {what}\x1b[0m");
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        println!("   ✔ {what}");
        Ok(())
    } else {
        Err(format!("walkthrough step failed: {what}"))
    }
}

const TARGET: &str = "http://localhost:3000/signed-out";
const STATE_KEY: &str = "local-walkthrough-state-key-0123456789abcdef";

/// Everything running: the emulator, the fixture, the functions.
pub struct Running {
    pub emu: crate::Emulator,
    pub f: Fixture,
    pub watch: LambdaWatch,
    /// The app client's relying party (OIDC back-channel logout).
    pub rp: RelyingParty,
}

impl Running {
    fn url(&self, function: &str, path: &str) -> String {
        format!("{}/lambda-url/{function}{path}", self.watch.endpoint)
    }
}

/// Starts the emulator (which calls our trigger), seeds it, and starts the functions.
/// The hosted UI's domain is the emulator's own port under the name
/// `localhost` (the pool's custom domain), so the browser logout goes
/// through the emulator's Cognito `/logout`.
///
/// The functions run under `cargo lambda watch` configured by the workspace's
/// metadata, as a user would start it (see [`LambdaWatch::start_from_metadata`]).
pub async fn start(lambda_port: Option<u16>) -> Running {
    let r = launch(lambda_port, LambdaWatch::start_from_metadata, |f, port| {
        let logout_urls = json!({ f.client_id.clone(): [TARGET] }).to_string();
        let cookies = r#"[{"name":"app_session","path":"/","http_only":true,"same_site":"Lax"},{"name":"refresh_token","path":"/","http_only":true,"same_site":"Strict"}]"#;
        [
            ("COGNITO_DOMAIN", hosted_ui(f)),
            ("LOGOUT_URLS", logout_urls),
            ("LOGOUT_CALLBACK_URL", callback_url(port)),
            ("LOGOUT_STATE_KEY", STATE_KEY.to_owned()),
            ("LOGOUT_COOKIES", cookies.to_owned()),
            ("LOGOUT_REFRESH_COOKIE", "refresh_token".to_owned()),
            ("LOGOUT_CONFIRM", "auto".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    })
    .await;
    let f = &r.f;
    f.idp
        .update_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .logout_urls(callback_url(r.watch.port))
        .callback_urls(APP_CALLBACK)
        .send()
        .await
        .expect("register the client's sign-out and callback URLs");
    f.idp
        .create_user_pool_domain()
        .user_pool_id(&f.pool_id)
        .domain("localhost")
        .custom_domain_config(
            aws_sdk_cognitoidentityprovider::types::CustomDomainConfigType::builder()
                .certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/walkthrough")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create the pool's domain");
    r
}

const APP_CALLBACK: &str = "http://localhost:3000/callback";

fn callback_url(lambda_port: u16) -> String {
    format!("http://localhost:{lambda_port}/lambda-url/logout/logout/callback")
}

/// The emulator's hosted UI: its port, under the pool's domain name.
fn hosted_ui(f: &Fixture) -> String {
    f.endpoint.replace("127.0.0.1", "localhost")
}

/// [`start`] with the logout function's settings of `logout_env(fixture,
/// lambda port)`; the fixture can be changed there (clients, domain).
pub async fn start_with<F>(lambda_port: Option<u16>, logout_env: F) -> Running
where
    F: FnOnce(&Fixture, u16) -> Vec<(String, String)>,
{
    launch(lambda_port, LambdaWatch::start, logout_env).await
}

async fn launch<F>(
    lambda_port: Option<u16>,
    start_watch: fn(u16, &[(String, String)]) -> LambdaWatch,
    logout_env: F,
) -> Running
where
    F: FnOnce(&Fixture, u16) -> Vec<(String, String)>,
{
    let port = lambda_port.unwrap_or_else(free_port);
    let lambda = format!("http://127.0.0.1:{port}");
    // The emulator calls the trigger, and feeds the table's stream to `events`.
    let emu = start_emulator_env(&[
        ("EMULATOR_LAMBDA_ENDPOINT", &lambda),
        ("EMULATOR_STREAM_FUNCTION", "events"),
    ]);
    let f = Fixture::on(&emu.endpoint).await;
    f.attach_trigger("V2_0").await;
    enable_stream(&f.ddb, &f.table).await;
    let mut extra = logout_env(&f, port);
    let (rp, events_env) = relying_party(&f, &lambda).await;
    extra.extend(events_env);
    let pairs: Vec<(&str, &str)> = extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let env = f.function_env(&pairs);
    let watch = start_watch(port, &env);
    // cargo lambda watch builds and starts a function on its first invoke; do
    // it now, so the emulator's trigger call (5 s limit, as at Cognito) finds it warm.
    for function in ["pre-token", "authorizer", "signout-api", "logout"] {
        watch.invoke(function, "{}");
    }
    watch.invoke("events", r#"{"Records":[]}"#);
    Running { emu, f, watch, rp }
}

/// A KMS signing key, and a relying party registered for the fixture's app
/// client that validates logout tokens against the sign-out API's JWKS; the
/// settings that tell the functions about them.
async fn relying_party(f: &Fixture, lambda: &str) -> (RelyingParty, Vec<(String, String)>) {
    let key_id = crate::events::signing_key(&f.sdk).await;
    let issuer = format!("{lambda}/lambda-url/signout-api");
    let rp = RelyingParty::start(&signout::events::metadata::jwks_uri(&issuer), &issuer);
    let registration =
        json!({f.client_id.clone(): {"backchannel_logout_uri": rp.bcl_uri(&f.client_id)}});
    let env = vec![
        ("EVENTS_ISSUER".to_owned(), issuer),
        ("EVENTS_SIGNING_KEYS".to_owned(), key_id),
        ("BACKCHANNEL_LOGOUT".to_owned(), registration.to_string()),
    ];
    (rp, env)
}

fn authorizer_event(token: &str) -> String {
    json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:local/$default/GET/session",
        "identitySource": [format!("Bearer {token}")], "routeKey": "GET /session",
        "rawPath": "/session", "headers": {"authorization": format!("Bearer {token}")},
        "requestContext": {"http": {"method": "GET", "path": "/session"}}
    })
    .to_string()
}

fn stamp(token: &str) -> Value {
    crate::signout_claims(token)["signout_epoch"].clone()
}

/// Plays the tour against `r`. Returns the first step whose answer was wrong.
pub async fn tour(r: &Running) -> Result<(), String> {
    let f = &r.f;
    let mut n = 0;
    say(
        &mut n,
        "The local AWS: moto (DynamoDB, Cognito, + RevokeToken and the trigger hook) and the functions",
    );
    println!("   emulator        {}", r.emu.endpoint);
    println!(
        "   functions       {} (cargo lambda watch)",
        r.watch.endpoint
    );
    println!(
        "   user pool       {} (Pre Token Generation trigger V2_0 → pre-token)",
        f.pool_id
    );
    println!("   app client      {}", f.client_id);
    println!("   user            {} / {}", f.username, f.password);
    println!("   table           {}", f.table);
    println!(
        "   relying party   {} (back-channel logout of {})",
        r.rp.url, f.client_id
    );

    say(
        &mut n,
        "Sign in (InitiateAuth USER_PASSWORD_AUTH): the emulator calls our trigger, which stamps the tokens",
    );
    let first = f.sign_in(&f.username).await;
    println!("   access token    {}", short(&first.access));
    println!(
        "   signout_epoch   {} (no sign-out yet)",
        stamp(&first.access)
    );
    check(
        stamp(&first.access) == json!(0) && stamp(&first.id) == json!(0),
        "both tokens carry signout_epoch = 0",
    )?;

    say(
        &mut n,
        "GET /session through the authorizer (HTTP API 2.0 event, simple response)",
    );
    let (status, body) = r
        .watch
        .invoke("authorizer", &authorizer_event(&first.access));
    println!("   authorizer → {status} {body}");
    check(
        body.contains("\"isAuthorized\":true"),
        "the authorizer allows the token",
    )?;
    let bearer = format!("Bearer {}", first.access);
    let a = request(
        "GET",
        &r.url("signout-api", "/session"),
        &[("authorization", &bearer)],
        "",
    );
    println!(
        "   GET /session → {} {}",
        a.status,
        &a.body[..a.body.len().min(120)]
    );
    check(
        a.status == 200,
        "the session route answers 200 with the claims",
    )?;

    say(
        &mut n,
        "POST /signout (global): the cutoff is recorded, then Cognito's GlobalSignOut",
    );
    let a = request(
        "POST",
        &r.url("signout-api", "/signout"),
        &[("authorization", &bearer)],
        "",
    );
    println!("   POST /signout → {} {}", a.status, a.body);
    check(
        a.status == 200 && a.body.contains("\"complete\""),
        "both steps complete",
    )?;

    say(
        &mut n,
        "The same token now: denied by the authorizer, 401 on /session, refused by Cognito",
    );
    let (_, body) = r
        .watch
        .invoke("authorizer", &authorizer_event(&first.access));
    println!("   authorizer → {body}");
    check(
        body.contains("\"isAuthorized\":false"),
        "the authorizer denies the signed-out token",
    )?;
    let a = request(
        "GET",
        &r.url("signout-api", "/session"),
        &[("authorization", &bearer)],
        "",
    );
    println!(
        "   GET /session → {} {}",
        a.status,
        a.header("www-authenticate").unwrap_or("")
    );
    check(a.status == 401, "the session route answers 401")?;
    check(
        !f.cognito_accepts(&first.access).await,
        "Cognito's GetUser refuses it too",
    )?;

    say(
        &mut n,
        "Sign in again at once: the trigger stamps the cutoff, so the new token passes even within the same second",
    );
    let second = f.sign_in(&f.username).await;
    println!("   signout_epoch   {}", stamp(&second.access));
    check(
        stamp(&second.access).as_u64().unwrap_or(0) > 0,
        "the new token carries the cutoff",
    )?;
    let (_, body) = r
        .watch
        .invoke("authorizer", &authorizer_event(&second.access));
    check(
        body.contains("\"isAuthorized\":true"),
        "the authorizer allows the new token",
    )?;

    say(
        &mut n,
        "Browser logout: GET /logout (OIDC style) → Cognito's /logout → our callback → the app, cookies cleared",
    );
    logout_chain(r, &second).await?;

    say(&mut n, "The logged-out session is revoked downstream");
    let (_, body) = r
        .watch
        .invoke("authorizer", &authorizer_event(&second.access));
    println!("   authorizer → {body}");
    check(
        body.contains("\"isAuthorized\":false"),
        "the authorizer denies the logged-out session",
    )?;
    check(
        f.refresh(second.refresh.as_deref().unwrap_or(""))
            .await
            .is_err(),
        "its refresh token was revoked at Cognito",
    )?;

    say(
        &mut n,
        "Sign-out events: the table's stream → events → the app's relying party, which verified each logout token (joserfc, our JWKS)",
    );
    let sid = crate::signout_claims(&second.access)["origin_jti"].clone();
    let verified = wait_for_logout(r, &sid).await;
    for line in std::fs::read_to_string(&r.rp.log)
        .unwrap_or_default()
        .lines()
    {
        println!("   {line}");
    }
    check(
        verified,
        "the relying party verified a logout token for the global sign-out (sub) and one for the logged-out session (sid = origin_jti)",
    )?;
    Ok(())
}

/// Waits (at most a minute) until the relying party holds a verified logout
/// token naming `sid`, and one naming only the user; whether it did.
async fn wait_for_logout(r: &Running, sid: &Value) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let received = r.rp.received();
        let valid = |want_sid: bool| {
            received.iter().any(|e| {
                e["valid"] == true
                    && (if want_sid {
                        &e["claims"]["sid"] == sid
                    } else {
                        e["claims"].get("sid").is_none()
                    })
            })
        };
        if valid(true) && valid(false) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn logout_chain(r: &Running, t: &Tokens) -> Result<(), String> {
    let f = &r.f;
    let hosted = hosted_ui(f);
    // The browser signs in at the hosted UI too: it holds Cognito's session cookie.
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &f.client_id)
        .append_pair("redirect_uri", APP_CALLBACK)
        .append_pair("response_type", "code")
        .append_pair("username", &f.username)
        .append_pair("password", &f.password)
        .finish();
    let a = request(
        "POST",
        &format!("{hosted}/login"),
        &[("content-type", "application/x-www-form-urlencoded")],
        &form,
    );
    let cognito_cookie = a
        .all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("cognito=") && !c.starts_with("cognito=;"))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .ok_or("the hosted UI set no cognito cookie")?;
    println!(
        "   POST {hosted}/login → {} (the hosted UI's session: cognito=<opaque>)",
        a.status
    );
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &f.client_id)
        .append_pair("post_logout_redirect_uri", TARGET)
        .append_pair("id_token_hint", &t.id)
        .append_pair("state", "af0ifjsldkj")
        .finish();
    let cookie = format!(
        "app_session=abc; refresh_token={}",
        t.refresh.as_deref().unwrap_or("")
    );
    let a = request(
        "GET",
        &r.url("logout", &format!("/logout?{query}")),
        &[("cookie", &cookie)],
        "",
    );
    let to_cognito = a.header("location").unwrap_or("").to_owned();
    println!("   GET /logout → {} Location: {to_cognito}", a.status);
    for c in a.all("set-cookie") {
        println!(
            "   Set-Cookie: {}",
            c.split_once('=')
                .map(|(k, rest)| format!(
                    "{k}={}",
                    if rest.starts_with(';') {
                        rest.to_owned()
                    } else {
                        "<signed state>".into()
                    }
                ))
                .unwrap_or_default()
        );
    }
    check(
        a.status == 302 && to_cognito.starts_with(&format!("{hosted}/logout?")),
        "first hop: Cognito's /logout",
    )?;
    check(
        a.all("set-cookie")
            .iter()
            .any(|c| c.starts_with("app_session=;")),
        "the app cookie is expired",
    )?;
    let state_cookie = a
        .all("set-cookie")
        .into_iter()
        .find(|c| {
            c.starts_with("__Host-signout_state=") && !c.starts_with("__Host-signout_state=;")
        })
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .ok_or("no state cookie was set")?;
    // Cognito's /logout (the emulator's hosted UI) clears its cookie and returns to our callback.
    let a = request("GET", &to_cognito, &[("cookie", &cognito_cookie)], "");
    let to_callback = a.header("location").unwrap_or("").to_owned();
    println!(
        "   GET Cognito /logout → {} Location: {to_callback}",
        a.status
    );
    check(
        a.status == 302 && to_callback == callback_url(r.watch.port),
        "Cognito's /logout returns to our callback",
    )?;
    check(
        a.all("set-cookie")
            .iter()
            .any(|c| c.starts_with("cognito=;") && c.contains("Max-Age=0")),
        "Cognito's session cookie is expired",
    )?;
    let a = request("GET", &to_callback, &[("cookie", &state_cookie)], "");
    let final_target = a.header("location").unwrap_or("").to_owned();
    println!(
        "   GET /logout/callback → {} Location: {final_target}",
        a.status
    );
    check(
        a.status == 302 && final_target == format!("{TARGET}?state=af0ifjsldkj"),
        "last hop: the app, with state echoed",
    )?;
    let replay = request(
        "GET",
        &r.url("logout", "/logout/callback"),
        &[("cookie", &state_cookie)],
        "",
    );
    check(
        replay.status == 400 && replay.header("location").is_none(),
        "a replayed state cookie is refused",
    )?;
    let evil = request(
        "GET",
        &r.url(
            "logout",
            &format!(
                "/logout?client_id={}&logout_uri=https%3A%2F%2Fevil.example%2F",
                f.client_id
            ),
        ),
        &[],
        "",
    );
    check(
        evil.status == 400 && evil.header("location").is_none(),
        "a hostile target gets 400 and no redirect",
    )?;
    Ok(())
}

/// Where [`write_sample_events`] puts the filled events (ignored by git).
pub const FILLED_EVENTS: &str = ".run/events";

/// Writes every sample event of `events/`, its placeholders filled from the
/// running fixture (a fresh sign-in of its user), under [`FILLED_EVENTS`], so
/// the `cargo lambda invoke` commands [`commands`] prints work as pasted.
pub async fn write_sample_events(r: &Running) -> std::io::Result<usize> {
    let f = &r.f;
    let tokens = f.sign_in(&f.username).await;
    let sub = crate::sub_of(&tokens.access);
    let mut written = 0;
    for function in ["authorizer", "logout", "pre-token", "signout-api"] {
        let dir = crate::emulator::root().join(FILLED_EVENTS).join(function);
        std::fs::create_dir_all(&dir)?;
        for (name, text) in crate::sample_events(function) {
            std::fs::write(dir.join(name), f.fill(&text, Some(&tokens), &sub))?;
            written += 1;
        }
    }
    Ok(written)
}

/// The `cargo lambda invoke` lines of [`commands`], as printed.
pub fn invoke_commands(r: &Running) -> Vec<String> {
    commands(r)
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(".venv/bin/cargo-lambda lambda invoke"))
        .map(str::to_owned)
        .collect()
}

/// The ready-to-paste commands printed after the tour.
pub fn commands(r: &Running) -> String {
    let f = &r.f;
    let p = r.watch.port;
    format!(
        r#"
Everything keeps running. Try it yourself (Ctrl-C stops it all):

  # sign in (any AWS CLI or SDK works against the emulator)
  aws --endpoint-url {emu} --region us-east-1 cognito-idp initiate-auth \
      --client-id {client} --auth-flow USER_PASSWORD_AUTH \
      --auth-parameters USERNAME={user},PASSWORD='{pw}'
  TOKEN=<AccessToken from above>

  curl -i http://127.0.0.1:{p}/lambda-url/signout-api/session -H "Authorization: Bearer $TOKEN"
  curl -i -X POST http://127.0.0.1:{p}/lambda-url/signout-api/signout -H "Authorization: Bearer $TOKEN"
  curl -i "http://127.0.0.1:{p}/lambda-url/logout/logout?client_id={client}&logout_uri=https%3A%2F%2Fevil.example%2F"

  # what the relying party received (verified logout tokens; make redrive for the dead letters)
  curl -s {rp}/_received

  # the functions with the sample events, filled from this run in {events}/ (events/README.md)
  .venv/bin/cargo-lambda lambda invoke -A 127.0.0.1 -P {p} pre-token --data-file {events}/pre-token/v2-authentication.json
  .venv/bin/cargo-lambda lambda invoke -A 127.0.0.1 -P {p} authorizer --data-file {events}/authorizer/rest-token.json
  .venv/bin/cargo-lambda lambda invoke -A 127.0.0.1 -P {p} signout-api --data-file {events}/signout-api/v2-session.json
  .venv/bin/cargo-lambda lambda invoke -A 127.0.0.1 -P {p} logout --data-file {events}/logout/v2-logout-hostile-target.json
"#,
        events = FILLED_EVENTS,
        rp = r.rp.url,
        emu = r.emu.endpoint,
        client = f.client_id,
        user = f.username,
        pw = f.password,
    )
}
