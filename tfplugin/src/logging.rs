//! Logging to Terraform's log.
//!
//! go-plugin reads each line a provider writes to stderr. A line that is a JSON object with
//! hclog's keys (`@level`, `@message`, others as key/value pairs) is logged at that level as
//! `provider.<binary>: message: key=value`; any other line is logged at DEBUG. [`init`]
//! installs a `tracing` subscriber that writes events that way, so `TF_LOG=INFO` (or
//! `TF_LOG_PROVIDER=INFO`) shows them.
//!
//! Only events of the targets named (and of this crate) are written: h2's and tonic's would
//! drown them. The level follows `TF_LOG_PROVIDER`, else `TF_LOG`; with neither set only
//! warnings and errors are written, since Terraform discards the rest anyway.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Install the stderr logger for `targets` (crate names) plus this crate, with `module` as
/// hclog's `@module`. A second call keeps the first subscriber.
pub fn init(module: &'static str, targets: &[&str]) {
    let level = level_from_env(
        std::env::var("TF_LOG_PROVIDER").ok().as_deref(),
        std::env::var("TF_LOG").ok().as_deref(),
    );
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .event_format(HclogJson { module });
    let filter = targets
        .iter()
        .fold(Targets::new().with_target("tfplugin", level), |f, t| {
            f.with_target(*t, level)
        });
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}

/// The most verbose level worth writing, from `TF_LOG_PROVIDER` and `TF_LOG`.
fn level_from_env(provider: Option<&str>, global: Option<&str>) -> LevelFilter {
    let setting = provider
        .filter(|v| !v.is_empty())
        .or(global.filter(|v| !v.is_empty()));
    match setting.map(str::to_ascii_uppercase).as_deref() {
        None => LevelFilter::WARN,
        Some("OFF") => LevelFilter::OFF,
        Some("ERROR") => LevelFilter::ERROR,
        Some("WARN") => LevelFilter::WARN,
        Some("INFO") => LevelFilter::INFO,
        Some("DEBUG") => LevelFilter::DEBUG,
        // TRACE, JSON and anything Terraform treats as "on".
        Some(_) => LevelFilter::TRACE,
    }
}

/// Formats one event as one hclog JSON line.
struct HclogJson {
    module: &'static str,
}

impl<S, N> FormatEvent<S, N> for HclogJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writeln!(writer, "{}", hclog_line(event, self.module))
    }
}

fn hclog_line(event: &Event<'_>, module: &str) -> String {
    let mut fields = JsonFields(Map::new());
    event.record(&mut fields);
    line_from_fields(fields.0, *event.metadata().level(), module)
}

fn line_from_fields(mut line: Map<String, Json>, level: Level, module: &str) -> String {
    let message = line
        .remove("message")
        .unwrap_or(Json::String(String::new()));
    line.insert("@message".into(), message);
    line.insert("@level".into(), Json::String(hclog_level(level).into()));
    line.insert("@module".into(), Json::String(module.into()));
    line.insert(
        "@timestamp".into(),
        Json::String(timestamp(SystemTime::now())),
    );
    Json::Object(line).to_string()
}

/// hclog's timestamp format, `2006-01-02T15:04:05.000000Z`, in UTC. A clock outside the years
/// 1970 to 9999 is written as the nearest end of that range rather than failing.
fn timestamp(at: SystemTime) -> String {
    let last = UNIX_EPOCH + Duration::new(253_402_300_799, 999_999_999);
    humantime::format_rfc3339_micros(at.clamp(UNIX_EPOCH, last)).to_string()
}

fn hclog_level(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Collects an event's fields as JSON values.
struct JsonFields(Map<String, Json>);

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Json::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().into(), Json::String(value.into()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Json::from(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_follows_provider_setting_then_global() {
        assert_eq!(level_from_env(None, None), LevelFilter::WARN);
        assert_eq!(level_from_env(None, Some("info")), LevelFilter::INFO);
        assert_eq!(
            level_from_env(Some("DEBUG"), Some("ERROR")),
            LevelFilter::DEBUG
        );
        assert_eq!(level_from_env(Some(""), Some("JSON")), LevelFilter::TRACE);
        assert_eq!(level_from_env(Some("off"), None), LevelFilter::OFF);
    }

    #[test]
    fn line_is_hclog_json() {
        let mut fields = Map::new();
        fields.insert("message".into(), Json::from("created"));
        fields.insert("name".into(), Json::from("alpha"));
        let line: Json =
            serde_json::from_str(&line_from_fields(fields, Level::INFO, "pgha")).expect("JSON");
        assert_eq!(line["@message"], "created");
        assert_eq!(line["@level"], "info");
        assert_eq!(line["@module"], "pgha");
        assert_eq!(line["name"], "alpha");
        assert!(line["@timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')));
    }

    #[test]
    fn timestamps_are_utc_rfc3339() {
        let at = |secs: u64, micros: u64| {
            timestamp(UNIX_EPOCH + Duration::from_micros(secs * 1_000_000 + micros))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
        assert_eq!(at(1_795_000_000, 123_456), "2026-11-18T11:06:40.123456Z");
        assert_eq!(at(253_402_300_799, 999_999), "9999-12-31T23:59:59.999999Z");
        // Out of range: the nearest representable instant, not a panic.
        assert_eq!(at(253_402_300_800, 0), "9999-12-31T23:59:59.999999Z");
        assert_eq!(
            timestamp(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00.000000Z"
        );
    }
}
