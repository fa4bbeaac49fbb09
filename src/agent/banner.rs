//! The startup banner, laid out like Nomad's (`==> Nomad agent configuration:` followed by
//! right-aligned `Key: value` lines), then any `==> WARNING: ...` lines.

use super::config::Banner;

/// Width the banner's keys are right-aligned to.
const KEY_WIDTH: usize = 18;

/// The configuration banner printed before the agent starts.
pub fn format_banner(banner: &Banner) -> String {
    let rows = [
        ("Advertise Addrs", banner.advertise_addrs.clone()),
        ("Bind Addrs", banner.bind_addrs.clone()),
        ("Client", banner.client.to_string()),
        ("Datacenter", banner.datacenter.clone()),
        ("Log Level", banner.log_level.clone()),
        (
            "Region",
            format!("{} (DC: {})", banner.region, banner.datacenter),
        ),
        ("Server", banner.server.to_string()),
        ("Version", env!("CARGO_PKG_VERSION").to_string()),
    ];
    let mut out = String::from("==> Nomadish agent configuration:\n\n");
    for (key, value) in rows {
        out.push_str(&format!("{key:>KEY_WIDTH$}: {value}\n"));
    }
    for warning in &banner.warnings {
        out.push_str(&format!("\n==> WARNING: {warning}\n"));
    }
    out.push_str("\n==> Nomadish agent started! Log data will stream in below:\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn banner(warnings: Vec<String>) -> Banner {
        Banner {
            client: true,
            server: true,
            region: "global".into(),
            datacenter: "dc1".into(),
            bind_addrs: "HTTP: 0.0.0.0:4646; RPC: 0.0.0.0:4647".into(),
            advertise_addrs: "HTTP: 10.0.0.1:4646; RPC: 10.0.0.1:4647".into(),
            log_level: "INFO".into(),
            warnings,
        }
    }

    #[test]
    fn warnings_come_after_the_settings_and_before_the_start_line() {
        let text = format_banner(&banner(vec!["TLS is off.".into()]));
        let version_line = format!("           Version: {}\n", env!("CARGO_PKG_VERSION"));
        let expected_tail = format!(
            "{version_line}\n==> WARNING: TLS is off.\n\n\
             ==> Nomadish agent started! Log data will stream in below:\n"
        );
        assert!(text.ends_with(&expected_tail), "{text}");
        assert!(!format_banner(&banner(Vec::new())).contains("WARNING"));
    }

    #[test]
    fn banner_lists_the_agent_settings() {
        let text = format_banner(&Banner {
            client: true,
            server: true,
            region: "global".into(),
            datacenter: "dc1".into(),
            bind_addrs: "HTTP: 127.0.0.1:4646; RPC: 127.0.0.1:4647".into(),
            advertise_addrs: "HTTP: 127.0.0.1:4646; RPC: 127.0.0.1:4647".into(),
            log_level: "INFO".into(),
            warnings: Vec::new(),
        });
        assert!(text.starts_with("==> Nomadish agent configuration:\n\n"));
        assert!(text.contains("\n            Client: true\n"));
        assert!(text.contains("\n            Server: true\n"));
        assert!(text.contains("\n            Region: global (DC: dc1)\n"));
        assert!(text.contains("\n        Bind Addrs: HTTP: 127.0.0.1:4646; RPC: 127.0.0.1:4647\n"));
        assert!(text.contains("\n         Log Level: INFO\n"));
        assert!(text.ends_with("==> Nomadish agent started! Log data will stream in below:\n"));
    }
}
