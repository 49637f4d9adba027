//! Schemas: the attributes and nested blocks of a provider, resource or data source.
//!
//! Users write structured input as nested *blocks* (Terraform 1.11 and earlier protocol
//! clients handle them everywhere); structured *output* is a computed attribute of an object or
//! list-of-object [`Type`], because blocks cannot be computed.

/// A Terraform type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// `string`
    String,
    /// `number`
    Number,
    /// `bool`
    Bool,
    /// `list(T)`
    List(Box<Type>),
    /// `set(T)`
    Set(Box<Type>),
    /// `map(T)`
    Map(Box<Type>),
    /// `object({name = T, …})`
    Object(Vec<(String, Type)>),
    /// `dynamic` (any type)
    Dynamic,
}

impl Type {
    /// `list(T)`
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    /// `set(T)`
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    /// `map(T)`
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }
    /// `object({...})` from `(name, type)` pairs.
    pub fn object<K: Into<String>>(fields: impl IntoIterator<Item = (K, Type)>) -> Type {
        Type::Object(fields.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }
}

/// One attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: Type,
    /// Markdown description (shown in docs).
    pub description: String,
    /// Must be set by the user.
    pub required: bool,
    /// May be set by the user.
    pub optional: bool,
    /// Set by the provider (with `optional`: the provider fills it when the user does not).
    pub computed: bool,
    /// Hidden in plan output and marked sensitive in state.
    pub sensitive: bool,
    /// Deprecated.
    pub deprecated: bool,
}

impl Attribute {
    /// A new optional attribute; chain [`Attribute::required`], [`Attribute::computed`], …
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Attribute {
            name: name.into(),
            ty,
            description: String::new(),
            required: false,
            optional: true,
            computed: false,
            sensitive: false,
            deprecated: false,
        }
    }

    /// A string attribute.
    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, Type::String)
    }
    /// A number attribute.
    pub fn number(name: impl Into<String>) -> Self {
        Self::new(name, Type::Number)
    }
    /// A bool attribute.
    pub fn bool(name: impl Into<String>) -> Self {
        Self::new(name, Type::Bool)
    }

    /// Must be set.
    pub fn required(mut self) -> Self {
        self.required = true;
        self.optional = false;
        self
    }
    /// Set by the provider only.
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self.optional = false;
        self.required = false;
        self
    }
    /// May be set; the provider fills it when not.
    pub fn optional_computed(mut self) -> Self {
        self.computed = true;
        self.optional = true;
        self.required = false;
        self
    }
    /// Sensitive.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Markdown description.
    pub fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }
}

/// How a nested block repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NestingMode {
    /// At most one; absent is null.
    Single,
    /// Ordered list.
    List,
    /// Unordered set.
    Set,
    /// Labelled (`block "label" { }`).
    Map,
    /// Exactly one, always present (attributes take their defaults when omitted).
    Group,
}

/// A nested block type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NestedBlock {
    /// Block type name as written in configuration.
    pub type_name: String,
    /// Its contents.
    pub block: Block,
    /// How it repeats.
    pub nesting: NestingMode,
    /// Fewest occurrences (0 = optional).
    pub min_items: i64,
    /// Most occurrences (0 = unlimited).
    pub max_items: i64,
}

/// Attributes and nested blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Block {
    /// Attributes.
    pub attributes: Vec<Attribute>,
    /// Nested block types.
    pub blocks: Vec<NestedBlock>,
    /// Markdown description.
    pub description: String,
    /// Deprecated.
    pub deprecated: bool,
}

impl Block {
    /// An empty block with a description.
    pub fn new(description: impl Into<String>) -> Self {
        Block {
            description: description.into(),
            ..Block::default()
        }
    }

    /// Adds an attribute.
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Adds a nested block type.
    pub fn block(
        mut self,
        type_name: impl Into<String>,
        nesting: NestingMode,
        block: Block,
    ) -> Self {
        self.blocks.push(NestedBlock {
            type_name: type_name.into(),
            block,
            nesting,
            min_items: 0,
            max_items: if nesting == NestingMode::Single { 1 } else { 0 },
        });
        self
    }
}

/// A versioned schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// Version, raised when stored state changes shape (see [`crate::Resource::upgrade`]).
    pub version: i64,
    /// Top-level block.
    pub block: Block,
}
