//! Errors and warnings at attribute paths.
//!
//! Terraform uses a diagnostic's attribute path to point at the offending line of the user's
//! configuration (`on main.tf line 7 ... key = "a"`), so every validation finding about one
//! value must carry the path of that value: `item[1].key` is `item` → index 1 → `key`.
//! The library reports findings at model paths such as `nodes[1].patroni.ttl`; resources map
//! those onto their own attribute paths and report them here.

use std::borrow::Cow;

use tf_provider::{AttributePath, AttributePathStep, Diagnostics};

/// How serious a finding is. Errors stop `validate`, `plan` and `apply`; warnings are shown
/// and the run continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Stops the run.
    Error,
    /// Shown; the run continues.
    Warning,
}

/// A path written as text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The text is empty or has an empty segment (`a..b`).
    #[error("empty attribute name in path {0:?}")]
    EmptySegment(String),
    /// A `[` without its `]`, or something other than a number or a quoted key inside.
    #[error("invalid subscript in path {0:?}")]
    BadSubscript(String),
}

/// Parse a path written the way Terraform prints it: `item[1].key`, `labels["app"]`.
///
/// Lets tests and resource code write paths as text; the result is what Terraform needs.
pub fn parse_path(text: &str) -> Result<AttributePath, PathError> {
    let mut path = AttributePath::root();
    let mut rest = text;
    let mut expect_name = true;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let close = after
                .find(']')
                .ok_or_else(|| PathError::BadSubscript(text.to_owned()))?;
            let inner = &after[..close];
            if let Some(key) = inner.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
                path.add_key(key.to_owned());
            } else {
                let index: i64 = inner
                    .parse()
                    .map_err(|_| PathError::BadSubscript(text.to_owned()))?;
                path.add_index(index);
            }
            rest = &after[close + 1..];
            expect_name = false;
        } else {
            let body = if expect_name {
                rest
            } else {
                rest.strip_prefix('.')
                    .ok_or_else(|| PathError::BadSubscript(text.to_owned()))?
            };
            let end = body.find(['.', '[']).unwrap_or(body.len());
            let name = &body[..end];
            if name.is_empty() {
                return Err(PathError::EmptySegment(text.to_owned()));
            }
            path.add_attribute(name.to_owned());
            rest = &body[end..];
            expect_name = false;
        }
    }
    if path.steps.is_empty() {
        return Err(PathError::EmptySegment(text.to_owned()));
    }
    Ok(path)
}

/// Render a path the way Terraform writes it (`item[1].key`); used in messages and tests.
pub fn display_path(path: &AttributePath) -> String {
    let mut out = String::new();
    for step in &path.steps {
        match step {
            AttributePathStep::Attribute(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            AttributePathStep::Key(key) => out.push_str(&format!("[{key:?}]")),
            AttributePathStep::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Add a finding at `path`. `summary` is the one-line headline Terraform prints after
/// `Error:`; `detail` explains and suggests a fix. Never put secret values in either: they
/// are printed verbatim.
pub fn report(
    diags: &mut Diagnostics,
    severity: Severity,
    path: AttributePath,
    summary: impl Into<Cow<'static, str>>,
    detail: impl Into<Cow<'static, str>>,
) {
    match severity {
        Severity::Error => diags.error(summary, detail, path),
        Severity::Warning => diags.warning(summary, detail, path),
    }
}

/// Whether any error was reported (warnings do not count).
pub fn has_errors(diags: &Diagnostics) -> bool {
    !diags.errors.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_attributes_indexes_and_keys() {
        let path = parse_path("item[1].key").expect("valid");
        assert_eq!(path, AttributePath::new("item").index(1).attribute("key"));
        let path = parse_path("labels[\"app.kubernetes.io/name\"]").expect("valid");
        assert_eq!(
            path,
            AttributePath::new("labels").key("app.kubernetes.io/name")
        );
        let path = parse_path("nodes[0].patroni.bootstrap").expect("valid");
        assert_eq!(display_path(&path), "nodes[0].patroni.bootstrap");
    }

    #[test]
    fn rejects_malformed_paths() {
        assert!(matches!(parse_path(""), Err(PathError::EmptySegment(_))));
        assert!(matches!(
            parse_path("a..b"),
            Err(PathError::EmptySegment(_))
        ));
        assert!(matches!(parse_path("a[1"), Err(PathError::BadSubscript(_))));
        assert!(matches!(
            parse_path("a[x]"),
            Err(PathError::BadSubscript(_))
        ));
        assert!(matches!(
            parse_path("a[1]b"),
            Err(PathError::BadSubscript(_))
        ));
    }

    #[test]
    fn report_sorts_by_severity() {
        let mut diags = Diagnostics::default();
        report(
            &mut diags,
            Severity::Warning,
            AttributePath::new("a"),
            "w",
            "",
        );
        assert!(!has_errors(&diags));
        report(
            &mut diags,
            Severity::Error,
            AttributePath::new("b"),
            "e",
            "",
        );
        assert!(has_errors(&diags));
        assert_eq!(diags.warnings[0].attribute, AttributePath::new("a"));
        assert_eq!(diags.errors[0].attribute, AttributePath::new("b"));
    }
}
