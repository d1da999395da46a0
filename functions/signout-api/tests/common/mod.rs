//! The sign-out API's handler, fed API Gateway events built with
//! `testkit::apigw` (HTTP API v2 and REST v1).

#![allow(dead_code)]

use lambda_http::Request;
use serde_json::Value;
use signout::app::App;
pub use testkit::apigw::{Answer, Call, Format};

pub fn request(event: &Value) -> Request {
    signout::gateway::request(event.clone()).expect("a valid API Gateway event")
}

pub async fn send_event(app: &App, event: &Value) -> Answer {
    Answer::from_response(signout_api::handle(app, request(event)).await)
}

/// `call.send(&app)`: the call's event through the handler.
#[allow(async_fn_in_trait)]
pub trait CallExt {
    async fn send(&self, app: &App) -> Answer;
}

impl CallExt for Call {
    async fn send(&self, app: &App) -> Answer {
        send_event(app, &self.event()).await
    }
}
