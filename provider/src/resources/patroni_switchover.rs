//! `pgha_patroni_switchover`: a planned move of the leader, through `POST /switchover`.
//!
//! Creating the resource performs the switchover; changing `candidate`, `from` or `triggers`
//! replaces it, which performs another. Destroying it changes nothing on the cluster. It never
//! moves the leader back on its own after a failover: it acts only when its arguments change.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use tfplugin::{
    ApplyRequest, Attribute, AttributePath, Block, Diagnostics, NestingMode, PlanRequest,
    PlanResponse, Resource, Schema, Type, Value,
};

use super::cluster_map::{attr, nonempty, string};
use super::patroni_cluster::{api_error, api_of, ClusterSpec, SPEC_FORMAT};
use crate::patroni_api::{ClusterView, Member};

/// Full type name.
pub const TYPE_NAME: &str = "pgha_patroni_switchover";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The resource.
pub struct PatroniSwitchoverResource;

/// The schema.
pub fn schema() -> Schema {
    let timeouts = Block::new("How long the switchover may take.")
        .attribute(Attribute::string("create").describe("Default `5m`."));
    let block = Block::new(
        "Moves the leader of a running cluster on purpose (`POST /switchover`): to `candidate`, \
         or away from `from`. Creating it switches over; a change of `candidate`, `from` or \
         `triggers` replaces it and switches over again; destroying it changes nothing. A \
         candidate that is not eligible (not streaming, lagging beyond \
         `maximum_lag_on_failover`, tagged `nofailover`, or not the synchronous standby in \
         synchronous mode) fails the apply with the reason, and the leader stays where it is.",
    )
    .attribute(
        Attribute::string("id")
            .computed()
            .describe("`<old leader>-><new leader>`."),
    )
    .attribute(
        Attribute::string("cluster")
            .required()
            .sensitive()
            .describe("The `spec` of the `pgha_patroni_cluster` (endpoints and credentials)."),
    )
    .attribute(Attribute::string("candidate").describe(
        "The member to become leader. Default: the caught-up synchronous standby (or any \
         caught-up eligible replica).",
    ))
    .attribute(Attribute::string("from").describe(
        "Switch over only if this member is the leader (e.g. before maintenance of its host); \
         nothing happens when another member leads.",
    ))
    .attribute(
        Attribute::new("triggers", Type::map(Type::String))
            .describe("Any change of these values switches over again."),
    )
    .attribute(
        Attribute::string("leader")
            .computed()
            .describe("The leader after the switchover."),
    )
    .block("timeouts", NestingMode::Single, timeouts);
    Schema { version: 0, block }
}

/// `timeouts.create`, or the default.
fn create_timeout(args: &Value, diags: &mut Diagnostics) -> Duration {
    super::cluster_map::duration(
        args.get("timeouts"),
        "create",
        attr("timeouts").attribute("create"),
        DEFAULT_TIMEOUT,
        diags,
    )
}

fn read_spec(args: &Value, diags: &mut Diagnostics) -> Option<ClusterSpec> {
    match serde_json::from_str::<ClusterSpec>(&string(args, "cluster").unwrap_or_default()) {
        Ok(spec) if spec.format == SPEC_FORMAT => Some(spec),
        _ => {
            diags.error_at(
                attr("cluster"),
                "Not a cluster spec",
                "`cluster` must be the `spec` output of a pgha_patroni_cluster from this \
                 provider version.",
            );
            None
        }
    }
}

/// Why `m` cannot take over, if it cannot.
fn ineligible(m: &Member, view: &ClusterView, max_lag: u64, synchronous: bool) -> Option<String> {
    if m.is_leader() {
        return Some(format!("{} is the leader already", m.name));
    }
    if m.tag("nofailover") {
        return Some(format!("{} is tagged nofailover", m.name));
    }
    if m.state != "streaming" && m.state != "running" {
        return Some(format!("{} is {}, not streaming", m.name, m.state));
    }
    match m.lag_bytes() {
        Some(lag) if lag > max_lag => {
            return Some(format!(
                "{} lags {lag} bytes, more than maximum_lag_on_failover ({max_lag})",
                m.name
            ))
        }
        None => return Some(format!("{}'s lag is unknown", m.name)),
        _ => {}
    }
    let has_sync = view.members.iter().any(|x| x.role == "sync_standby");
    if synchronous && has_sync && m.role != "sync_standby" {
        return Some(format!(
            "{} is not the synchronous standby, and synchronous_mode allows a switchover only \
             to one",
            m.name
        ));
    }
    None
}

