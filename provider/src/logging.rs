//! Logging to Terraform's log.
//!
//! go-plugin reads each line a provider writes to stderr. A line that is a JSON object with
//! hclog's keys (`@level`, `@message`, others as key/value pairs) is logged at that level as
//! `provider.terraform-provider-pgha: message: key=value`; any other line is logged at DEBUG.
//! So `tracing` events are written to stderr as hclog JSON, and `TF_LOG=INFO` (or
//! `TF_LOG_PROVIDER=INFO`) shows them. Only this crate's events are written: tonic's and h2's
//! would drown them.
//!
//! tf-provider installs its own global subscriber writing everything to the file named by
//! `PLUGIN_LOG_FILE` when that variable is set, and panics if one is already installed, so
//! ours is installed only when `PLUGIN_LOG_FILE` is unset.

use std::fmt;

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Install the stderr logger unless tf-provider will install its file logger.
pub fn init() {
    if std::env::var_os("PLUGIN_LOG_FILE").is_some() {
        return;
    }
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .event_format(HclogJson);
    let filter = Targets::new().with_target(env!("CARGO_CRATE_NAME"), Level::TRACE);
    // A second initialisation (only possible in tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}

/// Formats one event as one hclog JSON line.
struct HclogJson;

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
        writeln!(writer, "{}", hclog_line(event))
    }
}

fn hclog_line(event: &Event<'_>) -> String {
    let mut fields = JsonFields(Map::new());
    event.record(&mut fields);
    let mut line = fields.0;
    let message = line
        .remove("message")
        .unwrap_or(Json::String(String::new()));
    line.insert("@message".into(), message);
    line.insert(
        "@level".into(),
        Json::String(hclog_level(*event.metadata().level()).into()),
    );
    line.insert("@module".into(), Json::String("pgha".into()));
    Json::Object(line).to_string()
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
