//! The lifecycle every pgha resource shares: its outputs are rendered from its arguments.
//!
//! Nothing exists outside Terraform state, so create and update compute the outputs, read
//! returns the state, and delete forgets it. The rules that make Terraform's plans truthful:
//!
//! - Outputs are rendered at plan time whenever every argument is known, so `terraform plan`
//!   shows each file's change; when any argument is unknown every output is unknown (a partial
//!   cluster would be a guess). Apply renders again from the then-known arguments, with the same
//!   pure functions, so a value known in the plan always comes back unchanged.
//! - `ValidateResourceConfig` reports the library's errors *and* warnings; plan and apply
//!   repeat only errors (an argument that was unknown during validation is checked there), so a
//!   warning is shown once.
//! - Import takes either a JSON object of the arguments (the next plan is empty when it matches
//!   the configuration) or the resource's `name` (the next plan fills in the rest in place).
//! - Upgrading stored state from an older schema keeps the arguments and renders the outputs
//!   again, so the plan after an upgrade is empty.

use std::marker::PhantomData;

use async_trait::async_trait;
use tfplugin::{
    ApplyRequest, AttributePath, Diagnostics, PlanRequest, PlanResponse, Resource, Schema,
    Severity, Value,
};

use super::cluster_map::from_json;

/// Schema version of the rendering resources that have not changed shape since version 1
/// (`pgha_etcd_member`, `pgha_pgbackrest_stanza`); `pgha_patroni_node` is at version 2.
///
/// Version 0 (the development snapshots before the first release) kept every rendered file in
/// `files`, secrets included, and had no `sensitive_files`; version 1 moved files that hold an
/// inline secret to the sensitive `sensitive_files`. The arguments did not change, so the
/// upgrade keeps them and renders the outputs again.
pub const SCHEMA_VERSION: i64 = 1;

/// What distinguishes one rendering resource from another.
pub(crate) trait Renderer: Send + Sync + 'static {
    /// Full type name.
    const TYPE_NAME: &'static str;
    /// Computed attributes, all set by [`Renderer::render`] (`id` included).
    const OUTPUTS: &'static [&'static str];

    /// The schema; its `version` is the resource's current schema version.
    fn schema() -> Schema;

    /// The outputs for wholly known `args`, or `None` after reporting errors. Errors and warnings
    /// go to `diags`; the caller filters them by phase.
    fn render(args: &Value, diags: &mut Diagnostics) -> Option<Vec<(&'static str, Value)>>;

    /// Paths whose change between `prior` and `planned` needs a new host.
    fn replacements(prior: &Value, planned: &Value) -> Vec<AttributePath>;

    /// A bucket to check with GetBucket at apply (create and update), and the attribute to
    /// report a failure at; `pgha_pgbackrest_stanza` returns one when `verify_bucket` is set.
    /// Never called at plan.
    fn bucket_to_verify(args: &Value) -> Option<(crate::oci::BucketTarget, AttributePath)> {
        let _ = args;
        None
    }
}

/// A managed resource whose outputs `R` renders.
pub(crate) struct Rendered<R>(PhantomData<R>);

impl<R> Rendered<R> {
    /// The resource.
    pub(crate) fn new() -> Self {
        Rendered(PhantomData)
    }
}

/// `state` without the computed attributes: the arguments.
pub(crate) fn arguments<R: Renderer>(state: &Value) -> Value {
    without(state, R::OUTPUTS)
}

/// `state` without the attributes `outputs` (shared with the resources that act on a running
/// cluster and implement `tfplugin::Resource` themselves).
pub(crate) fn without(state: &Value, outputs: &[&str]) -> Value {
    let mut args = state.clone();
    if let Value::Map(m) = &mut args {
        for out in outputs {
            m.remove(*out);
        }
    }
    args
}

