//! Diagnostics: what validation and lint report.
//!
//! A diagnostic has a stable code (so tools and docs can refer to it), a severity, a location
//! (a path into the model, or a line and column in a file), a message that says what is wrong and a
//! hint that says what to do next. Validation and lint collect every diagnostic they find; they
//! never stop at the first one.

use std::fmt;

use serde::{Serialize, Serializer};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; the cluster works as configured.
    Info,
    /// Works, but is risky, deprecated or probably not what was meant.
    Warning,
    /// Broken: the tool rejects it, silently ignores it, or the cluster will not work.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One step of a [`ModelPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A field or map key.
    Key(String),
    /// A position in a list.
    Index(usize),
}

/// A path into the cluster model, such as `nodes[1].tags.nofailover`.
///
/// Kept as segments rather than a string so that the Terraform provider can map a model path onto
/// the attribute path of the resource that set the value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ModelPath(pub Vec<Segment>);

impl ModelPath {
    /// The empty path: the model as a whole.
    pub fn root() -> Self {
        ModelPath(Vec::new())
    }

    /// Parses the dotted form (`nodes[1].tags.nofailover`). Keys may not contain `.` or `[`.
    pub fn parse(text: &str) -> Self {
        let mut segments = Vec::new();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let mut rest = part;
            if let Some(open) = rest.find('[') {
                if open > 0 {
                    segments.push(Segment::Key(rest[..open].to_string()));
                }
                rest = &rest[open..];
                while let Some(stripped) = rest.strip_prefix('[') {
                    let Some(close) = stripped.find(']') else {
                        segments.push(Segment::Key(rest.to_string()));
                        break;
                    };
                    match stripped[..close].parse::<usize>() {
                        Ok(i) => segments.push(Segment::Index(i)),
                        Err(_) => segments.push(Segment::Key(stripped[..close].to_string())),
                    }
                    rest = &stripped[close + 1..];
                }
            } else {
                segments.push(Segment::Key(rest.to_string()));
            }
        }
        ModelPath(segments)
    }

    /// This path with one more key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.into()));
        p
    }

    /// This path with one more list index.
    pub fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(index));
        p
    }
}

impl fmt::Display for ModelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Segment::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

impl Serialize for ModelPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where a diagnostic points.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// A value in the cluster model.
    Model(ModelPath),
    /// A position in a file (1-based line and column; column 0 when only the line is known).
    File {
        /// The file's name as the user gave it.
        file: String,
        /// 1-based line, 0 when the whole file is meant.
        line: usize,
        /// 1-based column, 0 when the whole line is meant.
        column: usize,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Model(p) if p.0.is_empty() => f.write_str("(cluster)"),
            Location::Model(p) => write!(f, "{p}"),
            Location::File { file, line, column } => match (line, column) {
                (0, _) => write!(f, "{file}"),
                (l, 0) => write!(f, "{file}:{l}"),
                (l, c) => write!(f, "{file}:{l}:{c}"),
            },
        }
    }
}

impl Serialize for Location {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One finding of validation or lint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Diagnostic {
    /// Stable identifier, e.g. `P101`. The first letter names the area: `C` cluster-wide, `E`
    /// etcd, `P` Patroni/PostgreSQL, `B` pgBackRest, `S` secrets, `L` lint of hand-written files.
    pub code: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// Where it is.
    #[serde(rename = "path")]
    pub location: Location,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at a model path.
    pub fn error(code: &'static str, path: ModelPath, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, Location::Model(path), message)
    }

    /// A warning at a model path.
    pub fn warning(code: &'static str, path: ModelPath, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, Location::Model(path), message)
    }

    /// A diagnostic with any severity and location.
    pub fn new(
        code: &'static str,
        severity: Severity,
        location: Location,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity,
            location,
            message: message.into(),
            hint: None,
        }
    }

    /// A finding in a file at a 1-based line and column.
    pub fn in_file(
        code: &'static str,
        severity: Severity,
        file: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Self::new(
            code,
            severity,
            Location::File {
                file: file.into(),
                line,
                column,
            },
            message,
        )
    }

    /// Adds the hint: what the user should do next.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this diagnostic is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}] {}: {}",
            self.severity, self.code, self.location, self.message
        )?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Whether any diagnostic in the list is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_path_round_trips_through_text() {
        for text in [
            "nodes[1].tags.nofailover",
            "etcd.members[0].name",
            "name",
            "a[2][3].b",
        ] {
            assert_eq!(ModelPath::parse(text).to_string(), text);
        }
        let p = ModelPath::root().key("nodes").index(2).key("address");
        assert_eq!(p.to_string(), "nodes[2].address");
        assert_eq!(p, ModelPath::parse("nodes[2].address"));
    }

    #[test]
    fn display_shows_severity_code_location_and_hint() {
        let d = Diagnostic::in_file("L101", Severity::Error, "patroni.yml", 14, 3, "bad indent")
            .with_hint("indent by two spaces");
        assert_eq!(
            d.to_string(),
            "error[L101] patroni.yml:14:3: bad indent\n  hint: indent by two spaces"
        );
        assert!(has_errors(&[d]));
        let w = Diagnostic::warning("E201", ModelPath::parse("etcd.api"), "v2");
        assert!(!has_errors(&[w]));
    }
}
