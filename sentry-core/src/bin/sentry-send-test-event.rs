//! `sentry-send-test-event [--config FILE]`: prints the Sentry configuration the application
//! would load (from `SENTRY_*` variables, and the dotenv-style FILE if given) and sends a test
//! event. Exits 0 when the event was sent or the environment is not included, 1 otherwise.

use std::path::PathBuf;
use std::process::ExitCode;
use watchpost::{send_test_event, ClientOptions};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut config: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => match args.next() {
                Some(path) => config = Some(path.into()),
                None => return usage("--config needs a file"),
            },
            "--help" | "-h" => {
                print_help();
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument `{other}`")),
        }
    }
    let options = match &config {
        Some(path) => ClientOptions::from_env_file(path),
        None => ClientOptions::from_env(),
    };
    let options = match options {
        Ok(o) => o,
        Err(e) => {
            println!("The configuration is invalid: {e}.");
            return ExitCode::FAILURE;
        }
    };
    if send_test_event(options, &mut std::io::stdout()).is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("sentry-send-test-event: {problem}");
    print_help();
    ExitCode::from(2)
}

fn print_help() {
    eprintln!("usage: sentry-send-test-event [--config FILE]");
    eprintln!("Reads SENTRY_* variables (and FILE, KEY=value lines) as the application does:");
    for (var, option) in ClientOptions::env_variables() {
        eprintln!("  {var:<30} {option}");
    }
}