/// The state an import by name starts from: `name` and `id` set, every output null; the next
/// plan fills in the rest in place.
pub(crate) fn named_state(name: &str, outputs: &[&str]) -> Value {
    let mut state = Value::object([("name", Value::from(name))]);
    for out in outputs {
        state.set(*out, Value::Null);
    }
    state.set("id", Value::from(name));
    state
}

/// Keep only errors (plan and apply; validation already showed the warnings).
pub(crate) fn errors_only(from: Diagnostics, into: &mut Diagnostics) {
    into.0
        .extend(from.0.into_iter().filter(|d| d.severity == Severity::Error));
}

/// `args` with every output set from `outputs`.
fn with_outputs(mut state: Value, outputs: Vec<(&'static str, Value)>) -> Value {
    for (k, v) in outputs {
        state.set(k, v);
    }
    state
}

/// `args` with every output unknown, except `id` when the name is known.
fn with_unknown_outputs<R: Renderer>(mut state: Value) -> Value {
    let name = state.get("name").clone();
    for out in R::OUTPUTS {
        let v = if *out == "id" && name.is_known() && !name.is_null() {
            name.clone()
        } else {
            Value::Unknown
        };
        state.set(*out, v);
    }
    state
}

/// Whether `prior` was rendered (not an import by name awaiting its first plan).
fn is_rendered<R: Renderer>(prior: &Value) -> bool {
    R::OUTPUTS
        .iter()
        .filter(|o| **o != "id")
        .any(|o| !prior.get(o).is_null())
}

/// Outputs rendered from a stored state's arguments (import, upgrade): null outputs when the
/// arguments do not render (the next plan reports why), or the stored outputs when `keep` has
/// them (an upgrade whose arguments moved to another resource: the next plan shows what the
/// new arguments render against what the host has).
fn rerender<R: Renderer>(args: Value, keep: Option<&Value>) -> Value {
    let mut scratch = Diagnostics::default();
    match R::render(&args, &mut scratch) {
        Some(outputs) if !scratch.has_errors() => with_outputs(args, outputs),
        _ if keep.is_some_and(is_rendered::<R>) => {
            let mut state = args;
            if let Some(stored) = keep {
                for out in R::OUTPUTS {
                    state.set(*out, stored.get(out).clone());
                }
            }
            state
        }
        _ => {
            let name = args.get("name").clone();
            let mut state = args;
            for out in R::OUTPUTS {
                state.set(*out, Value::Null);
            }
            state.set("id", name);
            state
        }
    }
}

#[async_trait]
impl<R: Renderer> Resource for Rendered<R> {
    fn type_name(&self) -> &'static str {
        R::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        R::schema()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let args = arguments::<R>(config);
        if args.is_wholly_known() {
            let _ = R::render(&args, diags);
        }
    }

    async fn plan(
        &self,
        request: PlanRequest<'_>,
        diags: &mut Diagnostics,
    ) -> Option<PlanResponse> {
        if request.proposed.is_null() {
            return Some(PlanResponse::default());
        }
        let args = arguments::<R>(request.proposed);
        let planned = if args.is_wholly_known() {
            let mut found = Diagnostics::default();
            let outputs = R::render(&args, &mut found);
            let failed = found.has_errors();
            errors_only(found, diags);
            match outputs {
                Some(outputs) if !failed => with_outputs(args, outputs),
                _ => return None,
            }
        } else {
            with_unknown_outputs::<R>(args)
        };
        let requires_replace = match request.prior {
            Some(prior) if is_rendered::<R>(prior) => R::replacements(prior, &planned),
            _ => Vec::new(),
        };
        Some(PlanResponse {
            planned,
            requires_replace,
        })
    }

    async fn apply(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Option<Value> {
        if request.planned.is_null() {
            // Destroy: the files live on the hosts' first boot, nothing to delete here.
            return Some(Value::Null);
        }
        let args = arguments::<R>(request.planned);
        if !args.is_wholly_known() {
            diags.error(
                "Arguments still unknown at apply",
                format!(
                    "Terraform passed unknown arguments to apply {}; this is a bug in the \
                     provider or in Terraform.",
                    R::TYPE_NAME
                ),
            );
            return None;
        }
        let mut found = Diagnostics::default();
        let outputs = R::render(&args, &mut found);
        let failed = found.has_errors();
        errors_only(found, diags);
        match outputs {
            Some(outputs) if !failed => {
                if let Some((target, at)) = R::bucket_to_verify(&args) {
                    let settings = crate::oci::provider_settings();
                    crate::oci::verify_bucket(&settings, &target, diags, Some(at)).await?;
                }
                Some(with_outputs(args, outputs))
            }
            _ => None,
        }
    }

    /// See the module documentation for the two ID forms.
    async fn import(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let trimmed = id.trim();
        if trimmed.starts_with('{') {
            let json: serde_json::Value = match serde_json::from_str(trimmed) {
                Ok(j) => j,
                Err(e) => {
                    diags.error(
                        "Import ID is not valid JSON",
                        format!("An import ID starting with `{{` must be a JSON object of the resource's arguments: {e}"),
                    );
                    return None;
                }
            };
            let schema = R::schema();
            return match from_json(&schema.block, &json, true) {
                Ok(state) => Some(rerender::<R>(arguments::<R>(&state), None)),
                Err(e) => {
                    diags.error(
                        "Import ID does not match the schema",
                        format!("{} import JSON: {e}", R::TYPE_NAME),
                    );
                    None
                }
            };
        }
        if trimmed.is_empty() {
            diags.error(
                "Empty import ID",
                "Give the resource's name, or a JSON object of its arguments.",
            );
            return None;
        }
        Some(named_state(trimmed, R::OUTPUTS))
    }

    async fn upgrade(
        &self,
        version: i64,
        prior: &serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let schema = R::schema();
        let current = schema.version;
        if !(0..current).contains(&version) {
            diags.error(
                "Unsupported schema version",
                format!(
                    "State was written with schema version {version} of {}; this provider \
                     reads versions 0 to {current}. Use a newer provider.",
                    R::TYPE_NAME
                ),
            );
            return None;
        }
        match from_json(&schema.block, prior, false) {
            // Version 0 kept secrets in `files`: never carried over.
            Ok(state) => Some(rerender::<R>(
                arguments::<R>(&state),
                (version >= 1).then_some(&state),
            )),
            Err(e) => {
                diags.error(
                    "Unreadable stored state",
                    format!(
                        "The stored {} state (schema version {version}) has an unexpected shape: {e}",
                        R::TYPE_NAME
                    ),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::etcd_member::EtcdMemberResource;

    /// Terraform refuses a state newer than the schema before asking the provider, so the
    /// provider's own refusal is reachable only through the trait.
    #[tokio::test]
    async fn upgrade_reads_older_versions_and_refuses_others() {
        let resource = Rendered::<EtcdMemberResource>::new();
        let prior = serde_json::json!({
            "name": "e1", "address": "10.0.0.1", "cluster_name": "pg",
            "members": {"e1": "10.0.0.1", "e2": "10.0.0.2", "e3": "10.0.0.3"},
            "env_file": "stale", "dropped_in_version_1": true
        });
        let mut diags = Diagnostics::default();
        let state = resource
            .upgrade(0, &prior, &mut diags)
            .await
            .expect("version 0 upgrades");
        assert!(diags.0.is_empty(), "{diags:?}");
        assert!(state
            .get("env_file")
            .as_str()
            .is_some_and(|e| e.contains("ETCD_NAME=\"e1\"")));
        assert_eq!(state.get("peer_url"), &Value::from("http://10.0.0.1:2380"));
        assert_eq!(state.get("dropped_in_version_1"), &Value::Null);

        for version in [-1, SCHEMA_VERSION + 1] {
            let mut diags = Diagnostics::default();
            assert!(resource
                .upgrade(version, &prior, &mut diags)
                .await
                .is_none());
            assert!(diags.has_errors(), "version {version}");
        }
    }
}
