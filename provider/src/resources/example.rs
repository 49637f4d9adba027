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
use serde::Deserialize;
use tfplugin::{
    ApplyRequest, Attribute, AttributePath, Block, Diagnostics, NestingMode, PlanRequest,
    PlanResponse, Resource, Schema, Value,
};

use crate::planning::{compute_if_known, known_list, known_str, replace_if_changed, Unknown};

/// Full type name, as used in configuration and in the docs.
pub const TYPE_NAME: &str = "pgha_example";

/// Current schema version; see [`ExampleResource::upgrade`] for older ones.
pub const SCHEMA_VERSION: i64 = 1;

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
    let item = Block::new("A key/value pair; keys must be unique.")
        .attribute(
            Attribute::string("key")
                .required()
                .describe("Key, unique among the items."),
        )
        .attribute(
            Attribute::string("value")
                .required()
                .describe("Value; may be empty."),
        );
    let block = Block::new(
        "Temporary resource that proves the provider's plumbing; it will be removed. \
         Renders its `name` and `item` blocks into `rendered` at plan time.",
    )
    .attribute(
        Attribute::string("id")
            .computed()
            .describe("Identifier of the resource; equal to `name`. Used by import."),
    )
    .attribute(Attribute::string("name").required().describe(
        "Name: lower-case letters, digits and `-`, starting with a letter. \
         Changing it replaces the resource.",
    ))
    .attribute(
        Attribute::string("sensitive")
            .sensitive()
            .describe("A secret that is stored in state but never shown or rendered."),
    )
    .attribute(Attribute::string("rendered").computed().describe(
        "`name` and every item as `key=value` lines, known at plan time when the inputs are.",
    ))
    .block("item", NestingMode::List, item);
    Schema {
        version: SCHEMA_VERSION,
        block,
    }
}

