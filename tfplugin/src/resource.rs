//! What a provider implements: the provider itself, its resources and data sources.

use std::sync::Arc;

use async_trait::async_trait;

use crate::diagnostics::{AttributePath, Diagnostics};
use crate::schema::Schema;
use crate::value::Value;

/// A planned change (`PlanResourceChange`).
#[derive(Debug, Clone, Copy)]
pub struct PlanRequest<'a> {
    /// Current state; `None` when the resource is being created.
    pub prior: Option<&'a Value>,
    /// Terraform's proposed new state: the configuration, with computed attributes taken from
    /// the prior state. [`Value::Null`] when the resource is being destroyed.
    pub proposed: &'a Value,
    /// The configuration as written (may contain unknowns).
    pub config: &'a Value,
}

/// The provider's plan.
#[derive(Debug, Clone, Default)]
pub struct PlanResponse {
    /// The planned state: computed attributes set, or [`Value::Unknown`] where they cannot be
    /// known before apply.
    pub planned: Value,
    /// Attributes whose change forces replacement.
    pub requires_replace: Vec<AttributePath>,
}

/// A change to carry out (`ApplyResourceChange`).
#[derive(Debug, Clone, Copy)]
pub struct ApplyRequest<'a> {
    /// Current state; `None` on create.
    pub prior: Option<&'a Value>,
    /// The planned state; [`Value::Null`] on destroy.
    pub planned: &'a Value,
    /// The configuration (wholly known at apply).
    pub config: &'a Value,
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync {
    /// Full type name, such as `pgha_etcd_member`.
    fn type_name(&self) -> &'static str;

    /// The schema.
    fn schema(&self) -> Schema;

    /// `ValidateResourceConfig`: check the configuration. Values may be unknown; never guess.
    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let _ = (config, diags);
    }

    /// `PlanResourceChange`. The default plans the proposed state unchanged.
    async fn plan(
        &self,
        request: PlanRequest<'_>,
        diags: &mut Diagnostics,
    ) -> Option<PlanResponse> {
        let _ = diags;
        Some(PlanResponse {
            planned: request.proposed.clone(),
            requires_replace: Vec::new(),
        })
    }

    /// `ApplyResourceChange`: returns the new state ([`Value::Null`] after a destroy). Every
    /// value known at plan time must come back unchanged.
    async fn apply(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Option<Value>;

    /// `ReadResource`: the current state, [`Value::Null`] when the object is gone. The default
    /// returns the state unchanged.
    async fn read(&self, state: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let _ = diags;
        Some(state.clone())
    }

    /// `ImportResourceState`: a state from an import ID. Terraform calls [`Resource::read`] on
    /// it next. The default refuses.
    async fn import(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        diags.error(
            format!("{} cannot be imported", self.type_name()),
            format!("import ID {id:?} was not used"),
        );
        None
    }

    /// `UpgradeResourceState`: a state stored under an older schema `version`, as JSON, turned
    /// into the current shape. Only called when `version` differs from the schema's.
    async fn upgrade(
        &self,
        version: i64,
        prior: &serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let _ = prior;
        diags.error(
            format!("{} cannot upgrade state version {version}", self.type_name()),
            "This provider version does not know that state version; use the provider version that wrote it.",
        );
        None
    }
}

/// A data source type.
#[async_trait]
pub trait DataSource: Send + Sync {
    /// Full type name, such as `pgha_pgbackrest_backups`.
    fn type_name(&self) -> &'static str;

    /// The schema.
    fn schema(&self) -> Schema;

    /// `ValidateDataResourceConfig`.
    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let _ = (config, diags);
    }

    /// `ReadDataSource`: the configuration with computed attributes filled in.
    async fn read(&self, config: &Value, diags: &mut Diagnostics) -> Option<Value>;
}

/// The provider.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider block's schema.
    fn schema(&self) -> Schema;

    /// `ConfigureProvider`. Must not connect anywhere (plan must work offline).
    async fn configure(&self, config: &Value, diags: &mut Diagnostics) {
        let _ = (config, diags);
    }

    /// The resource types.
    fn resources(&self) -> Vec<Arc<dyn Resource>>;

    /// The data source types.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
    }
}
