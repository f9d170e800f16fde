//! Attribute values recorded from Starlark, detached from its heap.
//!
//! Natives convert their keyword arguments to [`AttrValue`] at call time, so
//! recorded rules outlive the evaluator. `select()` produces a [`Select`]
//! value, which converts to [`AttrValue::Select`].

use std::fmt;

use allocative::Allocative;
use starlark::starlark_simple_value;
use starlark::values::dict::DictRef;
use starlark::values::list::ListRef;
use starlark::values::tuple::TupleRef;
use starlark::values::{NoSerialize, ProvidesStaticType, StarlarkValue, Value, ValueLike};
use starlark_derive::{starlark_value, StarlarkPagablePanic};

/// A Starlark value as recorded in a rule's attributes.
#[derive(Clone, Debug, PartialEq, Allocative)]
pub enum AttrValue {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string (labels are strings until the model resolves them).
    Str(String),
    /// A list or tuple.
    List(Vec<AttrValue>),
    /// A dict, in insertion order.
    Dict(Vec<(AttrValue, AttrValue)>),
    /// `select({condition: value, ...})`, in insertion order.
    Select(Vec<(String, AttrValue)>),
}

impl AttrValue {
    /// Converts a Starlark value; fails on functions, structs and the like.
    pub fn from_value(v: Value) -> Result<AttrValue, String> {
        if v.is_none() {
            return Ok(AttrValue::None);
        }
        if let Some(b) = v.unpack_bool() {
            return Ok(AttrValue::Bool(b));
        }
        if let Some(i) = v.unpack_i32() {
            return Ok(AttrValue::Int(i.into()));
        }
        if let Some(s) = v.unpack_str() {
            return Ok(AttrValue::Str(s.to_owned()));
        }
        if let Some(list) = ListRef::from_value(v) {
            return list
                .iter()
                .map(AttrValue::from_value)
                .collect::<Result<_, _>>()
                .map(AttrValue::List);
        }
        if let Some(tuple) = TupleRef::from_value(v) {
            return tuple
                .iter()
                .map(AttrValue::from_value)
                .collect::<Result<_, _>>()
                .map(AttrValue::List);
        }
        if let Some(dict) = DictRef::from_value(v) {
            let entries = dict
                .iter()
                .map(|(k, v)| Ok((AttrValue::from_value(k)?, AttrValue::from_value(v)?)))
                .collect::<Result<_, String>>()?;
            return Ok(AttrValue::Dict(entries));
        }
        if let Some(select) = v.downcast_ref::<Select>() {
            return Ok(AttrValue::Select(select.0.clone()));
        }
        Err(format!(
            "values of type `{}` cannot be attributes",
            v.get_type()
        ))
    }

    /// The Starlark type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttrValue::None => "NoneType",
            AttrValue::Bool(_) => "bool",
            AttrValue::Int(_) => "int",
            AttrValue::Str(_) => "string",
            AttrValue::List(_) => "list",
            AttrValue::Dict(_) => "dict",
            AttrValue::Select(_) => "select",
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// The value of `select({...})`: conditions in insertion order.
#[derive(Clone, Debug, ProvidesStaticType, NoSerialize, Allocative, StarlarkPagablePanic)]
pub struct Select(pub Vec<(String, AttrValue)>);

starlark_simple_value!(Select);

impl fmt::Display for Select {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "select({{")?;
        for (i, (cond, _)) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{cond:?}: ...")?;
        }
        write!(f, "}})")
    }
}

#[starlark_value(type = "select")]
impl<'v> StarlarkValue<'v> for Select {}
