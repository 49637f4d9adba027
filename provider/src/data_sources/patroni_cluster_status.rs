//! `pgha_patroni_cluster_status`: what `patronictl list` shows, from `GET /cluster`, for
//! outputs and `check {}` blocks (one leader, replicas streaming, nothing pending).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use tfplugin::{Attribute, Block, DataSource, Diagnostics, Schema, Type, Value};

use crate::patroni_api::{ClusterView, PatroniApi};
use crate::resources::cluster_map::{attr, duration, flag, strings};

/// Full type name.
pub const TYPE_NAME: &str = "pgha_patroni_cluster_status";

/// How long a read tries by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// The data source.
#[derive(Debug, Default)]
pub struct PatroniClusterStatus;

fn member_type() -> Type {
    Type::object([
        ("name", Type::String),
        ("host", Type::String),
        ("role", Type::String),
        ("state", Type::String),
        ("timeline", Type::Number),
        ("lag", Type::Number),
        ("pending_restart", Type::Bool),
    ])
}

/// The schema.
pub fn schema() -> Schema {
    let block = Block::new(
        "The members of a running Patroni cluster as its REST API reports them (`GET /cluster`, \
         no credentials needed): role, state, timeline, lag, pending restart. Read when \
         Terraform reads data sources (during plan when the endpoints are known), so use it in \
         `check {}` blocks and outputs, e.g. with `endpoints = \
         pgha_patroni_cluster.main.restapi_urls`.",
    )
    .attribute(
        Attribute::new("endpoints", Type::list(Type::String))
            .required()
            .describe(
                "REST API base URLs (`http://10.0.0.1:8008`); the first that answers is used.",
            ),
    )
    .attribute(
        Attribute::number("expected_members")
            .describe("Members a healthy cluster has. Default: the number of `endpoints`."),
    )
    .attribute(Attribute::bool("wait_for_healthy").describe(
        "Wait (up to `timeout`) until the cluster is healthy before answering. Default `false`.",
    ))
    .attribute(
        Attribute::string("timeout").describe("How long to try (`30s`, `5m`). Default `15s`."),
    )
    .attribute(
        Attribute::string("leader")
            .computed()
            .describe("The leader's name; empty when there is none."),
    )
    .attribute(
        Attribute::number("timeline")
            .computed()
            .describe("The leader's timeline."),
    )
    .attribute(Attribute::bool("healthy").computed().describe(
        "One running leader, every other expected member streaming with lag 0, and with \
                 `synchronous_mode` on a synchronous standby chosen.",
    ))
    .attribute(
        Attribute::new("streaming", Type::list(Type::String))
            .computed()
            .describe("Replicas that stream with lag 0."),
    )
    .attribute(
        Attribute::new("pending_restart", Type::list(Type::String))
            .computed()
            .describe("Members that wait for a restart."),
    )
    .attribute(
        Attribute::new("members", Type::list(member_type()))
            .computed()
            .describe(
                "Every member: `name`, `host`, `role` (`leader`, `sync_standby`, `replica`, …), \
                 `state`, `timeline`, `lag` (bytes; null when unknown), `pending_restart`.",
            ),
    );
    Schema { version: 0, block }
}

fn members_value(view: &ClusterView) -> Value {
    Value::List(
        view.members
            .iter()
            .map(|m| {
                Value::object([
                    ("name", Value::from(m.name.as_str())),
                    (
                        "host",
                        m.host.as_deref().map(Value::from).unwrap_or(Value::Null),
                    ),
                    ("role", Value::from(m.role.as_str())),
                    ("state", Value::from(m.state.as_str())),
                    (
                        "timeline",
                        m.timeline
                            .map(|t| Value::Number(t as f64))
                            .unwrap_or(Value::Null),
                    ),
                    (
                        "lag",
                        m.lag_bytes()
                            .map(|l| Value::Number(l as f64))
                            .unwrap_or(Value::Null),
                    ),
                    ("pending_restart", Value::Bool(m.pending_restart)),
                ])
            })
            .collect(),
    )
}

fn names(items: impl Iterator<Item = String>) -> Value {
    Value::List(items.map(Value::from).collect())
}

#[async_trait]
impl DataSource for PatroniClusterStatus {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let _ = duration(config, "timeout", attr("timeout"), DEFAULT_TIMEOUT, diags);
    }

    async fn read(&self, config: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let endpoints = strings(config, "endpoints");
        if endpoints.is_empty() {
            diags.error_at(
                attr("endpoints"),
                "No endpoints",
                "Give at least one REST API base URL.",
            );
            return None;
        }
        let expected = config
            .get("expected_members")
            .as_i64()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(endpoints.len());
        let limit = duration(
            config,
            "timeout",
            attr("timeout"),
            DEFAULT_TIMEOUT,
            &mut Diagnostics::default(),
        );
        let wait = flag(config, "wait_for_healthy", false);
        let api = match PatroniApi::new(endpoints, None) {
            Ok(api) => api,
            Err(e) => {
                diags.error("Patroni REST API client", e.to_string());
                return None;
            }
        };
        let deadline = Instant::now() + limit;
        // With synchronous replication on, healthy includes a chosen synchronous standby.
        let synchronous = match api.get_config(limit).await {
            Ok(c) => c
                .get("synchronous_mode")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            Err(_) => false,
        };
        let view = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match api.cluster(left.max(Duration::from_secs(1))).await {
                Ok(view) if !wait || view.is_settled(expected, synchronous) => break view,
                Ok(view) if Instant::now() >= deadline => {
                    diags.warning(
                        "The cluster is not healthy",
                        format!("After {limit:?}: {}", view.summary()),
                    );
                    break view;
                }
                Ok(view) => tracing::info!("waiting for a healthy cluster: {}", view.summary()),
                Err(e) => {
                    diags.error(
                        "Patroni's REST API did not answer",
                        format!(
                            "{e}\n\nThe Terraform runner must reach the members' REST API \
                             (from Terraform Cloud: an agent in the VCN, or a bastion)."
                        ),
                    );
                    return None;
                }
            }
            if !crate::patroni_api::pause(Duration::from_secs(1)).await {
                diags.error("Interrupted", "Terraform asked the provider to stop.");
                return None;
            }
        };
        let mut out = config.clone();
        let leader = view.leader();
        out.set(
            "leader",
            Value::from(leader.map(|m| m.name.as_str()).unwrap_or("")),
        );
        out.set(
            "timeline",
            leader
                .and_then(|m| m.timeline)
                .map(|t| Value::Number(t as f64))
                .unwrap_or(Value::Null),
        );
        out.set(
            "healthy",
            Value::Bool(view.is_settled(expected, synchronous)),
        );
        out.set(
            "streaming",
            names(
                view.members
                    .iter()
                    .filter(|m| m.is_caught_up_replica())
                    .map(|m| m.name.clone()),
            ),
        );
        out.set("pending_restart", names(view.pending_restart().into_iter()));
        out.set("members", members_value(&view));
        Some(out)
    }
}
