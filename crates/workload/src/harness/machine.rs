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

/// Address space OpenBLAS 0.3.21 takes for every thread that runs a product: its work buffer
/// (`BUFFER_SIZE`, 32 << 22 bytes = 128 MiB on x86-64, mapped per thread by
/// `blas_memory_alloc`) and the thread's 8 MiB stack. Measured with `VmPeak`: one 2000x2000
/// product costs 170 MB of address space beyond its matrices at 1 BLAS thread and 310 MB at 2.
/// Under an address-space limit (`ulimit -v`) too small for these buffers OpenBLAS 0.3.21 does
/// not fail: it retries `blas_memory_alloc` forever at 100% CPU (fixed in later releases). So
/// the check refuses such a limit up front.
pub const BLAS_BYTES_PER_THREAD: u64 = 136 << 20;

/// What this process may still use, by each limit that applies, in bytes (`None`: no such
/// limit or it cannot be read).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// The host's `MemAvailable`.
    pub available: Option<u64>,
    /// The tightest cgroup memory limit minus its current use, over this cgroup and its parents.
    pub cgroup: Option<u64>,
    /// `RLIMIT_AS` minus the address space this process already has (`VmSize`).
    pub address_space: Option<u64>,
    /// BLAS threads a product may run on (each needs [`BLAS_BYTES_PER_THREAD`] of address space).
    pub blas_threads: usize,
}

impl Limits {
    /// The limits of this process now.
    pub fn current() -> Limits {
        Limits {
            available: available_memory(),
            cgroup: cgroup_remaining(std::path::Path::new("/sys/fs/cgroup"), "/proc/self/cgroup"),
            address_space: address_space_remaining(),
            blas_threads: blasctl::num_threads().max(1),
        }
    }
}

/// Safety margin on top of what a workload is computed to need: allocator slack, the
/// program's own code and buffers. 10% plus 64 MiB.
pub fn headroom(needed: u128) -> u128 {
    needed / 10 + (64 << 20)
}

/// The tightest cgroup memory limit (v2 `memory.max` or v1 `memory.limit_in_bytes`) minus its
/// use (`memory.current` / `memory.usage_in_bytes`), over this process's cgroup and every parent
/// up to `root`. `cgroup_file` is `/proc/self/cgroup`; both are parameters for tests.
pub fn cgroup_remaining(root: &std::path::Path, cgroup_file: &str) -> Option<u64> {
    let text = std::fs::read_to_string(cgroup_file).ok()?;
    let mut tightest: Option<u64> = None;
    for line in text.lines() {
        // v2: "0::/path"; v1: "4:memory:/path" (possibly "memory,other").
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (base, max_file, used_file) = if controllers.is_empty() {
            (root.to_path_buf(), "memory.max", "memory.current")
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                root.join("memory"),
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            )
        } else {
            continue;
        };
        let mut dir = base.join(path.trim_start_matches('/'));
        loop {
            let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
            if let (Some(max), Some(used)) = (read(max_file), read(used_file)) {
                // "max" (v2) or a huge number (v1) means no limit at this level.
                if let (Ok(max), Ok(used)) = (max.trim().parse::<u64>(), used.trim().parse::<u64>())
                {
                    if max < (1 << 60) {
                        let left = max.saturating_sub(used);
                        tightest = Some(tightest.map_or(left, |t| t.min(left)));
                    }
                }
            }
            if dir == base || !dir.pop() || !dir.starts_with(&base) {
                break;
            }
        }
    }
    tightest
}

/// `RLIMIT_AS` minus this process's `VmSize`, when there is such a limit.
fn address_space_remaining() -> Option<u64> {
    // SAFETY: getrlimit only writes the struct we pass.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let vm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    #[allow(clippy::unnecessary_cast)] // rlim_t differs between platforms
    Some((limit.rlim_cur as u64).saturating_sub(vm_kib.saturating_mul(1024)))
}

/// Refuse a workload that needs more memory than this process may use, before allocating it:
/// the host's available memory, a cgroup limit, and an address-space limit (which must also
/// hold OpenBLAS's per-thread buffers, see [`BLAS_BYTES_PER_THREAD`]), each with [`headroom`].
///
/// `needed` is computed in `u128` by the caller, so absurd sizes cannot overflow on the way.
pub fn check_memory(needed: u128, what: &str) -> Result<(), String> {
    check_limits(needed, &Limits::current(), what)
}

