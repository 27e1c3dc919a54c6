//! Strict JSON: the one parser for JSON that comes from outside (an HTTP
//! body, a file given to `record` or `import`). It reads what `serde_json`
//! reads and refuses, in addition, a key given twice in one object at any
//! depth: `serde_json::Value` keeps only the last of the two, so what a
//! client meant and what would be recorded could differ, and two readers of
//! the same text could disagree.
//!
//! Stored events are read with `serde_json` itself: the store wrote them.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::FieldError;
use crate::values::truncate_for_message;

/// Why a text is not strict JSON.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// Not JSON at all. HTTP 400.
    #[error("{0}")]
    Syntax(serde_json::Error),
    /// Valid JSON with a key given twice in one object. HTTP 422.
    #[error("{path}: is given twice")]
    Duplicate {
        /// The key's path, e.g. `data.name` or, in an array, `[2].data.name`.
        path: String,
    },
}

impl JsonError {
    /// The broken rule of a duplicated key, naming its path; `None` for a
    /// syntax error.
    pub fn duplicate(&self) -> Option<FieldError> {
        match self {
            JsonError::Duplicate { path } => Some(FieldError::new(path.clone(), "is given twice")),
            JsonError::Syntax(_) => None,
        }
    }
}

/// Parses `bytes` as one JSON value, refusing a key given twice in any
/// object. A text that is not JSON is a syntax error even when it repeats
/// a key before it breaks.
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    let duplicate = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Node {
        path: &Path::Root,
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(JsonError::Syntax)?;
    match duplicate.take() {
        Some(path) => Err(JsonError::Duplicate { path }),
        None => Ok(value),
    }
}

/// Where a value sits in the document, as a field path: `data.name`,
/// `[2].data.outputs[0]`.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(&truncate_for_message(key)),
            Path::Key(parent, key) => write!(f, "{parent}.{}", truncate_for_message(key)),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// One value at `path`; the path of the first duplicated key found is left
/// in `duplicate` (the rest of the text is still read, for its syntax).
#[derive(Clone, Copy)]
struct Node<'a> {
    path: &'a Path<'a>,
    duplicate: &'a Cell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Node {
            path: &Path::Index(self.path, items.len()),
            duplicate: self.duplicate,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = Path::Key(self.path, &key);
            let value = map.next_value_seed(Node {
                path: &path,
                duplicate: self.duplicate,
            })?;
            if members.contains_key(&key) {
                let first = self.duplicate.take();
                self.duplicate
                    .set(Some(first.unwrap_or_else(|| path.to_string())));
            } else {
                members.insert(key, value);
            }
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn duplicate(text: &str) -> String {
        match parse(text.as_bytes()) {
            Err(JsonError::Duplicate { path }) => path,
            other => panic!("expected a duplicated key in {text}, got {other:?}"),
        }
    }

    #[test]
    fn reads_what_serde_json_reads() {
        let text = r#"{"a": [1, -2, 3.5, "x", true, null, {"b": {}}], "c": {"a": 1}}"#;
        let strict = parse(text.as_bytes()).expect("valid JSON");
        let loose: Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(strict, loose);
        assert_eq!(
            parse(br#"[{"type": "x"}]"#).unwrap(),
            json!([{"type": "x"}])
        );
    }

    #[test]
    fn a_key_given_twice_is_named_by_its_path_at_any_depth() {
        assert_eq!(duplicate(r#"{"type": "a", "type": "b"}"#), "type");
        assert_eq!(
            duplicate(r#"{"data": {"name": "A", "kind": "x", "name": "B"}}"#),
            "data.name"
        );
        assert_eq!(
            duplicate(r#"[{}, {}, {"data": {"name": "A", "name": "B"}}]"#),
            "[2].data.name"
        );
        assert_eq!(
            duplicate(r#"{"data": {"outputs": [{"a": 1, "a": 2}]}}"#),
            "data.outputs[0].a"
        );
    }

    #[test]
    fn the_same_key_in_two_objects_is_no_duplicate() {
        assert!(parse(br#"[{"name": "A"}, {"name": "A", "data": {"name": "A"}}]"#).is_ok());
    }

    #[test]
    fn malformed_json_is_a_syntax_error() {
        // A repeated key does not hide a broken text.
        for text in [
            "{",
            r#"{"a": 1,}"#,
            r#"{"a": 1} x"#,
            "",
            r#"{"a": 1, "a": "#,
        ] {
            assert!(
                matches!(parse(text.as_bytes()), Err(JsonError::Syntax(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_duplicate_becomes_a_field_error() {
        let e = parse(br#"{"reason": "a", "reason": "b"}"#).unwrap_err();
        assert_eq!(
            e.duplicate(),
            Some(FieldError::new("reason", "is given twice"))
        );
        assert!(parse(b"nope").unwrap_err().duplicate().is_none());
    }
}
