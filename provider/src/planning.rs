//! Plan-time computation: "render when the inputs are known, else unknown".
//!
//! Terraform shows a computed attribute's value in the plan only if the provider fills it in
//! during `PlanResourceChange`; otherwise it shows `(known after apply)`. Our resources render
//! files at plan time so reviewers see them, but must never guess: when any input is unknown
//! the output is [`Value::Unknown`], and apply computes it from the then-known inputs with the
//! same function, so the applied value always equals a known planned value.

use tf_provider::value::Value;
use tf_provider::AttributePath;

use crate::value::Unknown;

/// Run `compute` and wrap its result: known on success, unknown when it hit an unknown input.
pub fn compute_if_known<T>(compute: impl FnOnce() -> Result<T, Unknown>) -> Value<T> {
    match compute() {
        Ok(v) => Value::Value(v),
        Err(Unknown) => Value::Unknown,
    }
}

/// Record that changing the attribute at `path` forces replacement when its planned value
/// differs from the prior one. An unknown planned value counts as a change, which is how
/// Terraform itself treats it (`# forces replacement` with `(known after apply)`).
pub fn replace_if_changed<T: PartialEq>(
    prior: &Value<T>,
    planned: &Value<T>,
    path: AttributePath,
    requires_replace: &mut Vec<AttributePath>,
) {
    if prior != planned {
        requires_replace.push(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{known_str, string};

    #[test]
    fn compute_if_known_marks_unknown_inputs() {
        let known: Value<String> = string("x");
        let unknown: Value<String> = Value::Unknown;
        let render = |v: &Value<String>| {
            compute_if_known(|| Ok(format!("{}!", known_str(v)?.unwrap_or(""))))
        };
        assert_eq!(render(&known), string("x!"));
        assert!(render(&unknown).is_unknown());
    }

    #[test]
    fn replace_only_when_changed_or_unknown() {
        let mut paths = Vec::new();
        replace_if_changed(
            &string("a"),
            &string("a"),
            AttributePath::new("name"),
            &mut paths,
        );
        assert!(paths.is_empty());
        replace_if_changed(
            &string("a"),
            &string("b"),
            AttributePath::new("name"),
            &mut paths,
        );
        replace_if_changed(
            &string("a"),
            &Value::Unknown,
            AttributePath::new("x"),
            &mut paths,
        );
        assert_eq!(
            paths,
            vec![AttributePath::new("name"), AttributePath::new("x")]
        );
    }
}