/// [`check_memory`] against given limits (for tests).
pub fn check_limits(needed: u128, limits: &Limits, what: &str) -> Result<(), String> {
    if needed > u64::MAX as u128 {
        return Err(format!("{what} needs more memory than any machine has"));
    }
    let with_headroom = needed + headroom(needed);
    let blas = limits.blas_threads as u128 * BLAS_BYTES_PER_THREAD as u128;
    let checks = [
        (
            limits.available,
            with_headroom,
            "the machine has only {} available",
        ),
        (
            limits.cgroup,
            with_headroom,
            "its cgroup memory limit leaves only {}",
        ),
        (
            limits.address_space,
            with_headroom + blas,
            "the address-space limit (ulimit -v) leaves only {}",
        ),
    ];
    for (limit, need, why) in checks {
        if let Some(left) = limit.filter(|&left| need > left as u128) {
            let mut line = format!(
                "{what} needs {} of memory with headroom",
                human_bytes(need as f64)
            );
            if need != with_headroom {
                line += &format!(
                    " and OpenBLAS's buffers ({} thread{} x {})",
                    limits.blas_threads,
                    if limits.blas_threads == 1 { "" } else { "s" },
                    human_bytes(BLAS_BYTES_PER_THREAD as f64)
                );
            }
            line += &format!(
                " but {}; choose a smaller workload",
                why.replace("{}", &human_bytes(left as f64))
            );
            return Err(line);
        }
    }
    Ok(())
}

/// [`check_limits`] against available memory only (for tests).
pub fn check_memory_against(
    needed: u128,
    available: Option<u64>,
    what: &str,
) -> Result<(), String> {
    let limits = Limits {
        available,
        ..Limits::default()
    };
    check_limits(needed, &limits, what)
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
        assert!(check_memory_against(100, Some(100 << 20), "x").is_ok());
        let err =
            check_memory_against(2_000_000_000, Some(1_000_000_000), "100 pairs").unwrap_err();
        assert!(err.contains("2.3 GB") && err.contains("1.0 GB") && err.contains("100 pairs"));
        assert!(check_memory_against(u128::MAX, None, "x").is_err());
        assert!(check_memory_against(u64::MAX as u128 + 1, Some(u64::MAX), "x").is_err());
    }

    #[test]
    fn memory_check_honours_cgroup_and_address_space_limits_with_headroom() {
        let roomy = Limits {
            available: Some(100 << 30),
            ..Limits::default()
        };
        assert!(check_limits(1 << 30, &roomy, "x").is_ok());
        // Fits the host, not the cgroup: 1 GiB + headroom > 1 GiB left.
        let cgroup = Limits {
            cgroup: Some(1 << 30),
            ..roomy.clone()
        };
        let err = check_limits(1 << 30, &cgroup, "x").unwrap_err();
        assert!(err.contains("cgroup memory limit"), "{err}");
        // The address space must also hold 136 MiB per BLAS thread.
        let need: u64 = 200 << 20;
        let bare = need + headroom(need as u128) as u64;
        let as_limit = |left: u64, threads: usize| Limits {
            address_space: Some(left),
            blas_threads: threads,
            ..roomy.clone()
        };
        assert!(check_limits(
            need as u128,
            &as_limit(bare + 2 * BLAS_BYTES_PER_THREAD, 2),
            "x"
        )
        .is_ok());
        let err = check_limits(
            need as u128,
            &as_limit(bare + BLAS_BYTES_PER_THREAD, 2),
            "x",
        )
        .unwrap_err();
        assert!(
            err.contains("ulimit -v") && err.contains("OpenBLAS") && !err.contains('\n'),
            "{err}"
        );
    }

    #[test]
    fn cgroup_limits_are_read_for_v1_and_v2_and_the_tightest_ancestor_wins() {
        let root = std::env::temp_dir().join(format!("cgroup-test-{}", std::process::id()));
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        // v2: the parent allows 1000 with 400 used, the leaf "max".
        write("a/memory.max", "1000\n");
        write("a/memory.current", "400\n");
        write("a/b/memory.max", "max\n");
        write("a/b/memory.current", "300\n");
        write("self-v2", "0::/a/b\n");
        let file = |f: &str| root.join(f).to_string_lossy().into_owned();
        assert_eq!(cgroup_remaining(&root, &file("self-v2")), Some(600));
        // v1: the leaf's limit, an unlimited parent.
        write("memory/x/memory.limit_in_bytes", "5000\n");
        write("memory/x/memory.usage_in_bytes", "1000\n");
        write("memory/memory.limit_in_bytes", "9223372036854771712\n");
        write("memory/memory.usage_in_bytes", "99\n");
        write("self-v1", "4:memory:/x\n0::/\n");
        assert_eq!(cgroup_remaining(&root, &file("self-v1")), Some(4000));
        write("self-none", "0::/nowhere\n");
        assert_eq!(cgroup_remaining(&root, &file("self-none")), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn machine_line_names_cores_and_blas() {
        let m = Machine::current();
        assert!(m.logical_cores >= 1 && m.physical_cores >= 1);
        let line = m.to_string();
        assert!(line.contains("logical") && line.contains("physical") && line.contains("OpenBLAS"));
    }
}
