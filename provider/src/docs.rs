//! Terraform Registry documentation generated from the provider's own schema.
//!
//! Writes `index.md`, `resources/<name>.md` and `data-sources/<name>.md` (the layout and
//! front matter the Registry reads, close to what HashiCorp's tfplugindocs produces) from the
//! same schema the server sends Terraform, so descriptions, constraints and sensitivity cannot
//! drift from the code. Examples come from the repository's `examples/` directory:
//! `provider/provider.tf`, `resources/<type>/resource.tf` and `import.sh`,
//! `data-sources/<type>/data-source.tf`. Check mode compares instead of writing, for CI.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use tfplugin::{Attribute, Block, NestedBlock, NestingMode, Schema, Type};

use crate::provider::Schemas;

/// Failure to read examples or to read or write docs.
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    /// The provider's schemas could not be collected.
    #[error("provider schema: {0}")]
    Schema(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

/// Generated docs: relative path (`resources/x.md`) → content.
pub type DocSet = BTreeMap<PathBuf, String>;

/// Render every page: the index, and one page per resource and data source.
pub fn generate(schemas: &Schemas, examples: &Path) -> Result<DocSet, DocsError> {
    let mut docs = DocSet::new();
    docs.insert(PathBuf::from("index.md"), index_page(schemas, examples)?);
    for (name, schema) in &schemas.resources {
        let dir = examples.join("resources").join(name);
        let page = type_page(
            name,
            "Resource",
            schema,
            read_optional(&dir.join("resource.tf"))?,
            read_optional(&dir.join("import.sh"))?,
        );
        docs.insert(PathBuf::from(format!("resources/{}.md", short(name))), page);
    }
    for (name, schema) in &schemas.data_sources {
        let dir = examples.join("data-sources").join(name);
        let page = type_page(
            name,
            "Data Source",
            schema,
            read_optional(&dir.join("data-source.tf"))?,
            None,
        );
        docs.insert(
            PathBuf::from(format!("data-sources/{}.md", short(name))),
            page,
        );
    }
    // One trailing newline per page, whatever the last section was.
    for page in docs.values_mut() {
        let trimmed = page.trim_end().len();
        page.truncate(trimmed);
        page.push('\n');
    }
    Ok(docs)
}

/// Write `docs` under `out`, and remove generated-looking pages that no longer have a type.
pub fn write(out: &Path, docs: &DocSet) -> Result<(), DocsError> {
    for stale in extra_pages(out, docs)? {
        let path = out.join(stale);
        std::fs::remove_file(&path).map_err(|source| DocsError::Io { path, source })?;
    }
    for (rel, content) in docs {
        let path = out.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| DocsError::Io {
                path: parent.to_owned(),
                source,
            })?;
        }
        std::fs::write(&path, content).map_err(|source| DocsError::Io { path, source })?;
    }
    Ok(())
}

/// Pages under `out` that are missing, differ from `docs`, or have no type any more; empty
/// when the docs are up to date.
pub fn stale(out: &Path, docs: &DocSet) -> Result<Vec<String>, DocsError> {
    let mut problems = Vec::new();
    for (rel, content) in docs {
        let path = out.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(existing) if &existing == content => {}
            Ok(_) => problems.push(format!("{} is out of date", path.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problems.push(format!("{} is missing", path.display()))
            }
            Err(source) => return Err(DocsError::Io { path, source }),
        }
    }
    for rel in extra_pages(out, docs)? {
        problems.push(format!(
            "{} documents a type the provider does not have",
            out.join(rel).display()
        ));
    }
    Ok(problems)
}

/// `.md` files under `out/resources` and `out/data-sources` that `docs` does not contain.
/// Other directories (guides) are hand-written and left alone.
fn extra_pages(out: &Path, docs: &DocSet) -> Result<Vec<PathBuf>, DocsError> {
    let mut extra = Vec::new();
    for sub in ["resources", "data-sources"] {
        let dir = out.join(sub);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(DocsError::Io { path: dir, source }),
        };
        for entry in entries {
            let entry = entry.map_err(|source| DocsError::Io {
                path: dir.clone(),
                source,
            })?;
            let rel = Path::new(sub).join(entry.file_name());
            if rel.extension().is_some_and(|e| e == "md") && !docs.contains_key(&rel) {
                extra.push(rel);
            }
        }
    }
    extra.sort();
    Ok(extra)
}

