//! What `GET /v1/metrics` answers, shared by every agent's HTTP listener (servers, and
//! client-only agents): the `?format=` parameter picks Nomad's JSON (the default) or
//! Prometheus text, and [`Snapshot::render`] produces the body and its content type.

use crate::Snapshot;
use crate::render::PROMETHEUS_CONTENT_TYPE;

/// The content type of Nomad's JSON.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// A body format of `/v1/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Nomad's `{Timestamp, Gauges, Counters, Samples}` (no `format`, `format=json`).
    NomadJson,
    /// Prometheus text 0.0.4 (`format=prometheus`).
    Prometheus,
}

/// A `?format=` value no agent understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl std::fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unsupported metrics format: {:?}", self.0)
    }
}

impl std::error::Error for UnknownFormat {}

impl Format {
    /// The format named by the `format` query parameter (absent or empty: JSON).
    pub fn from_param(param: Option<&str>) -> Result<Self, UnknownFormat> {
        match param {
            None | Some("") | Some("json") => Ok(Self::NomadJson),
            Some("prometheus") => Ok(Self::Prometheus),
            Some(other) => Err(UnknownFormat(other.to_string())),
        }
    }
}

/// A rendered `/v1/metrics` body.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The `Content-Type` to answer with.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Snapshot {
    /// The body in `format`; `now_rfc3339` (`2026-01-02T03:04:05.123Z`) stamps the JSON, as
    /// Go prints a UTC time.
    pub fn render(&self, format: Format, now_rfc3339: &str) -> Rendered {
        match format {
            Format::NomadJson => Rendered {
                content_type: JSON_CONTENT_TYPE,
                body: self.to_nomad_json(&go_timestamp(now_rfc3339)).to_string(),
            },
            Format::Prometheus => Rendered {
                content_type: PROMETHEUS_CONTENT_TYPE,
                body: self.to_prometheus(),
            },
        }
    }
}

/// `2026-01-02T03:04:05.123Z` as Go prints a UTC time: `2026-01-02 03:04:05 +0000 UTC`.
pub fn go_timestamp(rfc3339: &str) -> String {
    let seconds = rfc3339.split('.').next().unwrap_or(rfc3339);
    format!(
        "{} +0000 UTC",
        seconds.trim_end_matches('Z').replacen('T', " ", 1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_look_like_nomads() {
        assert_eq!(
            go_timestamp("2024-02-29T12:34:56.500000000Z"),
            "2024-02-29 12:34:56 +0000 UTC"
        );
        assert_eq!(
            go_timestamp("2024-02-29T12:34:56Z"),
            "2024-02-29 12:34:56 +0000 UTC"
        );
    }

    #[test]
    fn the_format_parameter_picks_the_body() {
        assert_eq!(Format::from_param(None), Ok(Format::NomadJson));
        assert_eq!(Format::from_param(Some("")), Ok(Format::NomadJson));
        assert_eq!(Format::from_param(Some("json")), Ok(Format::NomadJson));
        assert_eq!(
            Format::from_param(Some("prometheus")),
            Ok(Format::Prometheus)
        );
        let err = Format::from_param(Some("xml")).unwrap_err();
        assert_eq!(err.to_string(), "unsupported metrics format: \"xml\"");
    }

    #[test]
    fn render_stamps_json_and_labels_prometheus_text() {
        let mut snap = Snapshot::default();
        snap.push_gauge("nomad.client.uptime", Vec::new(), 3.0);
        let json = snap.render(Format::NomadJson, "2024-02-29T12:34:56.5Z");
        assert_eq!(json.content_type, JSON_CONTENT_TYPE);
        let value: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(value["Timestamp"], "2024-02-29 12:34:56 +0000 UTC");
        assert_eq!(value["Gauges"][0]["Value"], 3.0);
        let text = snap.render(Format::Prometheus, "");
        assert_eq!(text.content_type, PROMETHEUS_CONTENT_TYPE);
        assert!(
            text.body.contains("nomad_client_uptime 3\n"),
            "{}",
            text.body
        );
    }
}
