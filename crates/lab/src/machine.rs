//! The machine report: what the results were measured on, and the slug that names them.

use serde::{Deserialize, Serialize};
use std::process::Command;
use workload::machine::Machine;

/// Everything the results depend on that is not the code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineReport {
    /// The slug the results directory is named after (`reference-2c`, `amd-epyc-2c`, ...).
    pub slug: String,
    /// CPU, cores, memory and BLAS, as every example prints them.
    pub machine: Machine,
    /// Operating system (`PRETTY_NAME` of os-release, or `uname -s`).
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// UTC date of the run, `YYYY-MM-DD HH:MM UTC`.
    pub date: String,
}

impl MachineReport {
    /// Read the machine this process runs on.
    pub fn current(slug: Option<&str>) -> Self {
        let machine = Machine::current();
        let slug = match slug {
            Some(s) => s.to_string(),
            None => slug_for(&machine.cpu, machine.logical_cores),
        };
        MachineReport {
            slug,
            machine,
            os: os_name(),
            kernel: command_line("uname", &["-r"]).unwrap_or_else(|| "unknown".into()),
            rustc: rustc_version(),
            date: utc_now(),
        }
    }

    /// Rows of the machine table: (what, value).
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let m = &self.machine;
        vec![
            ("machine", self.slug.clone()),
            ("CPU", m.cpu.clone()),
            ("logical cores", m.logical_cores.to_string()),
            ("physical cores", m.physical_cores.to_string()),
            (
                "memory",
                m.memory_bytes
                    .map(|b| workload::machine::human_bytes(b as f64))
                    .unwrap_or_else(|| "unknown".into()),
            ),
            ("OS", self.os.clone()),
            ("kernel", self.kernel.clone()),
            ("rustc", self.rustc.clone()),
            ("BLAS", m.blas_config.clone()),
            ("BLAS threading layer", m.blas_threading.clone()),
            ("BLAS kernels", m.blas_core.clone()),
            ("BLAS threads by default", m.blas_threads.to_string()),
            ("date", self.date.clone()),
        ]
    }
}

/// `amd-epyc-2c` from `AMD EPYC` and 2 logical cores: lowercase words of the model name
/// without trademarks, frequencies and filler words, at most three, then the core count.
pub fn slug_for(cpu: &str, logical: usize) -> String {
    let filler = ["cpu", "processor", "with", "radeon", "graphics"];
    let words: Vec<String> = cpu
        .replace("(R)", " ")
        .replace("(TM)", " ")
        .replace("(tm)", " ")
        .split(|c: char| c.is_whitespace() || c == '@')
        .map(|w| {
            w.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| {
            !w.is_empty()
                && !filler.contains(&w.as_str())
                && !w.ends_with("ghz")
                && !w.ends_with("core")
        })
        .take(3)
        .collect();
    let name = if words.is_empty() {
        "machine".to_string()
    } else {
        words.join("-")
    };
    format!("{name}-{logical}c")
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// `rustc --version` of the toolchain that cargo uses (`RUSTC`, else `rustc`).
pub fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    command_line(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into())
}

fn os_name() -> String {
    if let Ok(text) = std::fs::read_to_string("/etc/os-release") {
        if let Some(line) = text.lines().find(|l| l.starts_with("PRETTY_NAME=")) {
            return line["PRETTY_NAME=".len()..].trim_matches('"').to_string();
        }
    }
    command_line("uname", &["-s"]).unwrap_or_else(|| std::env::consts::OS.to_string())
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_utc(secs)
}

/// Format seconds since the Unix epoch as `YYYY-MM-DD HH:MM UTC` (proleptic Gregorian).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_and_clean() {
        assert_eq!(slug_for("AMD EPYC", 2), "amd-epyc-2c");
        assert_eq!(
            slug_for("Intel(R) Xeon(R) CPU @ 2.20GHz", 4),
            "intel-xeon-4c"
        );
        assert_eq!(
            slug_for("AMD EPYC 7B13 64-Core Processor", 8),
            "amd-epyc-7b13-8c"
        );
        assert_eq!(slug_for("Apple M2", 8), "apple-m2-8c");
        assert_eq!(slug_for("", 1), "machine-1c");
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400 + 3_660), "2000-02-29 01:01 UTC");
        assert_eq!(format_utc(1_735_689_600), "2025-01-01 00:00 UTC");
    }
}
