//! Conversions between this crate's types and the protocol messages.

use crate::codec::type_json;
use crate::diagnostics::{AttributePath, Diagnostic, Diagnostics, PathStep, Severity};
use crate::proto;
use crate::schema::{Attribute, Block, NestedBlock, NestingMode, Schema};

/// A schema as `tfplugin6.Schema`: types in cty's JSON notation, descriptions as Markdown.
pub(crate) fn schema(s: &Schema) -> proto::Schema {
    proto::Schema {
        version: s.version,
        block: Some(block(&s.block)),
    }
}

fn block(b: &Block) -> proto::SchemaBlock {
    proto::SchemaBlock {
        version: 0,
        attributes: b.attributes.iter().map(attribute).collect(),
        block_types: b.blocks.iter().map(nested_block).collect(),
        description: b.description.clone(),
        description_kind: proto::STRING_KIND_MARKDOWN,
        deprecated: b.deprecated,
    }
}

fn attribute(a: &Attribute) -> proto::SchemaAttribute {
    proto::SchemaAttribute {
        name: a.name.clone(),
        r#type: type_json(&a.ty).to_string().into_bytes(),
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: proto::STRING_KIND_MARKDOWN,
        deprecated: a.deprecated,
    }
}

fn nested_block(n: &NestedBlock) -> proto::SchemaNestedBlock {
    let nesting = match n.nesting {
        NestingMode::Single => proto::nesting::SINGLE,
        NestingMode::List => proto::nesting::LIST,
        NestingMode::Set => proto::nesting::SET,
        NestingMode::Map => proto::nesting::MAP,
        NestingMode::Group => proto::nesting::GROUP,
    };
    // Terraform's rules: a single block has equal limits, 1 when required and 0 otherwise;
    // groups and maps have none; lists and sets have what the schema says.
    let (min_items, max_items) = match n.nesting {
        NestingMode::Single if n.min_items > 0 => (1, 1),
        NestingMode::Single | NestingMode::Group | NestingMode::Map => (0, 0),
        NestingMode::List | NestingMode::Set => (n.min_items, n.max_items),
    };
    proto::SchemaNestedBlock {
        type_name: n.type_name.clone(),
        block: Some(block(&n.block)),
        nesting,
        min_items,
        max_items,
    }
}

/// An attribute path as `tfplugin6.AttributePath`.
pub(crate) fn path(p: &AttributePath) -> proto::AttributePath {
    proto::AttributePath {
        steps: p
            .0
            .iter()
            .map(|step| proto::Step {
                selector: Some(match step {
                    PathStep::Attribute(name) => proto::Selector::AttributeName(name.clone()),
                    PathStep::Key(key) => proto::Selector::ElementKeyString(key.clone()),
                    PathStep::Index(i) => proto::Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

fn diagnostic(d: &Diagnostic) -> proto::Diagnostic {
    proto::Diagnostic {
        severity: match d.severity {
            Severity::Error => proto::severity::ERROR,
            Severity::Warning => proto::severity::WARNING,
        },
        summary: d.summary.clone(),
        detail: d.detail.clone(),
        attribute: d.attribute.as_ref().map(path),
    }
}

/// Diagnostics as `tfplugin6.Diagnostic`s.
pub(crate) fn diagnostics(d: &Diagnostics) -> Vec<proto::Diagnostic> {
    d.0.iter().map(diagnostic).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Type;

    #[test]
    fn schema_carries_types_constraints_and_markdown() {
        let s = Schema {
            version: 3,
            block: Block::new("Top `block`.")
                .attribute(Attribute::string("name").required().describe("The *name*."))
                .attribute(
                    Attribute::new("files", Type::list(Type::object([("path", Type::String)])))
                        .computed(),
                )
                .attribute(Attribute::string("secret").sensitive())
                .block(
                    "member",
                    NestingMode::Set,
                    Block::new("A member.").attribute(Attribute::number("port")),
                )
                .block("tls", NestingMode::Single, Block::new("TLS."))
                .block("labels", NestingMode::Map, Block::new("")),
        };
        let p = schema(&s);
        assert_eq!(p.version, 3);
        let b = p.block.expect("block");
        assert_eq!(b.description, "Top `block`.");
        assert_eq!(b.description_kind, proto::STRING_KIND_MARKDOWN);
        let attr = |n: &str| {
            b.attributes
                .iter()
                .find(|a| a.name == n)
                .expect("attribute")
        };
        assert_eq!(attr("name").r#type, b"\"string\"");
        assert!(attr("name").required && !attr("name").optional && !attr("name").computed);
        assert_eq!(
            attr("files").r#type,
            br#"["list",["object",{"path":"string"}]]"#
        );
        assert!(attr("files").computed && !attr("files").optional);
        assert!(attr("secret").sensitive && attr("secret").optional);
        let nested = |n: &str| {
            b.block_types
                .iter()
                .find(|x| x.type_name == n)
                .expect("block")
        };
        assert_eq!(nested("member").nesting, proto::nesting::SET);
        assert_eq!(
            nested("member").block.as_ref().expect("inner").attributes[0].r#type,
            b"\"number\""
        );
        assert_eq!(nested("tls").nesting, proto::nesting::SINGLE);
        // Terraform wants equal limits on single blocks: 0/0 when optional.
        assert_eq!((nested("tls").min_items, nested("tls").max_items), (0, 0));
        assert_eq!(nested("labels").nesting, proto::nesting::MAP);
        assert_eq!(nested("labels").max_items, 0);
    }

    #[test]
    fn diagnostics_carry_severity_and_path_steps() {
        let mut d = Diagnostics::default();
        d.error_at(
            AttributePath::new("member")
                .index(2)
                .attribute("labels")
                .key("role"),
            "Bad",
            "detail",
        );
        d.warning("Careful", "");
        let p = diagnostics(&d);
        assert_eq!(p[0].severity, proto::severity::ERROR);
        assert_eq!(p[1].severity, proto::severity::WARNING);
        assert!(p[1].attribute.is_none());
        let steps: Vec<_> = p[0]
            .attribute
            .as_ref()
            .expect("path")
            .steps
            .iter()
            .map(|s| s.selector.clone().expect("selector"))
            .collect();
        assert_eq!(
            steps,
            vec![
                proto::Selector::AttributeName("member".into()),
                proto::Selector::ElementKeyInt(2),
                proto::Selector::AttributeName("labels".into()),
                proto::Selector::ElementKeyString("role".into()),
            ]
        );
    }

    #[test]
    fn path_encodes_to_protobuf_bytes() {
        use prost::Message;
        let bytes = path(&AttributePath::new("a").index(1)).encode_to_vec();
        // steps(1) { attribute_name(1) "a" }, steps(1) { element_key_int(3) 1 }
        assert_eq!(
            bytes,
            [0x0a, 0x03, 0x0a, 0x01, b'a', 0x0a, 0x02, 0x18, 0x01]
        );
    }
}
