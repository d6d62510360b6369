//! Contexts and tokio tasks: a task spawned without a context of its own never leaves its user,
//! tags or breadcrumbs on the runtime's worker thread for the next task; a bound task keeps its
//! own.

use serde_json::Value;
use std::time::Duration;
use watchpost::testing::MockServer;
use watchpost::{ClientOptions, Context, ContextFutureExt, Level, User};

fn user_of(event: &Value) -> Option<String> {
    event["user"]["id"].as_str().map(str::to_owned)
}

fn job_of(event: &Value) -> String {
    event["logentry"]["formatted"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("job ")
        .to_owned()
}

#[test]
fn unbound_tasks_never_carry_another_jobs_user_and_bound_tasks_keep_their_own() {
    let server = MockServer::start();
    let _guard = watchpost::init(ClientOptions::new().dsn(server.dsn()).use_env(false)).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut handles = Vec::new();
        for i in 0..150 {
            // The plain `tokio::spawn` of the reproduction: sets the user, yields, captures.
            handles.push(tokio::spawn(async move {
                watchpost::set_user_context(User::with_id(format!("{i}")));
                watchpost::set_tags_context([("job", i.to_string())]);
                tokio::task::yield_now().await;
                watchpost::capture_message(format!("job {i}"), Level::Info);
            }));
            // The same, bound to a context of its own.
            let bound = async move {
                watchpost::set_user_context(User::with_id(format!("b{i}")));
                tokio::task::yield_now().await;
                watchpost::capture_message(format!("job b{i}"), Level::Info);
            };
            handles.push(tokio::spawn(bound.bind_context(Context::new())));
        }
        for h in handles {
            h.await.unwrap();
        }
    });
    let events = server.wait_for_events(300, Duration::from_secs(20));
    assert_eq!(events.len(), 300);
    for event in &events {
        let job = job_of(event);
        match user_of(event) {
            // A bound task carries its own user, always.
            Some(user) => assert_eq!(user, job, "{event}"),
            None => assert!(!job.starts_with('b'), "a bound task lost its user: {event}"),
        }
        if let Some(tag) = event["tags"]["job"].as_str() {
            assert_eq!(tag, job, "another job's tag: {event}");
        }
    }
    let bound_with_user = events
        .iter()
        .filter(|e| user_of(e).is_some_and(|u| u.starts_with('b')))
        .count();
    assert_eq!(bound_with_user, 150);
}
