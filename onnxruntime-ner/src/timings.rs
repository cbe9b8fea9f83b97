//! Seconds per phase (startup, load, tokenize, transfer, inference, decode, output), written with
//! --timings in the same JSON shape as scripts/nerlib/timings.py.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Map, Value};

// "transfer" stays 0: ONNX Runtime copies inputs to the GPU inside run(); see the README.
const PHASES: [&str; 7] = ["startup", "load", "tokenize", "transfer", "inference", "decode", "output"];

pub struct PhaseTimer {
    seconds: BTreeMap<&'static str, f64>,
    notes: Map<String, Value>,
}

/// Seconds since the kernel started this process (Linux), as the Python side measures it.
fn seconds_since_process_start() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let uptime = std::fs::read_to_string("/proc/uptime").unwrap_or_default();
    let started_ticks = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(19)?.parse::<f64>().ok());
    let uptime = uptime.split_whitespace().next().and_then(|s| s.parse::<f64>().ok());
    match (started_ticks, uptime) {
        // USER_HZ is 100 on every Linux target Rust supports here.
        (Some(ticks), Some(up)) => (up - ticks / 100.0).max(0.0),
        _ => 0.0,
    }
}

/// Physical cores from /proc/cpuinfo (distinct physical id / core id pairs), else logical CPUs.
pub fn physical_cores() -> usize {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let mut cores = std::collections::HashSet::new();
    for block in info.split("\n\n") {
        let field = |name: &str| {
            block.lines().find(|l| l.split(':').next().map(str::trim) == Some(name)).and_then(|l| l.split(':').nth(1)).map(str::trim)
        };
        if let Some(core) = field("core id") {
            cores.insert((field("physical id").unwrap_or("").to_string(), core.to_string()));
        }
    }
    if cores.is_empty() {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        cores.len()
    }
}

impl PhaseTimer {
    pub fn new() -> Self {
        let mut seconds: BTreeMap<&'static str, f64> = PHASES.iter().map(|&p| (p, 0.0)).collect();
        seconds.insert("startup", seconds_since_process_start());
        PhaseTimer { seconds, notes: Map::new() }
    }

    pub fn phase<T>(&mut self, name: &'static str, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let result = work();
        *self.seconds.entry(name).or_default() += started.elapsed().as_secs_f64();
        result
    }

    pub fn note(&mut self, key: &str, value: impl Into<Value>) {
        self.notes.insert(key.to_string(), value.into());
    }

    pub fn write(&self, path: &Path) -> Result<(), String> {
        let phases: Map<String, Value> = PHASES.iter().map(|&p| (p.to_string(), json!(self.seconds[p]))).collect();
        let mut record = Map::new();
        record.insert("phases".into(), Value::Object(phases));
        record.extend(self.notes.clone());
        let text = serde_json::to_string_pretty(&Value::Object(record)).map_err(|e| e.to_string())? + "\n";
        write_atomically(path, text.as_bytes())
    }
}

/// Written beside the target and renamed, so a killed run never leaves a partial file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    std::fs::write(&partial, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::rename(&partial, path).map_err(|e| format!("{}: {e}", path.display()))
}
