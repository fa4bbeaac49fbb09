//! Pure parsers for the host files the fingerprinter reads (`/proc/cpuinfo`,
//! `/proc/meminfo`, `/etc/os-release`, `/proc/self/mounts`), kept apart from the I/O so they
//! can be tested on fixed inputs.

use std::path::Path;

/// CPU facts read from `/proc/cpuinfo`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuInfo {
    /// Logical cores (`processor` entries).
    pub cores: u32,
    /// MHz of the first core that reports one, when any does.
    pub mhz: Option<f64>,
}

/// Parses `/proc/cpuinfo`: counts `processor` entries and takes the first `cpu MHz`.
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut cores = 0;
    let mut mhz = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "processor" => cores += 1,
            "cpu MHz" if mhz.is_none() => mhz = value.trim().parse::<f64>().ok(),
            _ => {}
        }
    }
    CpuInfo { cores, mhz }
}

/// Parses a cpufreq `cpuinfo_max_freq` file (kHz) into MHz.
pub fn parse_cpufreq_khz(text: &str) -> Option<u64> {
    text.trim()
        .parse::<u64>()
        .ok()
        .map(|khz| khz / 1000)
        .filter(|mhz| *mhz > 0)
}

/// Parses `MemTotal` from `/proc/meminfo`, in bytes.
pub fn parse_meminfo_total(text: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix("MemTotal:")?;
        let kb = rest
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()?;
        Some(kb * 1024)
    })
}

/// Parses `ID` and `VERSION_ID` from `/etc/os-release`.
pub fn parse_os_release(text: &str) -> (Option<String>, Option<String>) {
    let mut id = None;
    let mut version = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value
            .trim()
            .trim_matches('"')
            .trim_matches('\'')
            .to_string();
        match key.trim() {
            "ID" => id = Some(value),
            "VERSION_ID" => version = Some(value),
            _ => {}
        }
    }
    (id, version)
}

/// Finds the device of the mount that holds `path` in `/proc/self/mounts` text: the entry
/// with the longest mount point that is a prefix of `path`.
pub fn mount_device_for(mounts: &str, path: &Path) -> Option<String> {
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let device = fields.next()?;
            let mount_point = unescape_mount(fields.next()?);
            path.starts_with(&mount_point)
                .then(|| (mount_point.len(), device.to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, device)| device)
}

/// `/proc/self/mounts` escapes spaces and tabs in octal (`\040`).
fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\134", "\\")
}

/// Nomad reports Go's architecture names (`GOARCH`).
pub fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu MHz\t\t: 2399.998\n\n\
                           processor\t: 1\ncpu MHz\t\t: 2500.000\n";

    #[test]
    fn cpuinfo_counts_processors_and_takes_first_mhz() {
        let info = parse_cpuinfo(CPUINFO);
        assert_eq!(info.cores, 2);
        assert_eq!(info.mhz, Some(2399.998));
    }

    #[test]
    fn cpuinfo_without_mhz_has_none() {
        let info = parse_cpuinfo("processor : 0\nBogoMIPS : 50.00\n");
        assert_eq!(
            info,
            CpuInfo {
                cores: 1,
                mhz: None
            }
        );
    }

    #[test]
    fn cpufreq_is_khz() {
        assert_eq!(parse_cpufreq_khz("3400000\n"), Some(3400));
        assert_eq!(parse_cpufreq_khz("garbage"), None);
        assert_eq!(parse_cpufreq_khz("0"), None);
    }

    #[test]
    fn meminfo_total_in_bytes() {
        let text = "MemTotal:       16318028 kB\nMemFree:         1234 kB\n";
        assert_eq!(parse_meminfo_total(text), Some(16_318_028 * 1024));
        assert_eq!(parse_meminfo_total("MemFree: 1 kB"), None);
    }

    #[test]
    fn os_release_id_and_version() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";
        assert_eq!(
            parse_os_release(text),
            (Some("debian".into()), Some("12".into()))
        );
    }

    #[test]
    fn mount_device_takes_longest_prefix() {
        let mounts = "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /data xfs rw 0 0\n\
                      tmpfs /data/my\\040dir tmpfs rw 0 0\n";
        assert_eq!(
            mount_device_for(mounts, Path::new("/data/nomad")),
            Some("/dev/sdb1".into())
        );
        assert_eq!(
            mount_device_for(mounts, Path::new("/data/my dir/x")),
            Some("tmpfs".into())
        );
        assert_eq!(
            mount_device_for(mounts, Path::new("/home")),
            Some("/dev/sda1".into())
        );
    }

    #[test]
    fn arch_names_follow_go() {
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("aarch64"), "arm64");
    }
}
