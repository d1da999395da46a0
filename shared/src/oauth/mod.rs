//! The OAuth endpoints' decisions, apart from HTTP: RFC 7009 token
//! revocation ([`revoke()`]), RFC 7662 introspection ([`introspect()`]), and
//! who the calling client is ([`client`]). The sign-out API parses the
//! request and turns what these return into a response; every refusal is an
//! [`ApiError`](crate::http::ApiError) with its OAuth error code.

pub mod client;
mod introspect;
mod revoke;

use std::collections::BTreeMap;

pub use introspect::introspect;
pub use revoke::{REFRESH_NOTE, revoke};

/// A decoded `application/x-www-form-urlencoded` body, each name once.
pub type Form = BTreeMap<String, String>;

/// The `token` parameter, required and non-empty.
fn token_param(form: &Form) -> Result<&str, crate::http::ApiError> {
    form.get("token")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| crate::http::ApiError::bad_request("the token parameter is required"))
}
