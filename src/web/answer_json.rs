//! Answers' JSON, byte for byte what `serde_json::to_vec` writes, with one cost taken
//! out: a value that serializes itself through `Display` (`collect_str`: chrono's
//! timestamps and dates among them) is formatted first and escaped once, instead of
//! being escaped one `Display` write at a time. chrono writes a timestamp a character
//! at a time, so on a page of contracts that was an eighth of the server's
//! instructions (docs/benchmarks.md, "The request path against the build before events
//! and jobs").
//!
//! [`to_vec`] wraps serde_json's serializer in [`OnePiece`], which hands every method
//! on unchanged, wraps what it serializes inside (elements, fields, keys, values) so
//! that they reach it too, and changes `collect_str` alone.

use std::fmt::{Display, Write as _};

use serde::ser::{
    SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant,
};
use serde::{Serialize, Serializer};

/// `value` as JSON, as `serde_json::to_vec` would write it.
pub fn to_vec<T: ?Sized + Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    value.serialize(OnePiece(&mut serde_json::Serializer::new(&mut out)))?;
    Ok(out)
}

/// A serializer that serializes as the one it wraps, `collect_str` in one piece.
struct OnePiece<S>(S);

/// A value to serialize inside [`OnePiece`].
struct Inside<'a, T: ?Sized>(&'a T);

impl<T: ?Sized + Serialize> Serialize for Inside<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(OnePiece(serializer))
    }
}

/// Hands each method on to the wrapped serializer as it is.
macro_rules! hand_on {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
            self.0.$method($($arg),*)
        })*
    };
}

/// Opens the wrapped serializer's compound and wraps it, so its parts come back here.
macro_rules! open_compound {
    ($($method:ident($($arg:ident: $ty:ty),*) -> $compound:ident;)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<Self::$compound, S::Error> {
            self.0.$method($($arg),*).map(OnePiece)
        })*
    };
}

impl<S: Serializer> Serializer for OnePiece<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = OnePiece<S::SerializeSeq>;
    type SerializeTuple = OnePiece<S::SerializeTuple>;
    type SerializeTupleStruct = OnePiece<S::SerializeTupleStruct>;
    type SerializeTupleVariant = OnePiece<S::SerializeTupleVariant>;
    type SerializeMap = OnePiece<S::SerializeMap>;
    type SerializeStruct = OnePiece<S::SerializeStruct>;
    type SerializeStructVariant = OnePiece<S::SerializeStructVariant>;

    hand_on! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&Inside(value))
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, &Inside(value))
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, &Inside(value))
    }

    open_compound! {
        serialize_seq(len: Option<usize>) -> SerializeSeq;
        serialize_tuple(len: usize) -> SerializeTuple;
        serialize_tuple_struct(name: &'static str, len: usize) -> SerializeTupleStruct;
        serialize_tuple_variant(
            name: &'static str, index: u32, variant: &'static str, len: usize
        ) -> SerializeTupleVariant;
        serialize_map(len: Option<usize>) -> SerializeMap;
        serialize_struct(name: &'static str, len: usize) -> SerializeStruct;
        serialize_struct_variant(
            name: &'static str, index: u32, variant: &'static str, len: usize
        ) -> SerializeStructVariant;
    }

    /// The one change: formatted whole, then written as one string.
    fn collect_str<T: ?Sized + Display>(self, value: &T) -> Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(40);
        write!(text, "{value}").map_err(|_| serde::ser::Error::custom("Display failed"))?;
        self.0.serialize_str(&text)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// The compounds whose parts have no names: each part goes in as [`Inside`].
macro_rules! unnamed_parts {
    ($($compound:ident::$part:ident),*) => {
        $(impl<S: $compound> $compound for OnePiece<S> {
            type Ok = S::Ok;
            type Error = S::Error;
            fn $part<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), S::Error> {
                self.0.$part(&Inside(value))
            }
            fn end(self) -> Result<S::Ok, S::Error> {
                self.0.end()
            }
        })*
    };
}

unnamed_parts!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The compounds whose fields have names: each value goes in as [`Inside`].
macro_rules! named_fields {
    ($($compound:ident),*) => {
        $(impl<S: $compound> $compound for OnePiece<S> {
            type Ok = S::Ok;
            type Error = S::Error;
            fn serialize_field<T: ?Sized + Serialize>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), S::Error> {
                self.0.serialize_field(key, &Inside(value))
            }
            fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
                self.0.skip_field(key)
            }
            fn end(self) -> Result<S::Ok, S::Error> {
                self.0.end()
            }
        })*
    };
}

named_fields!(SerializeStruct, SerializeStructVariant);

impl<S: SerializeMap> SerializeMap for OnePiece<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), S::Error> {
        self.0.serialize_key(&Inside(key))
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_value(&Inside(value))
    }
    fn serialize_entry<K: ?Sized + Serialize, V: ?Sized + Serialize>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), S::Error> {
        self.0.serialize_entry(&Inside(key), &Inside(value))
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

#[cfg(test)]
mod tests;
