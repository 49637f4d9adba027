//! The provider itself: its configuration (OCI settings) and its resources and data sources.

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::{Block, DataSource, Diagnostics, Provider, Resource, Schema, Value};

/// Markdown description of the provider, shown at the top of `docs/index.md`.
pub const DESCRIPTION: &str = "Models, validates and renders the configuration of a highly \
available PostgreSQL cluster (Patroni, etcd, pgBackRest). Files are rendered at plan time so \
`terraform plan` shows every change, and each host gets a cloud-init document for \
`oci_core_instance.metadata.user_data`. Resources never connect anywhere while planning. \
The provider block only takes OCI API-key settings, spelled as for the OCI provider and all \
optional; they are used (and resolved) only when something reads OCI Object Storage, such as \
the `pgha_pgbackrest_backups` data source.";

/// The `pgha` provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct PghaProvider;

/// The provider block's schema: only the optional OCI settings (see [`crate::oci`]);
/// everything else lives on the resources.
pub fn schema() -> Schema {
    let mut block = Block::new(DESCRIPTION);
    block.attributes.extend(crate::oci::provider_attributes());
    Schema { version: 0, block }
}

#[async_trait]
impl Provider for PghaProvider {
    fn schema(&self) -> Schema {
        schema()
    }

    async fn configure(&self, config: &Value, diags: &mut Diagnostics) {
        // Deliberately no network access here: plans must work without reachable hosts. The
        // OCI settings are only recorded; they are resolved when an OCI call needs them.
        crate::oci::configure(config, diags);
        tracing::debug!("provider configured");
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        crate::resources::all()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        crate::data_sources::all()
    }
}

/// Schemas of everything the provider serves, keyed by full type name (`pgha_etcd_member`), in
/// name order. Used by the docs generator; goes through the same trait calls as the server.
pub struct Schemas {
    /// The provider block.
    pub provider: Schema,
    /// Managed resources.
    pub resources: Vec<(String, Schema)>,
    /// Data sources.
    pub data_sources: Vec<(String, Schema)>,
}

/// Collect [`Schemas`]; fails when two types share a name or a name lacks the `pgha_` prefix.
pub fn schemas() -> Result<Schemas, String> {
    let provider = PghaProvider;
    let mut resources: Vec<(String, Schema)> = Provider::resources(&provider)
        .iter()
        .map(|r| (r.type_name().to_owned(), r.schema()))
        .collect();
    let mut data_sources: Vec<(String, Schema)> = Provider::data_sources(&provider)
        .iter()
        .map(|d| (d.type_name().to_owned(), d.schema()))
        .collect();
    resources.sort_by(|a, b| a.0.cmp(&b.0));
    data_sources.sort_by(|a, b| a.0.cmp(&b.0));
    let prefix = format!("{}_", crate::PROVIDER_NAME);
    let mut problems = Vec::new();
    for list in [&resources, &data_sources] {
        for pair in list.windows(2) {
            if pair[0].0 == pair[1].0 {
                problems.push(format!("{} is registered twice", pair[0].0));
            }
        }
        for (name, _) in list.iter() {
            if !name.starts_with(&prefix) {
                problems.push(format!("{name} does not start with {prefix}"));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    Ok(Schemas {
        provider: Provider::schema(&provider),
        resources,
        data_sources,
    })
}