fn read_optional(path: &Path) -> Result<Option<String>, DocsError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DocsError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// `pgha_etcd_member` → `etcd_member`, the Registry's page name.
fn short(type_name: &str) -> &str {
    type_name
        .strip_prefix(&format!("{}_", crate::PROVIDER_NAME))
        .unwrap_or(type_name)
}

fn front_matter(title: &str, description: &str) -> String {
    let mut out = format!("---\npage_title: \"{title}\"\nsubcategory: \"\"\ndescription: |-\n");
    for line in first_paragraph(description).lines() {
        let _ = writeln!(out, "  {line}");
    }
    out.push_str("---\n\n");
    out
}

fn first_paragraph(text: &str) -> &str {
    text.split("\n\n").next().unwrap_or("").trim()
}

fn code_block(out: &mut String, lang: &str, code: &str) {
    let _ = writeln!(out, "```{lang}\n{}\n```\n", code.trim_end());
}

fn index_page(schemas: &Schemas, examples: &Path) -> Result<String, DocsError> {
    let name = crate::PROVIDER_NAME;
    let description = &schemas.provider.block.description;
    let mut out = front_matter(&format!("{name} Provider"), description);
    let _ = writeln!(out, "# {name} Provider\n\n{}\n", description.trim());
    if let Some(example) = read_optional(&examples.join("provider").join("provider.tf"))? {
        out.push_str("## Example Usage\n\n");
        code_block(&mut out, "terraform", &example);
    }
    let block = &schemas.provider.block;
    if block.attributes.is_empty() && block.blocks.is_empty() {
        out.push_str("## Schema\n\nThe provider takes no arguments.\n");
    } else {
        out.push_str("<!-- schema generated by terraform-provider-pgha docs -->\n## Schema\n\n");
        schema_sections(&mut out, block);
    }
    Ok(out)
}

fn type_page(
    name: &str,
    kind: &str,
    schema: &Schema,
    example: Option<String>,
    import: Option<String>,
) -> String {
    let description = &schema.block.description;
    let mut out = front_matter(
        &format!("{name} {kind} - {}", crate::PROVIDER_NAME),
        description,
    );
    let _ = writeln!(out, "# {name} ({kind})\n\n{}\n", description.trim());
    if let Some(example) = example {
        out.push_str("## Example Usage\n\n");
        code_block(&mut out, "terraform", &example);
    }
    out.push_str("<!-- schema generated by terraform-provider-pgha docs -->\n## Schema\n\n");
    schema_sections(&mut out, &schema.block);
    if let Some(import) = import {
        out.push_str("## Import\n\nImport is supported using the following syntax:\n\n");
        code_block(&mut out, "shell", &import);
    }
    out
}

/// Where an item is listed: Required, Optional or Read-Only.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Required,
    Optional,
    ReadOnly,
}

impl Section {
    fn title(self) -> &'static str {
        match self {
            Section::Required => "Required",
            Section::Optional => "Optional",
            Section::ReadOnly => "Read-Only",
        }
    }
}

/// One documented attribute or block, plus the nested schemas it links to.
struct Entry {
    section: Section,
    line: String,
}

