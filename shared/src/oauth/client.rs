//! Who calls `/revoke` and `/introspect`: Basic credentials, checked against
//! the secret we hold (in constant time), or the `client_id` parameter.
//! Callers never send `client_secret` in the form: this proxy holds the
//! secrets of confidential clients and adds them at Cognito.

use super::Form;
use crate::app::App;
use crate::http::ApiError;
use crate::model::ClientId;

/// Basic credentials as the request carried them: (client id, secret).
pub type Basic = (String, String);

/// Refuses a form that carries `client_secret`, whoever calls.
pub fn refuse_client_secret(form: &Form) -> Result<(), ApiError> {
    if form.contains_key("client_secret") {
        return Err(ApiError::bad_request(
            "do not send client_secret: this proxy holds the secrets of confidential clients",
        ));
    }
    Ok(())
}

/// The client of the request, if it names one: a known client whose Basic
/// secret, when sent, matches ours, and whose `client_id` parameter, when
/// both are sent, is the same.
pub fn authenticate(
    app: &App,
    basic: Option<&Basic>,
    form: &Form,
) -> Result<Option<ClientId>, ApiError> {
    refuse_client_secret(form)?;
    let named = match (basic, form.get("client_id")) {
        (Some((id, _)), Some(form_id)) if id != form_id => {
            return Err(ApiError::invalid_client(
                "client_id differs from the authenticated client",
            ));
        }
        (Some((id, _)), _) => Some(id.clone()),
        (None, id) => id.cloned(),
    };
    let Some(id) = named else { return Ok(None) };
    if !app.verifier.knows_client(&id) {
        return Err(ApiError::invalid_client("unknown client"));
    }
    let client = ClientId(id);
    if let Some((_, secret)) = basic
        && !app.cognito.secret_matches(&client, secret)
    {
        return Err(ApiError::invalid_client("client authentication failed"));
    }
    Ok(Some(client))
}