/// Whether `name` is acceptable; also used to validate import IDs.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Report every finding in `config`; unknown values are skipped, never guessed.
fn validate_config(diags: &mut Diagnostics, config: &Value) {
    if let Ok(Some(name)) = known_str(config.get("name")) {
        if !valid_name(name) {
            diags.error_at(
                AttributePath::new("name"),
                "Invalid name",
                format!(
                    "{name:?} is not a valid name: use lower-case letters, digits and '-', \
                     starting with a letter."
                ),
            );
        }
    }
    let Ok(items) = known_list(config.get("item")) else {
        return;
    };
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        let at = |field: &'static str| {
            AttributePath::new("item")
                .index(index as i64)
                .attribute(field)
        };
        if let Ok(Some(key)) = known_str(item.get("key")) {
            if let Some(first) = seen.get(key) {
                diags.error_at(
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
        if let Ok(Some("")) = known_str(item.get("value")) {
            diags.warning_at(
                at("value"),
                "Empty item value",
                "The item renders as `key=` with nothing after it; set a value or remove the item.",
            );
        }
    }
}

/// The rendered text, or [`Unknown`] if any input is not known yet.
fn render(state: &Value) -> Result<String, Unknown> {
    let name = known_str(state.get("name"))?.unwrap_or_default();
    let mut out = format!("# {name}\n");
    for item in known_list(state.get("item"))? {
        let key = known_str(item.get("key"))?.unwrap_or_default();
        let value = known_str(item.get("value"))?.unwrap_or_default();
        out.push_str(&format!("{key}={value}\n"));
    }
    Ok(out)
}

/// Fill the computed attributes: known now if the inputs are, else unknown.
fn plan_computed(mut state: Value) -> Value {
    let id = state.get("name").clone();
    let rendered = compute_if_known(|| render(&state));
    state.set("id", id);
    state.set("rendered", rendered);
    state
}

#[async_trait]
impl Resource for ExampleResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validate_config(diags, config);
    }

    async fn plan(
        &self,
        request: PlanRequest<'_>,
        _diags: &mut Diagnostics,
    ) -> Option<PlanResponse> {
        if request.proposed.is_null() {
            // Destroy: nothing to plan.
            return Some(PlanResponse::default());
        }
        let planned = plan_computed(request.proposed.clone());
        let mut requires_replace = Vec::new();
        if let Some(prior) = request.prior {
            replace_if_changed(
                prior.get("name"),
                planned.get("name"),
                AttributePath::new("name"),
                &mut requires_replace,
            );
        }
        Some(PlanResponse {
            planned,
            requires_replace,
        })
    }

    async fn apply(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Option<Value> {
        if request.planned.is_null() {
            // Destroy: nothing exists outside Terraform state.
            return Some(Value::Null);
        }
        let state = plan_computed(request.planned.clone());
        if !state.is_wholly_known() {
            diags.error(
                "Inputs still unknown at apply",
                "Terraform passed unknown values to apply; this is a bug in the provider or Terraform.",
            );
            return None;
        }
        if request.prior.is_none() {
            tracing::info!(name = ?state.get("name").as_str(), "created pgha_example");
        }
        Some(state)
    }

    /// Import ID: the resource's `name`. The items and the secret are not recoverable from an
    /// ID; the next plan shows them as an in-place update.
    async fn import(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        if !valid_name(id) {
            diags.error(
                "Invalid import ID",
                format!(
                    "Expected the resource's name (lower-case letters, digits, '-'), got {id:?}."
                ),
            );
            return None;
        }
        Some(plan_computed(Value::object([
            ("name", Value::from(id)),
            ("item", Value::List(Vec::new())),
        ])))
    }

    /// Version 0 → 1: the `items` map becomes `item` blocks in key order.
    async fn upgrade(
        &self,
        version: i64,
        prior: &serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        if version != 0 {
            diags.error(
                "Unsupported schema version",
                format!(
                    "State was written with schema version {version} of {TYPE_NAME}; this \
                     provider reads versions 0 to {SCHEMA_VERSION}. Use a newer provider."
                ),
            );
            return None;
        }
        let old: ExampleStateV0 = match serde_json::from_value(prior.clone()) {
            Ok(old) => old,
            Err(e) => {
                diags.error(
                    "Unreadable version 0 state",
                    format!("The stored {TYPE_NAME} state does not have the version 0 shape: {e}"),
                );
                return None;
            }
        };
        let items = old
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| Value::object([("key", key.into()), ("value", value.into())]))
            .collect();
        Some(plan_computed(Value::object([
            ("id", Value::from(old.id)),
            ("name", Value::from(old.name)),
            ("item", Value::List(items)),
            ("sensitive", Value::from(old.sensitive)),
        ])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::Severity;

    fn item(key: &str, value: &str) -> Value {
        Value::object([("key", key.into()), ("value", value.into())])
    }

    fn config(name: &str, items: Vec<Value>) -> Value {
        Value::object([("name", Value::from(name)), ("item", Value::List(items))])
    }

    #[test]
    fn validation_reports_paths_and_skips_unknowns() {
        let mut diags = Diagnostics::default();
        let cfg = config(
            "Bad Name",
            vec![item("a", "1"), item("b", ""), item("a", "2")],
        );
        validate_config(&mut diags, &cfg);
        let at = |severity| -> Vec<_> {
            diags
                .0
                .iter()
                .filter(|d| d.severity == severity)
                .map(|d| d.attribute.clone())
                .collect()
        };
        assert_eq!(
            at(Severity::Error),
            vec![
                Some(AttributePath::new("name")),
                Some(AttributePath::new("item").index(2).attribute("key")),
            ]
        );
        assert_eq!(
            at(Severity::Warning),
            vec![Some(AttributePath::new("item").index(1).attribute("value"))]
        );

        let mut diags = Diagnostics::default();
        let cfg = Value::object([
            ("name", Value::Unknown),
            (
                "item",
                Value::List(vec![
                    Value::object([("key", Value::Unknown), ("value", "x".into())]),
                    item("a", "1"),
                ]),
            ),
        ]);
        validate_config(&mut diags, &cfg);
        assert!(diags.0.is_empty(), "{diags:?}");
    }

    #[test]
    fn rendered_is_known_only_when_inputs_are() {
        let planned = plan_computed(config("alpha", vec![item("k", "v")]));
        assert_eq!(planned.get("rendered"), &Value::from("# alpha\nk=v\n"));
        assert_eq!(planned.get("id"), &Value::from("alpha"));

        let cfg = config(
            "alpha",
            vec![Value::object([
                ("key", "k".into()),
                ("value", Value::Unknown),
            ])],
        );
        assert_eq!(plan_computed(cfg).get("rendered"), &Value::Unknown);
    }

    #[test]
    fn secret_never_reaches_rendered() {
        let mut cfg = config("alpha", vec![item("k", "v")]);
        cfg.set("sensitive", "hunter2-hunter2".into());
        let planned = plan_computed(cfg);
        let rendered = planned.get("rendered").as_str().expect("rendered known");
        assert!(!rendered.contains("hunter2"));
    }

    #[test]
    fn valid_names() {
        assert!(valid_name("alpha-1"));
        for bad in ["", "1abc", "Alpha", "a b", "a_b"] {
            assert!(!valid_name(bad), "{bad:?} accepted");
        }
    }

    #[tokio::test]
    async fn version_0_state_upgrades_to_item_blocks() {
        let prior = serde_json::json!({
            "id": "alpha", "name": "alpha", "items": {"b": "2", "a": "1"},
            "sensitive": null, "rendered": "old"
        });
        let mut diags = Diagnostics::default();
        let state = ExampleResource
            .upgrade(0, &prior, &mut diags)
            .await
            .expect("upgraded");
        assert!(diags.0.is_empty());
        assert_eq!(
            state.get("item"),
            &Value::List(vec![item("a", "1"), item("b", "2")])
        );
        assert_eq!(state.get("rendered"), &Value::from("# alpha\na=1\nb=2\n"));
        assert_eq!(state.get("items"), &Value::Null);

        let mut diags = Diagnostics::default();
        assert!(ExampleResource
            .upgrade(7, &prior, &mut diags)
            .await
            .is_none());
        assert!(diags.has_errors());
    }
}