/// A nested schema to document after the top-level lists.
enum Nested<'a> {
    Block(&'a Block),
    Object(&'a [(String, Type)]),
}

fn schema_sections(out: &mut String, block: &Block) {
    let mut pending: Vec<(String, String, Nested<'_>)> = Vec::new();
    write_lists(out, block_entries(block, "", &mut pending), "### ");
    while !pending.is_empty() {
        let (anchor, path, nested) = pending.remove(0);
        let _ = writeln!(
            out,
            "<a id=\"{anchor}\"></a>\n### Nested Schema for `{path}`\n"
        );
        let entries = match nested {
            Nested::Block(b) => block_entries(b, &path, &mut pending),
            Nested::Object(fields) => object_entries(fields, &path, &mut pending),
        };
        write_lists(out, entries, "");
    }
}

fn write_lists(out: &mut String, mut entries: Vec<Entry>, heading: &str) {
    entries.sort_by_key(|e| e.section);
    let mut current = None;
    for entry in entries {
        if current != Some(entry.section) {
            if current.is_some() {
                out.push('\n');
            }
            if heading.is_empty() {
                let _ = writeln!(out, "{}:\n", entry.section.title());
            } else {
                let _ = writeln!(out, "{heading}{}\n", entry.section.title());
            }
            current = Some(entry.section);
        }
        let _ = writeln!(out, "{}", entry.line);
    }
    out.push('\n');
}

fn anchor(prefix: &str, path: &str) -> String {
    format!("{prefix}--{}", path.replace('.', "--"))
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// How a nested block is described: `Block List, Max: 1`, `Block Set, Min: 1`, ...
fn block_kind(nested: &NestedBlock) -> String {
    let mut kind = match nested.nesting {
        NestingMode::Single | NestingMode::Group => return "Block".into(),
        NestingMode::List => "Block List".to_owned(),
        NestingMode::Set => "Block Set".to_owned(),
        NestingMode::Map => "Block Map".to_owned(),
    };
    if nested.min_items > 0 {
        let _ = write!(kind, ", Min: {}", nested.min_items);
    }
    if nested.max_items > 0 {
        let _ = write!(kind, ", Max: {}", nested.max_items);
    }
    kind
}

fn block_entries<'a>(
    block: &'a Block,
    parent: &str,
    pending: &mut Vec<(String, String, Nested<'a>)>,
) -> Vec<Entry> {
    let mut entries = attribute_entries(&block.attributes, parent, pending);
    let mut blocks: Vec<&NestedBlock> = block.blocks.iter().collect();
    blocks.sort_by(|a, b| a.type_name.cmp(&b.type_name));
    for nested in blocks {
        let name = &nested.type_name;
        let mut kind = block_kind(nested);
        if nested.block.deprecated {
            kind.push_str(", Deprecated");
        }
        let path = join(parent, name);
        let id = anchor("nestedblock", &path);
        let line = format!(
            "- `{name}` ({kind}){} (see [below for nested schema](#{id}))",
            description_suffix(&nested.block.description)
        );
        pending.push((id, path, Nested::Block(&nested.block)));
        entries.push(Entry {
            section: if nested.min_items > 0 {
                Section::Required
            } else {
                Section::Optional
            },
            line,
        });
    }
    entries
}

fn attribute_entries<'a>(
    attrs: &'a [Attribute],
    parent: &str,
    pending: &mut Vec<(String, String, Nested<'a>)>,
) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut sorted: Vec<&Attribute> = attrs.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for attr in sorted {
        let name = &attr.name;
        let path = join(parent, name);
        let mut kind = type_name(&attr.ty);
        if attr.sensitive {
            kind.push_str(", Sensitive");
        }
        if attr.deprecated {
            kind.push_str(", Deprecated");
        }
        let mut line = format!(
            "- `{name}` ({kind}){}",
            description_suffix(&attr.description)
        );
        if let Some(fields) = object_of(&attr.ty) {
            let id = anchor("nestedatt", &path);
            let _ = write!(line, " (see [below for nested schema](#{id}))");
            pending.push((id, path, Nested::Object(fields)));
        }
        entries.push(Entry {
            section: if attr.required {
                Section::Required
            } else if attr.optional {
                Section::Optional
            } else {
                Section::ReadOnly
            },
            line,
        });
    }
    entries
}

/// Fields of an object type, directly or inside a list, set or map.
fn object_of(t: &Type) -> Option<&[(String, Type)]> {
    match t {
        Type::Object(fields) => Some(fields),
        Type::List(inner) | Type::Set(inner) | Type::Map(inner) => object_of(inner),
        _ => None,
    }
}

fn object_entries<'a>(
    fields: &'a [(String, Type)],
    parent: &str,
    pending: &mut Vec<(String, String, Nested<'a>)>,
) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut sorted: Vec<&(String, Type)> = fields.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, t) in sorted {
        let path = join(parent, name);
        let mut line = format!("- `{name}` ({})", type_name(t));
        if let Some(inner) = object_of(t) {
            let id = anchor("nestedobjatt", &path);
            let _ = write!(line, " (see [below for nested schema](#{id}))");
            pending.push((id, path, Nested::Object(inner)));
        }
        // Object fields take the enclosing attribute's constraint: all are read together.
        entries.push(Entry {
            section: Section::ReadOnly,
            line,
        });
    }
    entries
}

fn description_suffix(description: &str) -> String {
    let d = description.trim();
    if d.is_empty() {
        String::new()
    } else {
        format!(" {d}")
    }
}

