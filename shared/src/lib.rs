//! `signout`: complete sign-out for Amazon Cognito.
//!
//! Every sign-out is recorded in DynamoDB ([`store`]), and every downstream
//! check ([`check`]) rejects what was signed out. The Lambda functions of this
//! workspace are thin adapters over this crate.
//!
//! | module | owns |
//! | --- | --- |
//! | [`config`] | settings, validated once at cold start; [`config::ConfigError`] collects every problem |
//! | [`model`] | the small types (`Sub`, `OriginJti`, `Cutoff`, ...) |
//! | [`tokens`] | JWT verification against the pool's JWKS |
//! | [`store`] | the revocation store on DynamoDB: conditional, monotonic writes; one read per decision |
//! | [`check`] | the verdict for a verified token, its cache, the fail-closed policy, and sign-outs written through it (the cache forgets what each write concerns) |
//! | [`cognito`] | Cognito sign-out calls and their typed errors |
//! | [`events`] | sign-out events from the table's stream: EventBridge, OIDC back-channel logout tokens, CAEP session-revoked (signed by KMS) |
//! | [`ops`] | sign-out operations as ordered, reported steps (store first, then Cognito) |
//! | [`oauth`] | RFC 7009 revocation and RFC 7662 introspection decisions, client authentication |
//! | [`authz`] | the authorizer's decision and requirements, for API Gateway and AppSync |
//! | [`trigger`] | the Pre Token Generation stamp and block |
//! | [`logout`] | browser sign-out: the two hops, cookies, the state cookie, the IdP hop |
//! | [`http`] | request parsing and JSON error answers shared by the HTTP functions |
//! | [`gateway`] | lambda_http behind API Gateway: the event sanitizer, stage-aware route matching |
//! | [`secrets`] | Secrets Manager ARNs resolved at cold start |
//! | [`aws`] | SDK configuration (timeouts) and error classification |
//! | [`app`] | composition: what each function builds at cold start |
//! | [`logging`] | log level, format and JSON lines as Lambda's logging controls expect |
//! | [`metrics`] | CloudWatch Embedded Metric Format: every metric name, flushed per invocation |

pub mod app;
pub mod authz;
pub mod aws;
pub mod check;
pub mod cognito;
pub mod config;
pub mod events;
pub mod gateway;
pub mod http;
pub mod logging;
pub mod logout;
pub mod metrics;
pub mod model;
pub mod oauth;
pub mod ops;
pub mod outbound;
pub mod secrets;
pub mod store;
pub mod tokens;
pub mod trigger;
pub mod xray;

pub use check::{Decision, Revoked, Verdict};
pub use config::Config;
pub use model::{ClientId, Cutoff, EpochMs, OriginJti, Sub, TokenUse};
