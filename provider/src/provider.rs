//! The provider itself: its (empty) configuration and the list of resources and data sources.

use std::collections::HashMap;

use async_trait::async_trait;
use tf_provider::schema::Schema;
use tf_provider::value::ValueEmpty;
use tf_provider::{Diagnostics, DynamicProvider};
use tf_provider::{DynamicDataSource, DynamicResource, Provider};

use crate::schema::BlockBuilder;

/// Markdown description of the provider, shown at the top of `docs/index.md`.
pub const DESCRIPTION: &str = "Models, validates and renders the configuration of a highly \
available PostgreSQL cluster (Patroni, etcd, pgBackRest). Files are rendered at plan time so \
`terraform plan` shows every change, and each host gets a cloud-init document for \
`oci_core_instance.metadata.user_data`. The provider takes no configuration and never \
connects anywhere while planning.";

/// The `pgha` provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct PghaProvider;

/// The provider block's schema: no arguments (everything lives on the resources).
pub fn schema() -> Schema {
    BlockBuilder::new(DESCRIPTION).schema(0)
}

#[async_trait]
impl Provider for PghaProvider {
    type Config<'a> = ValueEmpty;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema())
    }

    async fn configure<'a>(
        &self,
        _diags: &mut Diagnostics,
        terraform_version: String,
        _config: Self::Config<'a>,
    ) -> Option<()> {
        // Deliberately no network access here: plans must work without reachable hosts.
        tracing::debug!(terraform_version, "provider configured");
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        Some(crate::resources::all())
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(crate::data_sources::all())
    }
}

/// Schemas of everything the provider serves, keyed by full type name (`pgha_example`), in
/// name order. Used by the docs generator; goes through the same trait calls as the server.
pub struct Schemas {
    /// The provider block.
    pub provider: Schema,
    /// Managed resources.
    pub resources: Vec<(String, Schema)>,
    /// Data sources.
    pub data_sources: Vec<(String, Schema)>,
}

/// Collect [`Schemas`]; fails with the diagnostics' summaries if any schema is missing.
pub fn schemas() -> Result<Schemas, String> {
    let provider = PghaProvider;
    let mut diags = Diagnostics::default();
    let full = |name: String| format!("{}_{}", crate::PROVIDER_NAME, name);
    let provider_schema = DynamicProvider::schema(&provider, &mut diags);
    let mut resources: Vec<(String, Schema)> =
        DynamicProvider::get_resources(&provider, &mut diags)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, r)| Some((full(name), r.schema(&mut diags)?)))
            .collect();
    let mut data_sources: Vec<(String, Schema)> =
        DynamicProvider::get_data_sources(&provider, &mut diags)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, d)| Some((full(name), d.schema(&mut diags)?)))
            .collect();
    resources.sort_by(|a, b| a.0.cmp(&b.0));
    data_sources.sort_by(|a, b| a.0.cmp(&b.0));
    match provider_schema {
        Some(provider) if diags.errors.is_empty() => Ok(Schemas {
            provider,
            resources,
            data_sources,
        }),
        _ => Err(diags
            .errors
            .iter()
            .map(|d| d.summary.to_string())
            .collect::<Vec<_>>()
            .join("; ")),
    }
}
