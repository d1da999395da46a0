//! Test harness: the local AWS emulator, per-test fixtures, token minting,
//! a fault proxy, `cargo lambda watch`, API Gateway events (`apigw`), and the
//! fault matrix's parts. One module per concern; this file only re-exports.

pub mod apigw;
mod app;
pub mod authorizer_events;
pub mod browser;
pub mod emf;
mod emulator;
pub mod events;
mod fault_proxy;
pub mod faults;
mod fixture;
mod http;
mod lambda_watch;
mod mint;
pub mod runtime_api;
mod table;
pub mod walkthrough;
pub mod xray;

pub use app::{Faulty, claims_as, verdict};
pub use emulator::{
    Emulator, REGION, emulator, free_port, python, replication_status, root, sdk_config_for,
    start_emulator, start_emulator_replicating, start_emulator_with_lambda, wait_replicated,
};
pub use fault_proxy::{Fault, FaultProxy};
pub use fixture::{Fixture, PASSWORD, Tokens, sample_events, secret_hash, unique};
pub use http::{HttpReply, http_get, http_post, request};
pub use lambda_watch::LambdaWatch;
pub use mint::{mint, mint_with_header, signout_claims, sub_of};
pub use table::{create_table, expire_items};
