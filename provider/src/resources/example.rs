//! `pgha_example`: a deliberately small resource that exercises every part of the plumbing the
//! real resources need (nested blocks, a sensitive attribute, a computed value rendered at
//! plan time, validation with attribute paths, requires-replace, import, and a state upgrade
//! from schema version 0). It is temporary: the real resources replace it, and they should
//! follow this module's shape (schema, validation, plan and apply together in one file).
//!
//! Version 0 of the schema stored the items as a map attribute `items = { key = value }`;
//! version 1 uses repeated `item { key, value }` blocks, which keep the order and let a
//! diagnostic point at one item.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, RawValue, Resource};

use crate::diagnostic::{report, Severity};
use crate::planning::{compute_if_known, replace_if_changed};
use crate::schema::{Attr, BlockBuilder};
use crate::value::{known_list, known_str, string, Unknown};

/// Full type name, as used in configuration and in the docs.
pub const TYPE_NAME: &str = "pgha_example";

/// Current schema version; see [`ExampleResource::upgrade`] for older ones.
pub const SCHEMA_VERSION: i64 = 1;

/// State, plan and configuration of `pgha_example`: one field per schema attribute or block.
///
/// Every field is a `Value` because any of them may be null or unknown; owned `String`s keep
/// the struct free of lifetimes (tf-provider's `State<'a>` then is this type for every `'a`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExampleState {
    /// Computed: the resource's identifier, equal to `name`.
    pub id: Value<String>,
    /// Required; changing it replaces the resource.
    pub name: Value<String>,
    /// Repeated nested block.
    pub item: Value<Vec<Item>>,
    /// Optional, sensitive; never rendered.
    pub sensitive: Value<String>,
    /// Computed at plan time from `name` and `item` when they are known.
    pub rendered: Value<String>,
}

/// One `item { key = ..., value = ... }` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Unique among the items.
    pub key: Value<String>,
    /// May be empty (with a warning).
    pub value: Value<String>,
}

/// State as stored by schema version 0.
#[derive(Debug, Deserialize)]
struct ExampleStateV0 {
    id: Option<String>,
    name: Option<String>,
    items: Option<BTreeMap<String, String>>,
    sensitive: Option<String>,
}

/// The resource; holds no data, everything lives in Terraform state.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExampleResource;

/// The schema, separate from the trait so the docs generator and tests can call it directly.
pub fn schema() -> Schema {
    BlockBuilder::new(
        "Temporary resource that proves the provider's plumbing; it will be removed. \
         Renders its `name` and `item` blocks into `rendered` at plan time.",
    )
    .attr(
        "id",
        Attr::string()
            .computed()
            .describe("Identifier of the resource; equal to `name`. Used by import."),
    )
    .attr(
        "name",
        Attr::string().required().describe(
            "Name: lower-case letters, digits and `-`, starting with a letter. \
             Changing it replaces the resource.",
        ),
    )
    .attr(
        "sensitive",
        Attr::string()
            .optional()
            .sensitive()
            .describe("A secret that is stored in state but never shown or rendered."),
    )
    .attr(
        "rendered",
        Attr::string().computed().describe(
            "`name` and every item as `key=value` lines, known at plan time when the inputs are.",
        ),
    )
    .list_block(
        "item",
        BlockBuilder::new("A key/value pair; keys must be unique.")
            .attr(
                "key",
                Attr::string()
                    .required()
                    .describe("Key, unique among the items."),
            )
            .attr(
                "value",
                Attr::string().required().describe("Value; may be empty."),
            ),
    )
    .schema(SCHEMA_VERSION)
}

/// Whether `name` is acceptable; also used to validate import IDs.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Report every finding in `config`; unknown values are skipped, never guessed.
fn validate_config(diags: &mut Diagnostics, config: &ExampleState) {
    if let Ok(Some(name)) = known_str(&config.name) {
        if !valid_name(name) {
            report(
                diags,
                Severity::Error,
                AttributePath::new("name"),
                "Invalid name",
                format!(
                    "{name:?} is not a valid name: use lower-case letters, digits and '-', \
                     starting with a letter."
                ),
            );
        }
    }
    let Ok(items) = known_list(&config.item) else {
        return;
    };
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        let at = |field: &'static str| {
            AttributePath::new("item")
                .index(index as i64)
                .attribute(field)
        };
        if let Ok(Some(key)) = known_str(&item.key) {
            if let Some(first) = seen.get(key) {
                report(
                    diags,
                    Severity::Error,
                    at("key"),
                    "Duplicate item key",
                    format!(
                        "The key {key:?} is already used by item {first}; keys must be unique."
                    ),
                );
            } else {
                seen.insert(key, index);
            }
        }
        if let Ok(Some("")) = known_str(&item.value) {
            report(
                diags,
                Severity::Warning,
                at("value"),
                "Empty item value",
                "The item renders as `key=` with nothing after it; set a value or remove the item.",
            );
        }
    }
}

/// The rendered text, or [`Unknown`] if any input is not known yet.
fn render(state: &ExampleState) -> Result<String, Unknown> {
    let name = known_str(&state.name)?.unwrap_or_default();
    let mut out = format!("# {name}\n");
    for item in known_list(&state.item)? {
        let key = known_str(&item.key)?.unwrap_or_default();
        let value = known_str(&item.value)?.unwrap_or_default();
        out.push_str(&format!("{key}={value}\n"));
    }
    Ok(out)
}

/// Fill the computed attributes: known now if the inputs are, else unknown.
fn plan_computed(mut state: ExampleState) -> ExampleState {
    state.id = state.name.clone();
    state.rendered = compute_if_known(|| render(&state));
    state
}

