//! What the process tells about itself, computed once at `init` and put on every event: the
//! server name, the OS, runtime and device contexts, the SDK's name and integrations, and the
//! dependency versions recorded at build time.

use crate::event::SdkInfo;
use crate::options::ClientOptions;
use std::collections::BTreeMap;

/// Values computed once at `init` and put on every event.
#[derive(Debug)]
pub(super) struct Defaults {
    pub(super) server_name: Option<String>,
    pub(super) contexts: crate::event::Contexts,
    pub(super) sdk: SdkInfo,
    pub(super) modules: BTreeMap<String, String>,
}

impl Defaults {
    pub(super) fn collect(o: &ClientOptions) -> Defaults {
        let server_name = o
            .server_name
            .clone()
            .or_else(|| hostname::get().ok().and_then(|h| h.into_string().ok()));
        let mut contexts = crate::event::Contexts::default();
        contexts.insert("os", "os", os_context());
        let mut runtime = serde_json::Map::new();
        runtime.insert("name".into(), "rustc".into());
        let rustc = env!("SENTRY_CORE_RUSTC_VERSION");
        // `rustc 1.95.0 (59807616e 2026-04-14)` → version `1.95.0`, the rest kept as raw_description.
        if let Some(v) = rustc.split_whitespace().nth(1) {
            runtime.insert("version".into(), v.into());
        }
        if !rustc.is_empty() {
            runtime.insert("raw_description".into(), rustc.into());
        }
        contexts.insert("runtime", "runtime", runtime);
        let mut device = serde_json::Map::new();
        device.insert("arch".into(), std::env::consts::ARCH.into());
        contexts.insert("device", "device", device);
        let modules = match (&o.source_table, o.report_deps) {
            (Some(t), true) => t.modules().into_iter().collect(),
            _ => BTreeMap::new(),
        };
        let sdk = SdkInfo {
            integrations: enabled_integrations(),
            ..SdkInfo::default()
        };
        Defaults {
            server_name,
            contexts,
            sdk,
            modules,
        }
    }
}

fn enabled_integrations() -> Vec<String> {
    let compiled = [
        ("panic", cfg!(feature = "panic")),
        ("tower", cfg!(feature = "tower")),
        ("log", cfg!(feature = "log")),
        ("tracing", cfg!(feature = "tracing")),
        ("anyhow", cfg!(feature = "anyhow")),
    ];
    compiled
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| (*name).to_owned())
        .collect()
}

fn os_context() -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    let os = std::env::consts::OS;
    let name = match os {
        "linux" => "Linux",
        "macos" => "macOS",
        "windows" => "Windows",
        other => other,
    };
    m.insert("name".into(), name.into());
    if let Ok(release) = std::fs::read_to_string("/etc/os-release") {
        let field = |key: &str| {
            release.lines().find_map(|l| {
                l.strip_prefix(key)?
                    .strip_prefix('=')
                    .map(|v| v.trim_matches('"').to_owned())
            })
        };
        if let Some(v) = field("VERSION_ID") {
            m.insert("version".into(), v.into());
        }
        if let Some(v) = field("PRETTY_NAME") {
            m.insert("raw_description".into(), v.into());
        }
    }
    if let Ok(k) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        m.insert("kernel_version".into(), k.trim().into());
    }
    m
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;

    #[test]
    fn every_event_gets_the_os_runtime_and_device_contexts() {
        let d = Defaults::collect(&ClientOptions::new().server_name("web-1"));
        assert_eq!(d.server_name.as_deref(), Some("web-1"));
        for key in ["os", "runtime", "device"] {
            assert!(d.contexts.0.contains_key(key), "{key}: {:?}", d.contexts);
        }
        assert_eq!(d.contexts.0["runtime"]["name"], "rustc");
        assert_eq!(d.contexts.0["device"]["arch"], std::env::consts::ARCH);
    }

    #[test]
    fn the_sdk_lists_the_integrations_compiled_in() {
        let integrations = enabled_integrations();
        assert_eq!(
            integrations.contains(&"panic".to_owned()),
            cfg!(feature = "panic")
        );
        assert_eq!(
            integrations.contains(&"tower".to_owned()),
            cfg!(feature = "tower")
        );
    }

    #[test]
    fn without_a_source_table_no_modules_are_reported() {
        assert!(Defaults::collect(&ClientOptions::new()).modules.is_empty());
    }
}
