//! Getting known values out of Terraform values.
//!
//! Every attribute arrives as a [`Value`]: known, null, or unknown (during validation and plan,
//! anything computed from another resource may be unknown). Resource code converts its state
//! struct into the library's model with these helpers; they return [`Unknown`] through `?` so
//! that one conversion function serves validation (skip what is unknown), plan (render when
//! everything is known, else mark the output unknown) and apply (everything is known).

use serde::Serialize;
use tf_provider::value::Value;

/// A value needed for a computation is not known yet. Not an error for the user: the
/// computation is deferred to apply time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("value is not known until apply")]
pub struct Unknown;

/// `Some(&value)` when known, `None` when null, [`Unknown`] when unknown.
pub fn known<T>(value: &Value<T>) -> Result<Option<&T>, Unknown> {
    match value {
        Value::Value(v) => Ok(Some(v)),
        Value::Null => Ok(None),
        Value::Unknown => Err(Unknown),
    }
}

/// A known string as `&str` (`None` when null).
pub fn known_str(value: &Value<String>) -> Result<Option<&str>, Unknown> {
    Ok(known(value)?.map(String::as_str))
}

/// A known list; null is read as empty because Terraform sends absent repeated blocks as an
/// empty list in config but may hold null in imported or upgraded state.
pub fn known_list<T>(value: &Value<Vec<T>>) -> Result<&[T], Unknown> {
    Ok(known(value)?.map(Vec::as_slice).unwrap_or_default())
}

/// A known string as an owned `Value`, for filling computed attributes.
pub fn string(s: impl Into<String>) -> Value<String> {
    Value::Value(s.into())
}

/// Whether any value anywhere inside `value` is unknown.
///
/// tf-provider encodes an unknown as a MessagePack extension value, so this serialises the
/// value the way tf-provider does and looks for an extension. Use it when a whole nested
/// structure must be known (for example before handing it to a renderer) and walking it field
/// by field with [`known`] would be noise.
pub fn contains_unknown<T: Serialize>(value: &T) -> bool {
    let Ok(bytes) = rmp_serde::to_vec_named(value) else {
        // Not encodable, so tf-provider could not have produced it either; nothing is unknown.
        return false;
    };
    match rmpv::decode::read_value(&mut bytes.as_slice()) {
        Ok(decoded) => has_extension(&decoded),
        Err(_) => false,
    }
}

fn has_extension(value: &rmpv::Value) -> bool {
    match value {
        rmpv::Value::Ext(_, _) => true,
        rmpv::Value::Array(items) => items.iter().any(has_extension),
        rmpv::Value::Map(entries) => entries
            .iter()
            .any(|(k, v)| has_extension(k) || has_extension(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize)]
    struct Inner {
        key: Value<String>,
    }

    #[derive(Serialize, Deserialize)]
    struct Outer {
        name: Value<String>,
        items: Value<Vec<Inner>>,
    }

    #[test]
    fn known_distinguishes_null_unknown_and_values() {
        assert_eq!(known_str(&string("a")), Ok(Some("a")));
        assert_eq!(known_str(&Value::Null), Ok(None));
        assert_eq!(known_str(&Value::Unknown), Err(Unknown));
        let empty: Value<Vec<u8>> = Value::Null;
        assert_eq!(known_list(&empty), Ok(&[][..]));
    }

    #[test]
    fn contains_unknown_finds_nested_unknowns() {
        let all_known = Outer {
            name: string("a"),
            items: Value::Value(vec![Inner { key: string("k") }]),
        };
        assert!(!contains_unknown(&all_known));

        let nested = Outer {
            name: string("a"),
            items: Value::Value(vec![Inner {
                key: Value::Unknown,
            }]),
        };
        assert!(contains_unknown(&nested));

        let top = Outer {
            name: Value::Unknown,
            items: Value::Null,
        };
        assert!(contains_unknown(&top));
    }

    #[test]
    fn unknown_round_trips_through_msgpack() {
        // The encoding Terraform uses for unknowns must decode back into Value::Unknown,
        // including inside an untagged Value nested in a list.
        let nested = Outer {
            name: Value::Unknown,
            items: Value::Value(vec![Inner {
                key: Value::Unknown,
            }]),
        };
        let bytes = rmp_serde::to_vec_named(&nested).expect("encodes");
        let back: Outer = rmp_serde::from_slice(&bytes).expect("decodes");
        assert!(back.name.is_unknown());
        let items = back.items.as_option().expect("items known");
        assert!(items[0].key.is_unknown());
    }
}
