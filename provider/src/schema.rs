//! Concise builders for tf-provider schemas.
//!
//! tf-provider's schema structs are plain data with `HashMap`s and a `Default` whose
//! description is the literal string "empty". Spelling each attribute out takes eight lines
//! and makes it easy to forget a description, which the docs generator needs. These builders
//! make the constraint (required, optional, computed) and the description explicit at every
//! call site and always use Markdown descriptions, which the Registry renders.

use std::collections::HashMap;

use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block, Description, NestedBlock, Schema,
};

/// Builder for one attribute. Start with a type ([`Attr::string`], ...), then pick exactly
/// one constraint and give a description.
#[derive(Debug, Clone)]
pub struct Attr(Attribute);

impl Attr {
    /// Attribute of any type; prefer the shorthands below.
    pub fn of(attr_type: AttributeType) -> Self {
        Self(Attribute {
            attr_type,
            description: Description::markdown(""),
            constraint: AttributeConstraint::Optional,
            sensitive: false,
            deprecated: false,
        })
    }
    /// A string attribute.
    pub fn string() -> Self {
        Self::of(AttributeType::String)
    }
    /// A number attribute. tf-provider decodes numbers into `i64`: fractions fail to decode.
    pub fn number() -> Self {
        Self::of(AttributeType::Number)
    }
    /// A bool attribute.
    pub fn bool() -> Self {
        Self::of(AttributeType::Bool)
    }
    /// A list attribute with elements of `element`.
    pub fn list(element: AttributeType) -> Self {
        Self::of(AttributeType::List(Box::new(element)))
    }
    /// A map attribute (string keys) with values of `element`.
    pub fn map(element: AttributeType) -> Self {
        Self::of(AttributeType::Map(Box::new(element)))
    }

    /// The practitioner must set it.
    pub fn required(mut self) -> Self {
        self.0.constraint = AttributeConstraint::Required;
        self
    }
    /// The practitioner may set it; the provider never invents a value.
    pub fn optional(mut self) -> Self {
        self.0.constraint = AttributeConstraint::Optional;
        self
    }
    /// Output only: the provider sets it (at plan time when it can).
    pub fn computed(mut self) -> Self {
        self.0.constraint = AttributeConstraint::Computed;
        self
    }
    /// The practitioner may set it, otherwise the provider fills in a value.
    pub fn optional_computed(mut self) -> Self {
        self.0.constraint = AttributeConstraint::OptionalComputed;
        self
    }
    /// Terraform hides the value in plan and apply output (it is still stored in state).
    pub fn sensitive(mut self) -> Self {
        self.0.sensitive = true;
        self
    }
    /// Markdown description, shown by `terraform providers schema` and in the generated docs.
    pub fn describe(mut self, markdown: &str) -> Self {
        self.0.description = Description::markdown(markdown);
        self
    }
    /// The finished attribute.
    pub fn build(self) -> Attribute {
        self.0
    }
}

/// Builder for a block: the root block of a resource, or a nested block.
#[derive(Debug, Clone)]
pub struct BlockBuilder(Block);

impl BlockBuilder {
    /// A block with a Markdown description.
    pub fn new(markdown: &str) -> Self {
        Self(Block {
            version: 1,
            attributes: HashMap::new(),
            blocks: HashMap::new(),
            description: Description::markdown(markdown),
            deprecated: false,
        })
    }
    /// Add an attribute.
    pub fn attr(mut self, name: &str, attr: Attr) -> Self {
        self.0.attributes.insert(name.to_owned(), attr.build());
        self
    }
    /// Add a nested block that may repeat (`item { ... } item { ... }`), decoded as a
    /// `Value<Vec<T>>`. Nested blocks, not nested attributes: Terraform 1.11 rejects the
    /// nested attributes that upstream tf-provider 0.2.2 sends, and blocks read naturally in HCL.
    pub fn list_block(mut self, name: &str, block: BlockBuilder) -> Self {
        self.0
            .blocks
            .insert(name.to_owned(), NestedBlock::List(block.0));
        self
    }
    /// Add a nested block that appears at most once. In the state struct the field needs
    /// `#[serde(with = "tf_provider::value::serde_as_vec")]` because Terraform sends it as a
    /// list of zero or one element.
    pub fn optional_block(mut self, name: &str, block: BlockBuilder) -> Self {
        self.0
            .blocks
            .insert(name.to_owned(), NestedBlock::Optional(block.0));
        self
    }
    /// The finished block.
    pub fn build(self) -> Block {
        self.0
    }
    /// The finished block as a resource or data source schema of the given version.
    /// Bump the version (and implement `Resource::upgrade`) whenever the state shape changes.
    pub fn schema(self, version: i64) -> Schema {
        Schema {
            version,
            block: self.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_set_constraint_sensitivity_and_description() {
        let attr = Attr::string()
            .required()
            .sensitive()
            .describe("A secret.")
            .build();
        assert_eq!(attr.constraint, AttributeConstraint::Required);
        assert!(attr.sensitive);
        assert_eq!(attr.description.content, "A secret.");

        let schema = BlockBuilder::new("Root.")
            .attr("name", Attr::string().required().describe("Name."))
            .list_block(
                "item",
                BlockBuilder::new("Item.").attr("key", Attr::string().required()),
            )
            .schema(3);
        assert_eq!(schema.version, 3);
        assert!(schema.block.attributes.contains_key("name"));
        assert!(matches!(
            schema.block.blocks.get("item"),
            Some(NestedBlock::List(_))
        ));
    }
}
