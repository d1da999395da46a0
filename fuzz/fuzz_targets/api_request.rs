//! API Gateway events (REST v1, HTTP API v2) through lambda_http's model,
//! then our routing and body parsers, as the sign-out API sees them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signout::http as h;

fuzz_target!(|data: &[u8]| {
    // The same path the functions take: sanitize, then lambda_http's model.
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Ok(req) = signout::gateway::request(event) else { return };
    let _ = signout_api::route(req.uri().path(), Some("prod"));
    let _ = signout_api::iam_caller(&req);
    let body: &[u8] = req.body().as_ref();
    let _ = h::bearer_token(req.headers());
    let _ = h::basic_credentials(req.headers());
    if let Ok(fields) = h::json_object(req.headers(), body) {
        let _ = h::only_fields(&fields, &["scope", "refresh_token"]);
    }
    let _ = h::form(req.headers(), body);
});
