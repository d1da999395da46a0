//! `signout`: complete sign-out for Amazon Cognito.
//!
//! Every sign-out is recorded in DynamoDB ([`store`]), and every downstream
//! check ([`check`]) rejects what was signed out. The Lambda functions of this
//! workspace are thin adapters over this crate.
//!
//! | module | owns |
//! | --- | --- |
//! | [`config`] | settings, validated once at cold start |
//! | [`model`] | the small types (`Sub`, `OriginJti`, `Cutoff`, ...) |
//! | [`tokens`] | JWT verification against the pool's JWKS |
//! | [`store`] | the revocation store on DynamoDB |
//! | [`check`] | the verdict for a verified token, cache and fail-closed policy |
//! | [`cognito`] | Cognito sign-out calls and their error codes |
//! | [`aws`] | SDK configuration (timeouts) and error classification |
//! | [`app`] | the clients built once per cold start, and the log filter |
//! | [`logging`] | log level, format and JSON lines as Lambda's logging controls expect |

pub mod app;
pub mod authz;
pub mod aws;
pub mod check;
pub mod cognito;
pub mod config;
pub mod gateway;
pub mod http;
pub mod logging;
pub mod logout;
pub mod model;
pub mod ops;
pub mod secrets;
pub mod store;
pub mod tokens;
pub mod trigger;

pub use check::{Decision, Revoked, Verdict};
pub use config::Config;
pub use model::{ClientId, Cutoff, EpochMs, OriginJti, Sub, TokenUse};