#[async_trait]
impl Resource for PatroniSwitchoverResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let _ = create_timeout(config, diags);
        if !config.get("cluster").is_known() {
            return;
        }
        let Some(spec) = read_spec(config, diags) else {
            return;
        };
        for key in ["candidate", "from"] {
            if let Some(name) = nonempty(config, key) {
                if !spec.cluster.nodes.iter().any(|n| n.name == name) {
                    diags.error_at(
                        attr(key),
                        "Not a member of the cluster",
                        format!("`{name}` is not in the pgha_patroni_cluster's `members`."),
                    );
                }
            }
        }
    }

    async fn plan(
        &self,
        request: PlanRequest<'_>,
        _diags: &mut Diagnostics,
    ) -> Option<PlanResponse> {
        if request.proposed.is_null() {
            return Some(PlanResponse::default());
        }
        let mut planned = request.proposed.clone();
        let mut requires_replace: Vec<AttributePath> = Vec::new();
        match request.prior {
            Some(prior) => {
                for key in ["candidate", "from", "triggers"] {
                    if prior.get(key) != planned.get(key) {
                        requires_replace.push(attr(key));
                    }
                }
                if requires_replace.is_empty() {
                    planned.set("id", prior.get("id").clone());
                    planned.set("leader", prior.get("leader").clone());
                } else {
                    planned.set("id", Value::Unknown);
                    planned.set("leader", Value::Unknown);
                }
            }
            None => {
                planned.set("id", Value::Unknown);
                planned.set("leader", Value::Unknown);
            }
        }
        Some(PlanResponse {
            planned,
            requires_replace,
        })
    }

    async fn apply(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Option<Value> {
        if request.planned.is_null() {
            return Some(Value::Null);
        }
        if let Some(prior) = request.prior {
            // An in-place update (only the credentials' spec changed): nothing to do.
            let mut state = request.planned.clone();
            state.set("id", prior.get("id").clone());
            state.set("leader", prior.get("leader").clone());
            return Some(state);
        }
        let args = request.planned;
        let spec = read_spec(args, diags)?;
        let limit = create_timeout(args, &mut Diagnostics::default());
        let deadline = Instant::now() + limit;
        let restapi_ref = spec
            .cluster
            .secrets
            .restapi
            .as_ref()
            .is_some_and(|a| a.password.is_reference());
        let api = match api_of(&spec) {
            Ok(a) => a,
            Err(e) => {
                api_error(diags, "Patroni REST API client", &e, restapi_ref);
                return None;
            }
        };
        let (view, config) = match (api.cluster(limit).await, api.get_config(limit).await) {
            (Ok(v), Ok(c)) => (v, c),
            (Err(e), _) | (_, Err(e)) => {
                api_error(diags, "Reading the cluster", &e, restapi_ref);
                return None;
            }
        };
        let Some(leader) = view.leader().map(|m| m.name.clone()) else {
            diags.error(
                "No leader to switch over from",
                format!("The cluster has no leader now: {}", view.summary()),
            );
            return None;
        };
        let mut state = args.clone();
        if let Some(from) = nonempty(args, "from") {
            if from != leader {
                tracing::info!("{from} is not the leader ({leader} is): no switchover");
                state.set("id", Value::from(format!("{leader}->{leader}")));
                state.set("leader", Value::from(leader.as_str()));
                return Some(state);
            }
        }
        let max_lag = config
            .get("maximum_lag_on_failover")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(pgha_config::defaults::MAXIMUM_LAG_ON_FAILOVER);
        let synchronous = config
            .get("synchronous_mode")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let candidate = match nonempty(args, "candidate") {
            Some(name) => {
                let Some(m) = view.member(&name) else {
                    diags.error_at(
                        attr("candidate"),
                        "Candidate not in the cluster",
                        format!("`{name}` is not a running member: {}", view.summary()),
                    );
                    return None;
                };
                if let Some(why) = ineligible(m, &view, max_lag, synchronous) {
                    diags.error_at(
                        attr("candidate"),
                        "Candidate not eligible for a switchover",
                        format!("{why}. The leader stays {leader}."),
                    );
                    return None;
                }
                name
            }
            None => {
                let found = view
                    .members
                    .iter()
                    .filter(|m| ineligible(m, &view, max_lag, synchronous).is_none())
                    .max_by_key(|m| (m.role == "sync_standby", m.lag_bytes() == Some(0)))
                    .map(|m| m.name.clone());
                let Some(name) = found else {
                    diags.error(
                        "No member is eligible for a switchover",
                        format!("The leader stays {leader}: {}", view.summary()),
                    );
                    return None;
                };
                name
            }
        };
        tracing::info!("switchover from {leader} to {candidate}");
        let t0 = Instant::now();
        if let Err(e) = api
            .switchover(
                &leader,
                Some(&candidate),
                deadline.saturating_duration_since(Instant::now()),
            )
            .await
        {
            api_error(diags, "Patroni refused the switchover", &e, restapi_ref);
            return None;
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Ok(v) = api.cluster(left.min(Duration::from_secs(5))).await {
                if v.member(&candidate)
                    .is_some_and(|m| m.is_leader() && m.state == "running")
                {
                    break;
                }
            }
            if Instant::now() >= deadline {
                diags.error(
                    "Switchover not finished in time",
                    format!("{candidate} did not lead within {limit:?}."),
                );
                return None;
            }
            if !crate::patroni_api::pause(Duration::from_millis(500)).await {
                diags.error(
                    "Interrupted",
                    format!("Terraform asked the provider to stop; the switchover to {candidate} was requested."),
                );
                return None;
            }
        }
        tracing::info!(
            "switchover done: {candidate} leads after {:.1?}",
            t0.elapsed()
        );
        state.set("id", Value::from(format!("{leader}->{candidate}")));
        state.set("leader", Value::from(candidate.as_str()));
        Some(state)
    }
}
