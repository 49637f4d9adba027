//! Plan-time helpers: "render when the inputs are known, else unknown".
//!
//! Terraform shows a computed attribute's value in the plan only if the provider fills it in
//! during `PlanResourceChange`; otherwise it shows `(known after apply)`. Our resources render
//! files at plan time so reviewers see them, but must never guess: when any input is unknown
//! the output is [`Value::Unknown`], and apply computes it from the then-known inputs with the
//! same function, so the applied value always equals a known planned value.

use tfplugin::{AttributePath, Value};

/// Marker error: an input needed for a computation is not known yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("value not known until apply")]
pub struct Unknown;

/// The string in `value`: `Ok(None)` when null, `Err(Unknown)` when unknown, `Ok(Some(""))`
/// for any other type is never returned (non-strings read as `None`).
pub fn known_str(value: &Value) -> Result<Option<&str>, Unknown> {
    match value {
        Value::Unknown => Err(Unknown),
        other => Ok(other.as_str()),
    }
}

/// The elements of a list or set: empty when null, `Err(Unknown)` when unknown.
pub fn known_list(value: &Value) -> Result<&[Value], Unknown> {
    match value {
        Value::Unknown => Err(Unknown),
        other => Ok(other.as_list().unwrap_or(&[])),
    }
}

/// Run `compute` and wrap its result: known on success, unknown when it hit an unknown input.
pub fn compute_if_known<T: Into<Value>>(compute: impl FnOnce() -> Result<T, Unknown>) -> Value {
    match compute() {
        Ok(v) => v.into(),
        Err(Unknown) => Value::Unknown,
    }
}

/// Record that changing the attribute at `path` forces replacement when its planned value
/// differs from the prior one. An unknown planned value counts as a change, which is how
/// Terraform itself treats it (`# forces replacement` with `(known after apply)`).
pub fn replace_if_changed(
    prior: &Value,
    planned: &Value,
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

    #[test]
    fn compute_if_known_marks_unknown_inputs() {
        let render =
            |v: &Value| compute_if_known(|| Ok(format!("{}!", known_str(v)?.unwrap_or(""))));
        assert_eq!(render(&Value::from("x")), Value::from("x!"));
        assert_eq!(render(&Value::Null), Value::from("!"));
        assert_eq!(render(&Value::Unknown), Value::Unknown);
    }

    #[test]
    fn known_list_tells_null_from_unknown() {
        assert_eq!(known_list(&Value::Null), Ok(&[][..]));
        assert_eq!(known_list(&Value::Unknown), Err(Unknown));
        let list = Value::from(vec!["a"]);
        assert_eq!(known_list(&list).map(<[Value]>::len), Ok(1));
    }

    #[test]
    fn replace_only_when_changed_or_unknown() {
        let mut paths = Vec::new();
        let a = Value::from("a");
        replace_if_changed(&a, &a, AttributePath::new("name"), &mut paths);
        assert!(paths.is_empty());
        replace_if_changed(
            &a,
            &Value::from("b"),
            AttributePath::new("name"),
            &mut paths,
        );
        replace_if_changed(&a, &Value::Unknown, AttributePath::new("x"), &mut paths);
        assert_eq!(
            paths,
            vec![AttributePath::new("name"), AttributePath::new("x")]
        );
    }
}
