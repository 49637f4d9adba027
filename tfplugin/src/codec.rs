//! Terraform's value encodings: cty's msgpack (every `DynamicValue` on the wire) and cty's
//! JSON (stored state given to `UpgradeResourceState`, and `DynamicValue.json`).
//!
//! Both are type-directed: the schema says whether a msgpack array is a list, a set or a
//! tuple, which attributes an object must carry (all of them, nulls included), and where a
//! `dynamic` value travels with its type (`[type-json, value]` in msgpack,
//! `{"value": .., "type": ..}` in JSON). Unknown values are msgpack extension type 0; refined
//! unknowns (extension type 12, which carry what is known about the value) read as unknown.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::schema::{Block, NestingMode, Type};
use crate::value::Value;

/// A value that could not be encoded or decoded, with the attribute path where it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("at {path}: ") })]
pub struct CodecError {
    /// Where in the value, such as `.item[1].key` (empty at the top).
    pub path: String,
    /// What was wrong.
    pub message: String,
}

impl CodecError {
    fn new(path: &str, message: impl Into<String>) -> Self {
        CodecError {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

/// The object type a block's values have: its attributes, and each nested block as an
/// object (single, group), a list or set of objects, or a map of objects.
pub fn block_type(block: &Block) -> Type {
    let mut fields: Vec<(String, Type)> = block
        .attributes
        .iter()
        .map(|a| (a.name.clone(), a.ty.clone()))
        .collect();
    for nested in &block.blocks {
        let inner = block_type(&nested.block);
        let ty = match nested.nesting {
            NestingMode::Single | NestingMode::Group => inner,
            NestingMode::List => Type::list(inner),
            NestingMode::Set => Type::set(inner),
            NestingMode::Map => Type::map(inner),
        };
        fields.push((nested.type_name.clone(), ty));
    }
    Type::Object(fields)
}

/// The codec's own type: a schema [`Type`], plus tuples, which only appear inside `dynamic`
/// values (a list of mixed values is a tuple to Terraform).
#[derive(Debug, Clone, PartialEq)]
enum Ty {
    String,
    Number,
    Bool,
    Dynamic,
    List(Box<Ty>),
    Set(Box<Ty>),
    Map(Box<Ty>),
    Object(Vec<(String, Ty)>),
    Tuple(Vec<Ty>),
}

impl From<&Type> for Ty {
    fn from(t: &Type) -> Self {
        match t {
            Type::String => Ty::String,
            Type::Number => Ty::Number,
            Type::Bool => Ty::Bool,
            Type::Dynamic => Ty::Dynamic,
            Type::List(e) => Ty::List(Box::new(e.as_ref().into())),
            Type::Set(e) => Ty::Set(Box::new(e.as_ref().into())),
            Type::Map(e) => Ty::Map(Box::new(e.as_ref().into())),
            Type::Object(fields) => {
                Ty::Object(fields.iter().map(|(n, t)| (n.clone(), t.into())).collect())
            }
        }
    }
}

/// cty's JSON notation of a type: `"string"`, `["list","string"]`, `["object",{...}]`.
pub fn type_json(t: &Type) -> Json {
    ty_json(&t.into())
}

fn ty_json(t: &Ty) -> Json {
    match t {
        Ty::String => Json::from("string"),
        Ty::Number => Json::from("number"),
        Ty::Bool => Json::from("bool"),
        Ty::Dynamic => Json::from("dynamic"),
        Ty::List(e) => Json::Array(vec!["list".into(), ty_json(e)]),
        Ty::Set(e) => Json::Array(vec!["set".into(), ty_json(e)]),
        Ty::Map(e) => Json::Array(vec!["map".into(), ty_json(e)]),
        Ty::Object(fields) => Json::Array(vec![
            "object".into(),
            Json::Object(
                fields
                    .iter()
                    .map(|(n, t)| (n.clone(), ty_json(t)))
                    .collect(),
            ),
        ]),
        Ty::Tuple(elems) => Json::Array(vec![
            "tuple".into(),
            Json::Array(elems.iter().map(ty_json).collect()),
        ]),
    }
}

fn ty_from_json(j: &Json, path: &str) -> Result<Ty, CodecError> {
    let bad = || CodecError::new(path, format!("unsupported type {j}"));
    match j {
        Json::String(s) => match s.as_str() {
            "string" => Ok(Ty::String),
            "number" => Ok(Ty::Number),
            "bool" => Ok(Ty::Bool),
            "dynamic" => Ok(Ty::Dynamic),
            _ => Err(bad()),
        },
        Json::Array(parts) => {
            let kind = parts.first().and_then(Json::as_str).ok_or_else(bad)?;
            let arg = parts.get(1).ok_or_else(bad)?;
            match kind {
                "list" => Ok(Ty::List(Box::new(ty_from_json(arg, path)?))),
                "set" => Ok(Ty::Set(Box::new(ty_from_json(arg, path)?))),
                "map" => Ok(Ty::Map(Box::new(ty_from_json(arg, path)?))),
                // A third element lists optional attributes; it does not change the shape.
                "object" => Ok(Ty::Object(
                    arg.as_object()
                        .ok_or_else(bad)?
                        .iter()
                        .map(|(n, t)| Ok((n.clone(), ty_from_json(t, path)?)))
                        .collect::<Result<_, CodecError>>()?,
                )),
                "tuple" => Ok(Ty::Tuple(
                    arg.as_array()
                        .ok_or_else(bad)?
                        .iter()
                        .map(|t| ty_from_json(t, path))
                        .collect::<Result<_, _>>()?,
                )),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

/// The type Terraform infers for a known value sent where the schema says `dynamic`.
fn infer(v: &Value) -> Ty {
    match v {
        Value::String(_) => Ty::String,
        Value::Number(_) => Ty::Number,
        Value::Bool(_) => Ty::Bool,
        Value::List(items) => Ty::Tuple(items.iter().map(infer).collect()),
        Value::Map(m) => Ty::Object(m.iter().map(|(k, v)| (k.clone(), infer(v))).collect()),
        Value::Null | Value::Unknown => Ty::Dynamic,
    }
}

fn child(path: &str, name: &str) -> String {
    format!("{path}.{name}")
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

fn key(path: &str, k: &str) -> String {
    format!("{path}[{k:?}]")
}

// ---------------------------------------------------------------------------------------------
// msgpack encoding

/// Encode `value` as cty msgpack of type `ty`. Objects carry every attribute of the type
/// (missing ones as null); a value of the wrong type, or an attribute the type does not have,
/// is an error naming its path.
pub fn to_msgpack(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(256);
    encode(&mut out, value, &ty.into(), "")?;
    Ok(out)
}

fn encode(out: &mut Vec<u8>, value: &Value, ty: &Ty, path: &str) -> Result<(), CodecError> {
    let mismatch =
        |what: &str| CodecError::new(path, format!("expected {}, got {what}", ty_json(ty)));
    match (value, ty) {
        (Value::Unknown, _) => out.extend_from_slice(&[0xd4, 0, 0]),
        (Value::Null, _) => out.push(0xc0),
        (_, Ty::Dynamic) => {
            let actual = infer(value);
            let type_text = ty_json(&actual).to_string();
            write_array_len(out, 2);
            write_bin(out, type_text.as_bytes());
            encode(out, value, &actual, path)?;
        }
        (Value::String(s), Ty::String) => write_str(out, s),
        (Value::Number(n), Ty::Number) => write_number(out, *n, path)?,
        (Value::Bool(b), Ty::Bool) => out.push(if *b { 0xc3 } else { 0xc2 }),
        (Value::List(items), Ty::List(e) | Ty::Set(e)) => {
            write_array_len(out, items.len());
            for (i, item) in items.iter().enumerate() {
                encode(out, item, e, &index(path, i))?;
            }
        }
        (Value::List(items), Ty::Tuple(elems)) => {
            if items.len() != elems.len() {
                return Err(mismatch(&format!("{} elements", items.len())));
            }
            write_array_len(out, items.len());
            for (i, (item, t)) in items.iter().zip(elems).enumerate() {
                encode(out, item, t, &index(path, i))?;
            }
        }
        (Value::Map(m), Ty::Map(e)) => {
            write_map_len(out, m.len());
            for (k, v) in m {
                write_str(out, k);
                encode(out, v, e, &key(path, k))?;
            }
        }
        (Value::Map(m), Ty::Object(fields)) => {
            if let Some(extra) = m.keys().find(|k| !fields.iter().any(|(n, _)| n == *k)) {
                return Err(CodecError::new(
                    path,
                    format!("attribute {extra:?} is not in the schema"),
                ));
            }
            write_map_len(out, fields.len());
            for (name, t) in fields {
                write_str(out, name);
                encode(
                    out,
                    m.get(name).unwrap_or(&Value::Null),
                    t,
                    &child(path, name),
                )?;
            }
        }
        (other, _) => return Err(mismatch(kind(other))),
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Unknown => "an unknown value",
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Map(_) => "a map or object",
    }
}

fn write_number(out: &mut Vec<u8>, n: f64, path: &str) -> Result<(), CodecError> {
    if !n.is_finite() {
        return Err(CodecError::new(
            path,
            format!("{n} is not a Terraform number"),
        ));
    }
    // Integers as msgpack integers (what cty writes); everything else as a float64.
    const I64_RANGE: std::ops::Range<f64> =
        -9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0;
    if n.fract() == 0.0 && I64_RANGE.contains(&n) {
        write_int(out, n as i64);
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
    Ok(())
}

fn write_int(out: &mut Vec<u8>, n: i64) {
    match n {
        0..=127 => out.push(n as u8),
        -32..=-1 => out.push(n as i8 as u8),
        128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        -128..=-33 => out.extend_from_slice(&[0xd0, n as i8 as u8]),
        -32768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        }
        -2_147_483_648..=-32769 => {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn write_len(out: &mut Vec<u8>, len: usize, fix: Option<(u8, usize)>, markers: [u8; 3]) {
    match fix {
        Some((base, max)) if len <= max => out.push(base | len as u8),
        _ if len <= 0xff && markers[0] != 0 => out.extend_from_slice(&[markers[0], len as u8]),
        _ if len <= 0xffff => {
            out.push(markers[1]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(markers[2]);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    write_len(out, s.len(), Some((0xa0, 31)), [0xd9, 0xda, 0xdb]);
    out.extend_from_slice(s.as_bytes());
}

fn write_bin(out: &mut Vec<u8>, b: &[u8]) {
    write_len(out, b.len(), None, [0xc4, 0xc5, 0xc6]);
    out.extend_from_slice(b);
}

fn write_array_len(out: &mut Vec<u8>, len: usize) {
    write_len(out, len, Some((0x90, 15)), [0, 0xdc, 0xdd]);
}

fn write_map_len(out: &mut Vec<u8>, len: usize) {
    write_len(out, len, Some((0x80, 15)), [0, 0xde, 0xdf]);
}

// ---------------------------------------------------------------------------------------------
// msgpack decoding

/// A msgpack item before the type gives it meaning.
#[derive(Debug)]
enum Item {
    Nil,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Item>),
    Map(Vec<(Item, Item)>),
    Ext(i8),
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    depth: usize,
}

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 200;

impl<'a> Reader<'a> {
    fn err(&self, message: impl Into<String>) -> CodecError {
        CodecError::new(
            "",
            format!("msgpack at byte {}: {}", self.pos, message.into()),
        )
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or_else(|| self.err("truncated"))?;
        let slice = &self.data[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn be(&mut self, n: usize) -> Result<u64, CodecError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn item(&mut self) -> Result<Item, CodecError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        let marker = self.take(1)?[0];
        let item = match marker {
            0x00..=0x7f => Item::Int(i128::from(marker)),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f))?,
            0x90..=0x9f => self.array(usize::from(marker & 0x0f))?,
            0xa0..=0xbf => self.string(usize::from(marker & 0x1f))?,
            0xc0 => Item::Nil,
            0xc2 => Item::Bool(false),
            0xc3 => Item::Bool(true),
            0xc4..=0xc6 => {
                let len = self.be(1 << (marker - 0xc4))? as usize;
                Item::Bin(self.take(len)?.to_vec())
            }
            0xc7..=0xc9 => {
                let len = self.be(1 << (marker - 0xc7))? as usize;
                let ext = self.take(1)?[0] as i8;
                self.take(len)?;
                Item::Ext(ext)
            }
            0xca => Item::Float(f64::from(f32::from_bits(self.be(4)? as u32))),
            0xcb => Item::Float(f64::from_bits(self.be(8)?)),
            0xcc..=0xcf => Item::Int(i128::from(self.be(1 << (marker - 0xcc))?)),
            0xd0 => Item::Int(i128::from(self.be(1)? as u8 as i8)),
            0xd1 => Item::Int(i128::from(self.be(2)? as u16 as i16)),
            0xd2 => Item::Int(i128::from(self.be(4)? as u32 as i32)),
            0xd3 => Item::Int(i128::from(self.be(8)? as i64)),
            0xd4..=0xd8 => {
                let ext = self.take(1)?[0] as i8;
                self.take(1 << (marker - 0xd4))?;
                Item::Ext(ext)
            }
            0xd9..=0xdb => {
                let len = self.be(1 << (marker - 0xd9))? as usize;
                self.string(len)?
            }
            0xdc | 0xdd => {
                let len = self.be(if marker == 0xdc { 2 } else { 4 })? as usize;
                self.array(len)?
            }
            0xde | 0xdf => {
                let len = self.be(if marker == 0xde { 2 } else { 4 })? as usize;
                self.map(len)?
            }
            0xe0..=0xff => Item::Int(i128::from(marker as i8)),
            0xc1 => return Err(self.err("reserved marker 0xc1")),
        };
        self.depth -= 1;
        Ok(item)
    }

    fn string(&mut self, len: usize) -> Result<Item, CodecError> {
        let bytes = self.take(len)?;
        let s = std::str::from_utf8(bytes).map_err(|_| self.err("string is not UTF-8"))?;
        Ok(Item::Str(s.to_owned()))
    }

    fn array(&mut self, len: usize) -> Result<Item, CodecError> {
        // Each element takes at least one byte: refuse lengths the input cannot hold.
        if len > self.data.len() - self.pos {
            return Err(self.err("array longer than the input"));
        }
        (0..len)
            .map(|_| self.item())
            .collect::<Result<_, _>>()
            .map(Item::Array)
    }

    fn map(&mut self, len: usize) -> Result<Item, CodecError> {
        if len > self.data.len() - self.pos {
            return Err(self.err("map longer than the input"));
        }
        (0..len)
            .map(|_| Ok((self.item()?, self.item()?)))
            .collect::<Result<_, _>>()
            .map(Item::Map)
    }
}

/// Decode cty msgpack of type `ty`. Empty input is null.
pub fn from_msgpack(data: &[u8], ty: &Type) -> Result<Value, CodecError> {
    if data.is_empty() {
        return Ok(Value::Null);
    }
    let mut reader = Reader {
        data,
        pos: 0,
        depth: 0,
    };
    let item = reader.item()?;
    if reader.pos != data.len() {
        return Err(reader.err("trailing bytes after the value"));
    }
    typed(item, &ty.into(), "")
}

/// cty's extension types for unknown values: plain, and refined (with known bounds).
const EXT_UNKNOWN: i8 = 0;
const EXT_UNKNOWN_REFINED: i8 = 12;

fn typed(item: Item, ty: &Ty, path: &str) -> Result<Value, CodecError> {
    let mismatch = |what: &str| {
        CodecError::new(
            path,
            format!("expected {}, got msgpack {what}", ty_json(ty)),
        )
    };
    Ok(match (item, ty) {
        (Item::Ext(EXT_UNKNOWN | EXT_UNKNOWN_REFINED), _) => Value::Unknown,
        (Item::Ext(other), _) => {
            return Err(CodecError::new(
                path,
                format!("unexpected msgpack extension type {other}"),
            ))
        }
        (Item::Nil, _) => Value::Null,
        (Item::Array(mut pair), Ty::Dynamic) if pair.len() == 2 => {
            let value = pair.pop().unwrap_or(Item::Nil);
            let type_text = match pair.pop() {
                Some(Item::Str(s)) => s.into_bytes(),
                Some(Item::Bin(b)) => b,
                _ => return Err(mismatch("dynamic value without a type")),
            };
            let type_json: Json = serde_json::from_slice(&type_text)
                .map_err(|e| CodecError::new(path, format!("dynamic type is not JSON: {e}")))?;
            typed(value, &ty_from_json(&type_json, path)?, path)?
        }
        (_, Ty::Dynamic) => return Err(mismatch("dynamic value without a type")),
        (Item::Str(s), Ty::String) => Value::String(s),
        (Item::Int(n), Ty::Number) => Value::Number(n as f64),
        (Item::Float(f), Ty::Number) => Value::Number(f),
        // cty writes numbers that fit neither int64 nor float64 exactly as decimal strings.
        (Item::Str(s), Ty::Number) => Value::Number(
            s.parse()
                .map_err(|_| CodecError::new(path, format!("{s:?} is not a number")))?,
        ),
        (Item::Bool(b), Ty::Bool) => Value::Bool(b),
        (Item::Array(items), Ty::List(e) | Ty::Set(e)) => Value::List(
            items
                .into_iter()
                .enumerate()
                .map(|(i, it)| typed(it, e, &index(path, i)))
                .collect::<Result<_, _>>()?,
        ),
        (Item::Array(items), Ty::Tuple(elems)) if items.len() == elems.len() => Value::List(
            items
                .into_iter()
                .zip(elems)
                .enumerate()
                .map(|(i, (it, t))| typed(it, t, &index(path, i)))
                .collect::<Result<_, _>>()?,
        ),
        (Item::Map(entries), Ty::Map(e)) => {
            let mut m = BTreeMap::new();
            for (k, v) in entries {
                let Item::Str(k) = k else {
                    return Err(mismatch("map with a non-string key"));
                };
                let v = typed(v, e, &key(path, &k))?;
                m.insert(k, v);
            }
            Value::Map(m)
        }
        (Item::Map(entries), Ty::Object(fields)) => {
            let mut given: BTreeMap<String, Item> = BTreeMap::new();
            for (k, v) in entries {
                let Item::Str(k) = k else {
                    return Err(mismatch("object with a non-string key"));
                };
                given.insert(k, v);
            }
            let mut m = BTreeMap::new();
            for (name, t) in fields {
                let v = match given.remove(name) {
                    Some(item) => typed(item, t, &child(path, name))?,
                    None => Value::Null,
                };
                m.insert(name.clone(), v);
            }
            Value::Map(m)
        }
        (item, _) => return Err(mismatch(item_kind(&item))),
    })
}

fn item_kind(item: &Item) -> &'static str {
    match item {
        Item::Nil => "nil",
        Item::Bool(_) => "bool",
        Item::Int(_) => "integer",
        Item::Float(_) => "float",
        Item::Str(_) => "string",
        Item::Bin(_) => "binary",
        Item::Array(_) => "array",
        Item::Map(_) => "map",
        Item::Ext(_) => "extension",
    }
}

// ---------------------------------------------------------------------------------------------
// JSON decoding

/// Decode cty JSON of type `ty` (as stored in state). Attributes the type does not have are
/// dropped; missing ones are null.
pub fn from_json(json: &Json, ty: &Type) -> Result<Value, CodecError> {
    json_typed(json, &ty.into(), "")
}

fn json_typed(j: &Json, ty: &Ty, path: &str) -> Result<Value, CodecError> {
    let mismatch = || CodecError::new(path, format!("expected {}, got {j}", ty_json(ty)));
    Ok(match (j, ty) {
        (Json::Null, _) => Value::Null,
        (Json::Object(o), Ty::Dynamic) => {
            let t = ty_from_json(o.get("type").ok_or_else(mismatch)?, path)?;
            json_typed(o.get("value").unwrap_or(&Json::Null), &t, path)?
        }
        (Json::String(s), Ty::String) => Value::String(s.clone()),
        (Json::Number(n), Ty::Number) => Value::Number(n.as_f64().ok_or_else(mismatch)?),
        (Json::String(s), Ty::Number) => Value::Number(s.parse().map_err(|_| mismatch())?),
        (Json::Bool(b), Ty::Bool) => Value::Bool(*b),
        (Json::Array(items), Ty::List(e) | Ty::Set(e)) => Value::List(
            items
                .iter()
                .enumerate()
                .map(|(i, it)| json_typed(it, e, &index(path, i)))
                .collect::<Result<_, _>>()?,
        ),
        (Json::Array(items), Ty::Tuple(elems)) if items.len() == elems.len() => Value::List(
            items
                .iter()
                .zip(elems)
                .enumerate()
                .map(|(i, (it, t))| json_typed(it, t, &index(path, i)))
                .collect::<Result<_, _>>()?,
        ),
        (Json::Object(o), Ty::Map(e)) => Value::Map(
            o.iter()
                .map(|(k, v)| Ok((k.clone(), json_typed(v, e, &key(path, k))?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        (Json::Object(o), Ty::Object(fields)) => Value::Map(
            fields
                .iter()
                .map(|(name, t)| {
                    let v = match o.get(name) {
                        Some(v) => json_typed(v, t, &child(path, name))?,
                        None => Value::Null,
                    };
                    Ok((name.clone(), v))
                })
                .collect::<Result<_, CodecError>>()?,
        ),
        _ => return Err(mismatch()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Attribute;

    fn example_block() -> Block {
        Block::new("")
            .attribute(Attribute::string("name").required())
            .attribute(Attribute::number("port"))
            .attribute(Attribute::bool("enabled"))
            .attribute(Attribute::new("tags", Type::set(Type::String)))
            .attribute(Attribute::new("labels", Type::map(Type::String)))
            .attribute(Attribute::new("extra", Type::Dynamic))
            .attribute(
                Attribute::new(
                    "files",
                    Type::list(Type::object([
                        ("path", Type::String),
                        ("mode", Type::Number),
                    ])),
                )
                .computed(),
            )
            .block(
                "item",
                NestingMode::List,
                Block::new("").attribute(Attribute::string("key")),
            )
            .block(
                "opt",
                NestingMode::Single,
                Block::new("").attribute(Attribute::string("x")),
            )
    }

    fn round_trip(v: &Value, ty: &Type) -> Value {
        let bytes = to_msgpack(v, ty).expect("encodes");
        from_msgpack(&bytes, ty).expect("decodes")
    }

    fn full(mut v: Value, ty: &Type) -> Value {
        // What decoding yields: every attribute of the object type present.
        if let (Value::Map(m), Type::Object(fields)) = (&mut v, ty) {
            for (name, _) in fields {
                m.entry(name.clone()).or_insert(Value::Null);
            }
        }
        v
    }

    #[test]
    fn block_type_has_attributes_and_blocks() {
        let ty = block_type(&example_block());
        assert_eq!(
            type_json(&ty),
            serde_json::json!(["object", {
                "name": "string", "port": "number", "enabled": "bool",
                "tags": ["set", "string"], "labels": ["map", "string"], "extra": "dynamic",
                "files": ["list", ["object", {"path": "string", "mode": "number"}]],
                "item": ["list", ["object", {"key": "string"}]],
                "opt": ["object", {"x": "string"}],
            }])
        );
    }

    #[test]
    fn unknowns_nested_in_objects_and_lists_survive() {
        let ty = block_type(&example_block());
        let v = full(
            Value::object([
                ("name", Value::from("a")),
                ("port", Value::Unknown),
                ("tags", Value::List(vec![Value::from("x"), Value::Unknown])),
                (
                    "item",
                    Value::List(vec![
                        Value::object([("key", Value::Unknown)]),
                        Value::object([("key", Value::from("k"))]),
                    ]),
                ),
                ("files", Value::Unknown),
                ("opt", Value::object([("x", Value::Unknown)])),
            ]),
            &ty,
        );
        assert_eq!(round_trip(&v, &ty), v);
    }

    #[test]
    fn nulls_numbers_bools_maps_and_sets() {
        let ty = block_type(&example_block());
        let v = full(
            Value::object([
                (
                    "name",
                    Value::from("ü-€ and a string longer than thirty-one bytes"),
                ),
                ("enabled", Value::Bool(false)),
                (
                    "labels",
                    Value::object([("b", Value::from("2")), ("a", Value::Null)]),
                ),
                ("tags", Value::List(vec![])),
                (
                    "files",
                    Value::List(vec![Value::object([
                        ("path", Value::from("/etc/x")),
                        ("mode", Value::Number(420.0)),
                    ])]),
                ),
            ]),
            &ty,
        );
        assert_eq!(round_trip(&v, &ty), v);
        for n in [
            0.0, 1.0, -1.0, -33.0, 127.0, 128.0, 65_536.0, -70_000.0, 1.5, -2.25, 1e300,
        ] {
            let back = round_trip(&Value::Number(n), &Type::Number);
            assert_eq!(back, Value::Number(n), "{n}");
        }
        assert_eq!(round_trip(&Value::Null, &ty), Value::Null);
    }

    #[test]
    fn wire_bytes_match_cty() {
        assert_eq!(
            to_msgpack(&Value::Unknown, &Type::String).unwrap(),
            [0xd4, 0, 0]
        );
        assert_eq!(to_msgpack(&Value::Null, &Type::String).unwrap(), [0xc0]);
        assert_eq!(
            to_msgpack(&Value::Number(5.0), &Type::Number).unwrap(),
            [0x05]
        );
        assert_eq!(
            to_msgpack(&Value::Number(-1.0), &Type::Number).unwrap(),
            [0xff]
        );
        let mut half = vec![0xcb];
        half.extend_from_slice(&0.5f64.to_be_bytes());
        assert_eq!(
            to_msgpack(&Value::Number(0.5), &Type::Number).unwrap(),
            half
        );
        // An object always carries all attributes, nulls included.
        let ty = Type::object([("a", Type::String), ("b", Type::Bool)]);
        let bytes = to_msgpack(&Value::object([("a", Value::from("x"))]), &ty).unwrap();
        assert_eq!(bytes, [0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0xc0]);
    }

    #[test]
    fn refined_unknowns_and_big_numbers_decode() {
        // Extension 12 with a payload (a refinement map) is still just unknown.
        let refined = [0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc3];
        assert_eq!(
            from_msgpack(&refined, &Type::String).unwrap(),
            Value::Unknown
        );
        let ty = Type::list(Type::String);
        let list = [0x92, 0xa1, b'a', 0xd4, 0x0c, 0x00];
        assert_eq!(
            from_msgpack(&list, &ty).unwrap(),
            Value::List(vec![Value::from("a"), Value::Unknown])
        );
        let big = [0xa4, b'1', b'e', b'2', b'0'];
        assert_eq!(
            from_msgpack(&big, &Type::Number).unwrap(),
            Value::Number(1e20)
        );
        let other = from_msgpack(&[0xd4, 0x05, 0x00], &Type::String).unwrap_err();
        assert!(
            other.message.contains("extension type 5"),
            "{}",
            other.message
        );
    }

    #[test]
    fn dynamic_values_travel_with_their_type() {
        let v = Value::object([
            ("a", Value::from("x")),
            (
                "b",
                Value::List(vec![Value::Number(1.0), Value::Bool(true)]),
            ),
        ]);
        let bytes = to_msgpack(&v, &Type::Dynamic).unwrap();
        assert_eq!(bytes[0], 0x92, "a [type, value] pair");
        assert_eq!(from_msgpack(&bytes, &Type::Dynamic).unwrap(), v);
        // Unknown and null dynamic values are not wrapped.
        assert_eq!(
            to_msgpack(&Value::Unknown, &Type::Dynamic).unwrap(),
            [0xd4, 0, 0]
        );
        // Terraform may send the type as a string rather than binary.
        let mut wire = vec![0x92, 0xa8];
        wire.extend_from_slice(b"\"string\"");
        wire.extend_from_slice(&[0xa2, b'h', b'i']);
        assert_eq!(
            from_msgpack(&wire, &Type::Dynamic).unwrap(),
            Value::from("hi")
        );
    }

    #[test]
    fn wrong_types_and_extra_attributes_name_their_path() {
        let ty = block_type(&example_block());
        let bad = Value::object([(
            "item",
            Value::List(vec![Value::object([("key", Value::Number(1.0))])]),
        )]);
        let err = to_msgpack(&bad, &ty).unwrap_err();
        assert_eq!(err.path, ".item[0].key");
        assert!(err.message.contains("expected \"string\""), "{err}");
        let extra = Value::object([("nope", Value::from("x"))]);
        let err = to_msgpack(&extra, &ty).unwrap_err();
        assert!(
            err.to_string().contains("\"nope\" is not in the schema"),
            "{err}"
        );
    }

    #[test]
    fn malformed_msgpack_is_an_error_not_a_panic() {
        for bad in [
            &[0xa5, b'a'][..],
            &[0xdd, 0xff, 0xff, 0xff, 0xff],
            &[0x81],
            &[0xc1],
            &[0xc0, 0xc0],
            &[0xa1, 0xff],
        ] {
            assert!(from_msgpack(bad, &Type::Dynamic).is_err(), "{bad:?}");
            assert!(from_msgpack(bad, &Type::String).is_err(), "{bad:?}");
        }
        let deep = vec![0x91; 10_000];
        let err = from_msgpack(&deep, &Type::Dynamic).unwrap_err();
        assert!(err.message.contains("nested too deeply"), "{}", err.message);
    }

    #[test]
    fn json_state_decodes_with_the_schema() {
        let ty = block_type(&example_block());
        let json = serde_json::json!({
            "name": "a", "port": 5432, "enabled": true, "tags": ["x"],
            "labels": {"k": "v"}, "extra": {"value": [1, "two"], "type": ["tuple", ["number", "string"]]},
            "files": [{"path": "/p", "mode": 420}], "item": [{"key": "k"}], "opt": null,
            "removed_attribute": "dropped"
        });
        let v = from_json(&json, &ty).unwrap();
        assert_eq!(v.get("port"), &Value::Number(5432.0));
        assert_eq!(
            v.get("extra"),
            &Value::List(vec![Value::Number(1.0), Value::from("two")])
        );
        assert_eq!(v.get("opt"), &Value::Null);
        assert_eq!(v.get("files").as_list().map(<[Value]>::len), Some(1));
        assert!(v
            .as_map()
            .is_some_and(|m| !m.contains_key("removed_attribute")));
        // And back onto the wire.
        assert_eq!(round_trip(&v, &ty), v);
        let err = from_json(&serde_json::json!({"port": "many"}), &ty).unwrap_err();
        assert_eq!(err.path, ".port");
    }
}