fn type_name(t: &Type) -> String {
    match t {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::List(inner) => format!("List of {}", type_name(inner)),
        Type::Set(inner) => format!("Set of {}", type_name(inner)),
        Type::Map(inner) => format!("Map of {}", type_name(inner)),
        Type::Object(_) => "Object".into(),
        Type::Dynamic => "Dynamic".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBER: &str = "pgha_etcd_member";

    fn examples() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let res = dir.path().join("resources").join(MEMBER);
        std::fs::create_dir_all(&res).expect("mkdir");
        std::fs::write(
            res.join("resource.tf"),
            "resource \"pgha_etcd_member\" \"x\" {}\n",
        )
        .expect("write");
        std::fs::write(
            res.join("import.sh"),
            "terraform import pgha_etcd_member.x e1\n",
        )
        .expect("write");
        dir
    }

    #[test]
    fn resource_page_lists_constraints_blocks_nested_objects_and_import() {
        let schemas = crate::provider::schemas().expect("schemas");
        let ex = examples();
        let docs = generate(&schemas, ex.path()).expect("generate");
        let page = &docs[Path::new("resources/etcd_member.md")];
        assert!(page.starts_with("---\npage_title: \"pgha_etcd_member Resource - pgha\""));
        let required = page.find("### Required").expect("required section");
        let optional = page.find("### Optional").expect("optional section");
        let read_only = page.find("### Read-Only").expect("read-only section");
        assert!(required < optional && optional < read_only);
        let in_section = |line: &str, from: usize, to: usize| page[from..to].contains(line);
        assert!(in_section(
            "- `name` (String) Member name",
            required,
            optional
        ));
        assert!(in_section(
            "- `members` (Map of String)",
            required,
            optional
        ));
        assert!(in_section("- `client_port` (Number)", optional, read_only));
        assert!(in_section("- `env_file` (String)", read_only, page.len()));
        assert!(page.contains("- `tls` (Block) TLS for client and peer traffic."));
        assert!(page.contains("(see [below for nested schema](#nestedblock--tls))"));
        assert!(page.contains("<a id=\"nestedblock--tls\"></a>\n### Nested Schema for `tls`"));
        assert!(page.contains("- `files` (List of Object)"));
        assert!(page.contains("<a id=\"nestedatt--files\"></a>\n### Nested Schema for `files`"));
        assert!(page.contains("```terraform\nresource \"pgha_etcd_member\" \"x\" {}\n```"));
        assert!(page.contains("## Import"));
        assert!(page.contains("terraform import pgha_etcd_member.x e1"));

        // Sensitivity is part of the type column; a resource without an example has no
        // Example Usage or Import section.
        let stanza = &docs[Path::new("resources/pgbackrest_stanza.md")];
        assert!(stanza.contains("- `spec` (String, Sensitive)"), "{stanza}");
        assert!(!stanza.contains("## Example Usage") && !stanza.contains("## Import"));
    }

    #[test]
    fn every_resource_and_data_source_has_a_page() {
        let schemas = crate::provider::schemas().expect("schemas");
        let ex = examples();
        let docs = generate(&schemas, ex.path()).expect("generate");
        assert!(docs.contains_key(Path::new("index.md")));
        for (name, _) in &schemas.resources {
            let page = PathBuf::from(format!("resources/{}.md", short(name)));
            assert!(docs.contains_key(&page), "{name}");
        }
        for (name, _) in &schemas.data_sources {
            let page = PathBuf::from(format!("data-sources/{}.md", short(name)));
            assert!(docs.contains_key(&page), "{name}");
        }
        assert_eq!(
            docs.len(),
            1 + schemas.resources.len() + schemas.data_sources.len()
        );
    }

    #[test]
    fn check_detects_missing_changed_and_extra_pages() {
        let schemas = crate::provider::schemas().expect("schemas");
        let ex = examples();
        let docs = generate(&schemas, ex.path()).expect("generate");
        let out = tempfile::tempdir().expect("tempdir");
        assert_eq!(stale(out.path(), &docs).expect("check").len(), docs.len());

        write(out.path(), &docs).expect("write");
        assert!(stale(out.path(), &docs).expect("check").is_empty());

        let page = out.path().join("resources/etcd_member.md");
        std::fs::write(&page, "edited by hand\n").expect("edit");
        // A page left behind by a resource type the provider no longer has.
        let extra = out.path().join("resources/example.md");
        std::fs::write(&extra, "old\n").expect("extra");
        let problems = stale(out.path(), &docs).expect("check");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("etcd_member.md is out of date"));
        assert!(problems[1].contains("example.md documents a type"));

        write(out.path(), &docs).expect("rewrite");
        assert!(!extra.exists());
        assert!(stale(out.path(), &docs).expect("check").is_empty());
    }
}
