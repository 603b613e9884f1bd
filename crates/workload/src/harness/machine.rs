//! The machine line every example prints before it times anything, and the memory check that
//! runs before anything large is allocated.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What the numbers were measured on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name as the OS reports it.
    pub cpu: String,
    /// Logical CPUs (what `os.cpu_count()` says, and Python's default pool size).
    pub logical_cores: usize,
    /// Physical cores (what the tutorial tunes its pool to).
    pub physical_cores: usize,
    /// Total memory in bytes, when known.
    pub memory_bytes: Option<u64>,
    /// OpenBLAS's configuration string.
    pub blas_config: String,
    /// OpenBLAS's threading layer (pthreads, openmp, sequential).
    pub blas_threading: String,
    /// The kernel set OpenBLAS picked for this CPU.
    pub blas_core: String,
    /// BLAS threads per call in this process when the machine was read.
    pub blas_threads: usize,
}

impl Machine {
    /// Read the machine this process runs on.
    pub fn current() -> Self {
        let blas = blasctl::info();
        Machine {
            cpu: cpu_model(),
            logical_cores: num_cpus::get(),
            physical_cores: num_cpus::get_physical(),
            memory_bytes: meminfo("MemTotal:"),
            blas_config: blas.config,
            blas_threading: blas.threading.to_string(),
            blas_core: blas.core,
            blas_threads: blas.threads,
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {} logical / {} physical cores",
            self.cpu, self.logical_cores, self.physical_cores
        )?;
        if let Some(bytes) = self.memory_bytes {
            write!(f, ", {}", human_bytes(bytes as f64))?;
        }
        write!(
            f,
            " | {} ({}, {} kernels), {} BLAS thread{}",
            self.blas_config,
            self.blas_threading,
            self.blas_core,
            self.blas_threads,
            if self.blas_threads == 1 { "" } else { "s" }
        )
    }
}

/// The CPU model name, or `unknown CPU`.
pub fn cpu_model() -> String {
    if let Ok(text) = std::fs::read_to_string("/proc/cpuinfo") {
        for line in text.lines() {
            if let Some((key, value)) = line.split_once(':') {
                if key.trim() == "model name" && !value.trim().is_empty() {
                    return value.trim().to_string();
                }
            }
        }
    }
    if let Ok(out) = std::process::Command::new("sysctl")
        .args(["-n", "machdep.cpu.brand_string"])
        .output()
    {
        let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !name.is_empty() {
            return name;
        }
    }
    "unknown CPU".to_string()
}

/// A field of `/proc/meminfo` in bytes (Linux only).
fn meminfo(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Memory the kernel says can be allocated without swapping, in bytes, when known.
pub fn available_memory() -> Option<u64> {
    meminfo("MemAvailable:")
}

/// `1.5 GB`, `32.0 MB`, `812 B`: decimal units, as bandwidths are quoted.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", UNITS[0])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Refuse a workload that needs more memory than is available, before allocating it.
///
/// `needed` is computed in `u128` by the caller, so absurd sizes cannot overflow on the way.
pub fn check_memory(needed: u128, what: &str) -> Result<(), String> {
    check_memory_against(needed, available_memory(), what)
}

/// [`check_memory`] against a given amount (for tests).
pub fn check_memory_against(
    needed: u128,
    available: Option<u64>,
    what: &str,
) -> Result<(), String> {
    match available {
        Some(avail) if needed > avail as u128 => Err(format!(
            "{what} needs {} of memory but only {} is available; choose a smaller workload",
            human_bytes(needed as f64),
            human_bytes(avail as f64)
        )),
        None if needed > u64::MAX as u128 => {
            Err(format!("{what} needs more memory than any machine has"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_uses_decimal_units() {
        assert_eq!(human_bytes(812.0), "812 B");
        assert_eq!(human_bytes(32e6), "32.0 MB");
        assert_eq!(human_bytes(9.6e9), "9.6 GB");
    }

    #[test]
    fn memory_check_refuses_what_does_not_fit() {
        assert!(check_memory_against(100, Some(1000), "x").is_ok());
        let err =
            check_memory_against(2_000_000_000, Some(1_000_000_000), "100 pairs").unwrap_err();
        assert!(err.contains("2.0 GB") && err.contains("1.0 GB") && err.contains("100 pairs"));
        assert!(check_memory_against(u128::MAX, None, "x").is_err());
    }

    #[test]
    fn machine_line_names_cores_and_blas() {
        let m = Machine::current();
        assert!(m.logical_cores >= 1 && m.physical_cores >= 1);
        let line = m.to_string();
        assert!(line.contains("logical") && line.contains("physical") && line.contains("OpenBLAS"));
    }
}
