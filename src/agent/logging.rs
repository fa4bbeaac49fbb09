//! Agent logging: tracing-subscriber to stderr, text or JSON lines, at `-log-level`
//! (`RUST_LOG` directives, when set, refine it per module).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use super::config::LogSettings;

/// Errors installing the subscriber.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// A global subscriber was already installed.
    #[error("cannot install the log subscriber: {0}")]
    Install(String),
}

/// The level filter for an upper-case Nomad log level (`INFO`).
pub fn level_filter(level: &str) -> LevelFilter {
    match level.to_ascii_uppercase().as_str() {
        "TRACE" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "WARN" => LevelFilter::WARN,
        "ERROR" => LevelFilter::ERROR,
        "OFF" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

/// Dependencies whose INFO lines are internal detail (raft elections, snapshot steps, sled
/// housekeeping): they log at WARN unless `-log-level` asks for DEBUG or TRACE.
const CHATTY_DEPENDENCIES: [&str; 3] = ["openraft", "sled", "h2"];

/// Installs the global subscriber writing to stderr.
pub fn init(settings: &LogSettings) -> Result<(), LoggingError> {
    let level = level_filter(&settings.level);
    let mut filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    if level <= LevelFilter::INFO && std::env::var_os("RUST_LOG").is_none() {
        for dep in CHATTY_DEPENDENCIES {
            if let Ok(directive) = format!("{dep}=warn").parse() {
                filter = filter.add_directive(directive);
            }
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = if settings.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    result.map_err(|e| LoggingError::Install(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_case_insensitively() {
        assert_eq!(level_filter("debug"), LevelFilter::DEBUG);
        assert_eq!(level_filter("WARN"), LevelFilter::WARN);
        assert_eq!(level_filter("INFO"), LevelFilter::INFO);
    }
}
