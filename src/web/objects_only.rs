//! A deserializer that reads a struct only from an object, at every depth. serde's
//! derived structs also take an array, their fields by position: `{"lines":
//! [["Licences", "2", "50", "10"]]}` would make an invoice line and `{"repeat": [1,
//! "week"]}` a task's rule, and an empty array an object with every field left out.
//! [`from_value`] wraps `serde_json`'s own deserializer so that each struct asked for,
//! however deep, refuses an array with the path's type named, while everything else
//! (sequences, tuples, maps, enums, scalars) reads as before.
//!
//! What it cannot reach: a struct read from serde's internal buffer (inside
//! `#[serde(flatten)]` or an untagged enum) is read by serde itself, past any wrapper.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// `T` from `value`, refusing an array wherever `T` or anything in it is a struct.
pub fn from_value<T: de::DeserializeOwned>(value: serde_json::Value) -> serde_json::Result<T> {
    T::deserialize(ObjectsOnly(value))
}

/// A deserializer whose structs are read from objects only.
struct ObjectsOnly<D>(D);

/// A visitor whose nested values are read through [`ObjectsOnly`]; `struct_name` is
/// set when it stands for a struct, which then refuses a sequence.
struct Wrapped<V> {
    visitor: V,
    struct_name: Option<&'static str>,
}

fn wrap<V>(visitor: V) -> Wrapped<V> {
    Wrapped {
        visitor,
        struct_name: None,
    }
}

macro_rules! forward {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                self.0.$method(wrap(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit_struct(name, wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_newtype_struct(name, wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple(len, wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple_struct(name, len, wrap(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = Wrapped {
            visitor,
            struct_name: Some(name),
        };
        self.0.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, wrap(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, value: $ty) -> Result<Self::Value, E> {
                self.visitor.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrapped<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    forward_visit!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.visitor.visit_some(ObjectsOnly(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        self.visitor.visit_newtype_struct(ObjectsOnly(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        if let Some(name) = self.struct_name {
            return Err(de::Error::custom(format!(
                "expected an object for {}, not an array",
                readable(name)
            )));
        }
        self.visitor.visit_seq(Elements(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_map(Entries(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_enum(Variants(data))
    }
}

/// A struct's Rust name in words for the message, the input's `New` or `Update` left
/// out: `NewLine` is "line", `QuietHours` "quiet hours".
fn readable(name: &str) -> String {
    let name = ["New", "Update"]
        .iter()
        .find_map(|prefix| {
            name.strip_prefix(prefix)
                .filter(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
        })
        .unwrap_or(name);
    let mut words = String::new();
    for (at, c) in name.char_indices() {
        if c.is_uppercase() && at > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

/// A seed whose value is read through [`ObjectsOnly`].
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(ObjectsOnly(deserializer))
    }
}

struct Elements<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Elements<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct Entries<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Entries<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        self.0.next_key_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct Variants<A>(A);

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Variants<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), Self::Error> {
        let (value, variant) = self.0.variant_seed(seed)?;
        Ok((value, Variant(variant)))
    }
}

struct Variant<A>(A);

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), Self::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.tuple_variant(len, wrap(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = Wrapped {
            visitor,
            struct_name: Some("variant"),
        };
        self.0.struct_variant(fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Line {
        description: String,
        quantity: u32,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Invoice {
        lines: Vec<Line>,
        #[serde(default)]
        first: Option<Line>,
        pair: Option<(u32, String)>,
        #[serde(default)]
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Plain,
        Detailed { level: u8 },
    }

    #[test]
    fn a_struct_at_any_depth_is_read_from_an_object_only() {
        let good = json!({"lines": [{"description": "Licences", "quantity": 2}],
                          "first": {"description": "x", "quantity": 1},
                          "pair": [1, "one"], "kind": {"detailed": {"level": 3}}});
        let read: Invoice = from_value(good).unwrap();
        assert_eq!(read.lines[0].quantity, 2);
        assert_eq!(read.pair, Some((1, "one".into())));
        assert_eq!(read.kind, Some(Kind::Detailed { level: 3 }));
        // What serde alone takes, each refused here.
        let positional = json!({"lines": [["Licences", 2]]});
        assert!(serde_json::from_value::<Invoice>(positional.clone()).is_ok());
        for (bad, says) in [
            (positional, "line"),
            (json!({"lines": [], "first": ["x", 1]}), "line"),
            (json!({"lines": [], "first": []}), "line"),
            (json!(["x"]), "invoice"),
        ] {
            let error = from_value::<Invoice>(bad.clone()).unwrap_err().to_string();
            assert!(
                error.contains(&format!("expected an object for {says}")),
                "{bad}: {error}"
            );
        }
        assert_eq!(
            from_value::<Invoice>(json!({"lines": [], "kind": "plain", "pair": null}))
                .unwrap()
                .kind,
            Some(Kind::Plain)
        );
        // What serde refuses it refuses too: a struct variant from an array, unknown
        // fields, wrong types.
        assert!(from_value::<Invoice>(json!({"lines": [], "kind": {"detailed": [3]}})).is_err());
        assert!(from_value::<Invoice>(json!({"lines": [], "x": 1})).is_err());
        assert!(
            from_value::<Invoice>(json!({"lines": [{"description": 1, "quantity": 2}]})).is_err()
        );
    }

    #[test]
    fn struct_names_read_as_words() {
        assert_eq!(readable("NewLine"), "line");
        assert_eq!(readable("UpdateTask"), "task");
        assert_eq!(readable("QuietHours"), "quiet hours");
        assert_eq!(readable("Newsletter"), "newsletter");
        assert_eq!(readable("Repeat"), "repeat");
    }
}
