//! Seconds per phase (startup, load, tokenize, transfer, inference, decode, output), written with
//! --timings in the same JSON shape as scripts/nerlib/timings.py.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Map, Value};

// "transfer" stays 0: ONNX Runtime copies inputs to the GPU inside run(); see docs/methodology.md.
const PHASES: [&str; 7] = ["startup", "load", "tokenize", "transfer", "inference", "decode", "output"];

pub struct PhaseTimer {
    seconds: BTreeMap<&'static str, f64>,
    notes: Map<String, Value>,
}

/// Seconds since the kernel started this process (Linux), measured as the Python methods measure
/// it (scripts/nerlib/timings.py): the start is recorded in clock ticks (10 ms), "now" is the same
/// boot-time clock in nanoseconds, so a start-up of a few milliseconds reads 0 to 10 ms.
fn seconds_since_process_start() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let started_ticks =
        stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(19)?.parse::<f64>().ok());
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given and nothing else.
    let clock = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut now) };
    // SAFETY: sysconf only reads a system setting.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    match started_ticks {
        Some(ticks) if clock == 0 && ticks_per_second > 0.0 => {
            (now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9 - ticks / ticks_per_second).max(0.0)
        }
        _ => 0.0,
    }
}

/// Physical cores this process may run on (scripts/nerlib/cli.py): distinct physical id / core id
/// pairs of the CPUs in its affinity mask (a SLURM job is bound to the CPUs it was allocated).
pub fn physical_cores() -> usize {
    let allowed = allowed_cpus();
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let mut cores = std::collections::HashSet::new();
    for block in info.split("\n\n") {
        let field = |name: &str| {
            block
                .lines()
                .find(|l| l.split(':').next().map(str::trim) == Some(name))
                .and_then(|l| l.split(':').nth(1))
                .map(str::trim)
        };
        let processor = field("processor").and_then(|p| p.parse::<usize>().ok());
        if let (Some(core), Some(processor)) = (field("core id"), processor) {
            if allowed.contains(&processor) {
                cores.insert((field("physical id").unwrap_or("").to_string(), core.to_string()));
            }
        }
    }
    if cores.is_empty() {
        allowed.len().max(1)
    } else {
        cores.len()
    }
}

/// The CPUs of this process's affinity mask.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set, and sched_getaffinity fills the one given.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect();
        }
        (0..libc::CPU_SETSIZE as usize).filter(|&cpu| libc::CPU_ISSET(cpu, &set)).collect()
    }
}

impl Default for PhaseTimer {
    fn default() -> Self {
        Self::new()
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
        crate::output::write_atomically(path, text.as_bytes())
    }
}
