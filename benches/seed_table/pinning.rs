//! Pinning the bench process to CPU 0 (its servers are started under `taskset -c 0` too).

use std::fs;
use std::process::Command;

use crate::settings::{Mode, Settings};
use crate::support::find_on_path;

/// Pins this process (its only thread, so every thread started later too) to CPU 0 with
/// `taskset -p`. Returns what was done, for the report.
pub fn pin_self(settings: &Settings) -> (bool, String) {
    if settings.mode == Mode::Smoke {
        return (false, "not pinned (smoke run under `cargo test`)".into());
    }
    if !settings.pin {
        return (false, "not pinned (--no-pin)".into());
    }
    if find_on_path("taskset").is_none() {
        note!("taskset is not on PATH: running unpinned (install util-linux to pin)");
        return (false, "not pinned: taskset missing".into());
    }
    let pid = std::process::id().to_string();
    let out = Command::new("taskset")
        .args(["-p", "-c", "0", &pid])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let allowed = fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                        .map(|v| v.trim().to_owned())
                })
                .unwrap_or_else(|| "?".into());
            (
                true,
                format!(
                    "bench process and valkey-server pinned to CPU 0 (taskset; Cpus_allowed_list of the bench: {allowed})"
                ),
            )
        }
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr).trim().to_owned();
            note!("taskset -p failed ({why}): running unpinned");
            (false, format!("not pinned: taskset -p failed ({why})"))
        }
        Err(e) => {
            note!("cannot run taskset ({e}): running unpinned");
            (false, format!("not pinned: cannot run taskset ({e})"))
        }
    }
}