/// Fill the computed attributes at apply time, when every input must be known.
fn apply_computed(diags: &mut Diagnostics, planned: ExampleState) -> Option<ExampleState> {
    let state = plan_computed(planned);
    if state.rendered.is_unknown() || state.id.is_unknown() {
        diags.root_error(
            "Inputs still unknown at apply",
            "Terraform passed unknown values to apply; this is a bug in the provider or Terraform.",
        );
        return None;
    }
    Some(state)
}

#[async_trait]
impl Resource for ExampleResource {
    type State<'a> = ExampleState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        validate_config(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        _diags: &mut Diagnostics,
        state: Self::State<'a>,
        private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        // Nothing exists outside Terraform state, so the state is the truth.
        Some((state, private_state))
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        Some((plan_computed(proposed_state), ValueEmpty::Null))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        proposed_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let planned = plan_computed(proposed_state);
        let mut requires_replace = Vec::new();
        replace_if_changed(
            &prior_state.name,
            &planned.name,
            AttributePath::new("name"),
            &mut requires_replace,
        );
        Some((planned, prior_private_state, requires_replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(prior_private_state)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        planned_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let state = apply_computed(diags, planned_state)?;
        tracing::info!(name = ?state.name, "created pgha_example");
        Some((state, planned_private_state))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior_state: Self::State<'a>,
        planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        planned_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let state = apply_computed(diags, planned_state)?;
        Some((state, planned_private_state))
    }

    async fn destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: Self::State<'a>,
        _planned_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        Some(())
    }

    /// Import ID: the resource's `name`. The items and the secret are not recoverable from an
    /// ID; the next plan shows them as an in-place update.
    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        if !valid_name(&id) {
            diags.root_error(
                "Invalid import ID",
                format!(
                    "Expected the resource's name (lower-case letters, digits, '-'), got {id:?}."
                ),
            );
            return None;
        }
        let state = plan_computed(ExampleState {
            id: Value::Null,
            name: string(id),
            item: Value::Value(Vec::new()),
            sensitive: Value::Null,
            rendered: Value::Null,
        });
        Some((state, ValueEmpty::Null))
    }

    /// Version 0 → 1: the `items` map becomes `item` blocks in key order.
    async fn upgrade<'a>(
        &self,
        diags: &mut Diagnostics,
        version: i64,
        prior_state: RawValue,
    ) -> Option<Self::State<'a>> {
        if version != 0 {
            diags.root_error(
                "Unsupported schema version",
                format!(
                    "State was written with schema version {version} of {TYPE_NAME}; this \
                     provider reads versions 0 to {SCHEMA_VERSION}. Use a newer provider."
                ),
            );
            return None;
        }
        let old: ExampleStateV0 = prior_state.deserialize(diags)?;
        let items = old
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| Item {
                key: string(key),
                value: string(value),
            })
            .collect();
        let state = ExampleState {
            id: old.id.into(),
            name: old.name.into(),
            item: Value::Value(items),
            sensitive: old.sensitive.into(),
            rendered: Value::Null,
        };
        Some(plan_computed(state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, value: &str) -> Item {
        Item {
            key: string(key),
            value: string(value),
        }
    }

    fn config(name: &str, items: Vec<Item>) -> ExampleState {
        ExampleState {
            name: string(name),
            item: Value::Value(items),
            ..Default::default()
        }
    }

    #[test]
    fn validation_reports_paths_and_skips_unknowns() {
        let mut diags = Diagnostics::default();
        let cfg = config(
            "Bad Name",
            vec![item("a", "1"), item("b", ""), item("a", "2")],
        );
        validate_config(&mut diags, &cfg);
        let errors: Vec<_> = diags.errors.iter().map(|d| d.attribute.clone()).collect();
        assert_eq!(
            errors,
            vec![
                AttributePath::new("name"),
                AttributePath::new("item").index(2).attribute("key"),
            ]
        );
        assert_eq!(
            diags.warnings[0].attribute,
            AttributePath::new("item").index(1).attribute("value")
        );

        let mut diags = Diagnostics::default();
        let mut cfg = config("ok", vec![item("a", "1")]);
        cfg.name = Value::Unknown;
        cfg.item = Value::Value(vec![
            Item {
                key: Value::Unknown,
                value: string("x"),
            },
            item("a", "1"),
        ]);
        validate_config(&mut diags, &cfg);
        assert!(diags.errors.is_empty() && diags.warnings.is_empty());
    }

    #[test]
    fn rendered_is_known_only_when_inputs_are() {
        let planned = plan_computed(config("alpha", vec![item("k", "v")]));
        assert_eq!(planned.rendered, string("# alpha\nk=v\n"));
        assert_eq!(planned.id, string("alpha"));

        let mut cfg = config("alpha", vec![item("k", "v")]);
        cfg.item = Value::Value(vec![Item {
            key: string("k"),
            value: Value::Unknown,
        }]);
        assert!(plan_computed(cfg).rendered.is_unknown());
    }

    #[test]
    fn secret_never_reaches_rendered() {
        let mut cfg = config("alpha", vec![item("k", "v")]);
        cfg.sensitive = string("hunter2-hunter2");
        let planned = plan_computed(cfg);
        let rendered = planned.rendered.as_option().expect("rendered known");
        assert!(!rendered.contains("hunter2"));
    }

    #[test]
    fn valid_names() {
        assert!(valid_name("alpha-1"));
        for bad in ["", "1abc", "Alpha", "a b", "a_b"] {
            assert!(!valid_name(bad), "{bad:?} accepted");
        }
    }
}
