//! The device graph as users declare it: one concept per module.

pub mod attr;
pub mod device;
pub mod key;
pub mod krate;
pub mod resource;
pub mod rule;
pub mod runtime_arg;
pub mod schema;
