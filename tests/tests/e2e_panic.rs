//! End to end: a panic on a worker thread, with compile-time source context, reaches Bugsink
//! (strict validation) as an unhandled event whose top frame shows the panicking line and the
//! lines around it, and the event passes Relay's normalizer.

use std::time::Duration;
use tests::peers::{assert_relay_clean, top_frame, Bugsink};
use watchpost::SourceTable;

static SOURCES: SourceTable = watchpost::embed_sources!();

#[inline(never)]
fn divide_stock(items: u32, boxes: u32) -> u32 {
    if boxes == 0 {
        panic!("cannot divide {items} items into zero boxes");
    }
    items / boxes
}

#[test]
fn a_panic_with_source_context_reaches_bugsink() {
    let bugsink = Bugsink::start();
    let guard =
        watchpost::init(bugsink.client_options().source_table(SOURCES)).expect("valid options");

    let worker = std::thread::Builder::new()
        .name("stock-worker".into())
        .spawn(|| divide_stock(12, 0))
        .unwrap();
    assert!(worker.join().is_err());
    assert!(
        guard.flush(Duration::from_secs(20)),
        "the panic event was delivered"
    );
    drop(guard);

    let events = bugsink.wait_for_events(1, Duration::from_secs(30));
    let event = &events[0];
    assert_eq!(event["calculated_type"], "panic");
    assert_eq!(
        event["calculated_value"],
        "cannot divide 12 items into zero boxes"
    );
    let data = &event["data"];
    assert_eq!(data["level"], "fatal");
    assert_eq!(data["tags"]["thread.name"], "stock-worker");
    let exc = &data["exception"]["values"][0];
    assert_eq!(exc["mechanism"]["type"], "panic");
    assert_eq!(exc["mechanism"]["handled"], false);
    let top = top_frame(exc);
    assert!(
        top["filename"]
            .as_str()
            .unwrap()
            .ends_with("tests/tests/e2e_panic.rs"),
        "{top}"
    );
    assert_eq!(top["in_app"], true);
    assert_eq!(
        top["context_line"],
        "        panic!(\"cannot divide {items} items into zero boxes\");"
    );
    assert_eq!(
        top["pre_context"],
        serde_json::json!([
            "#[inline(never)]",
            "fn divide_stock(items: u32, boxes: u32) -> u32 {",
            "    if boxes == 0 {"
        ])
    );
    assert_eq!(
        top["post_context"],
        serde_json::json!(["    }", "    items / boxes", "}"])
    );
    assert_relay_clean(data);
}
