//! The integration and end-to-end tests, one module per subject, compiled into one binary (a
//! link per test file would cost minutes on a 2-core machine). Run them with
//! `cargo nextest run -p tests`; nextest gives every test a process of its own, which the tests
//! that install global state (`init`, loggers, tracing subscribers) rely on.

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

mod source_fixture;

mod attachments;
mod context_tasks;
mod crons;
mod e2e_axum;
mod e2e_bugsink;
mod e2e_panic;
mod hostile_bodies;
mod hostile_data;
mod hostile_reentrancy;
mod hostile_shutdown;
mod hostile_transport;
mod integration_anyhow;
mod integration_docs;
mod integration_log;
mod integration_tower;
mod integration_tracing;
mod logs;
mod offline_cache;
mod options_effects;
mod peers_selftest;
mod readme_install;
mod sessions;
mod source_attribution;
mod source_rebuild;
mod testing_kit;
mod trace_peers;
mod tracing_transactions;
mod transport_faults;
mod transport_storm;
