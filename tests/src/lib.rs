//! Test support for the workspace: harnesses that judge the SDK's output with real Sentry
//! software. Run everything with `./scripts/test.sh`.

pub mod peers;
pub mod recording;
