//! What the figures were measured on: CPUs, memory, kernel, compiler, load.

/// What the figures were measured on.
#[derive(Debug)]
pub(crate) struct Machine {
    cpus: usize,
    model: String,
    memory: String,
    kernel: String,
    rustc: String,
    load_at_start: String,
}

/// The 1, 5 and 15 minute load averages.
pub(crate) fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Machine {
    pub(crate) fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or_else(
                || "? GiB".into(),
                |kb| format!("{:.1} GiB", kb as f64 / 1048576.0),
            );
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let rustc = std::process::Command::new(rustc)
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            model,
            memory,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            rustc,
            load_at_start: loadavg(),
        }
    }
}

impl std::fmt::Display for Machine {
    /// Two lines: the hardware and compiler, and the load averages at the start and now.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "machine: {} CPU(s) ({}), {} RAM, Linux {}, {}",
            self.cpus, self.model, self.memory, self.kernel, self.rustc
        )?;
        write!(
            f,
            "load average (1/5/15 min): {} at the start, {} at the end",
            self.load_at_start,
            loadavg()
        )
    }
}
