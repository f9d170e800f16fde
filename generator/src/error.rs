//! Errors a user can act on.
//!
//! Every user error carries one line of cause and, when the cause sits in a
//! BUILD or .bzl file, the `file:line:col` it points at; a command-line
//! mistake is `mirage: error: ...`, with no location. The CLI exits with
//! [`USER_ERROR_EXIT`] for these and 1 for failures of the machine (I/O,
//! cargo).

use std::fmt;

/// Exit code for bad input: Starlark errors, type mismatches, unknown names.
pub const USER_ERROR_EXIT: i32 = 2;

/// A position in a BUILD or .bzl file, relative to its repository root.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Loc {
    /// Display path, such as `examples/hello/BUILD.bazel` or
    /// `@rules_mirage/rules_mirage/devices/BUILD.bazel`.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// What went wrong, and whose fault it is.
#[derive(Debug)]
pub enum Error {
    /// Bad input from the user: exit code 2.
    User {
        /// Where in the user's files, if anywhere.
        loc: Option<Loc>,
        /// One line of cause.
        message: String,
    },
    /// The machine failed us (I/O, a tool): exit code 1.
    System(String),
}

/// Results of the generator.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A user error at `loc`.
    pub fn at(loc: &Loc, message: impl Into<String>) -> Self {
        Error::User {
            loc: Some(loc.clone()),
            message: message.into(),
        }
    }

    /// A user error with no file position (a bad command-line flag).
    pub fn user(message: impl Into<String>) -> Self {
        Error::User {
            loc: None,
            message: message.into(),
        }
    }

    /// A failure of the machine or of a tool we ran.
    pub fn system(message: impl Into<String>) -> Self {
        Error::System(message.into())
    }

    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::User { .. } => USER_ERROR_EXIT,
            Error::System(_) => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::User {
                loc: Some(loc),
                message,
            } => write!(f, "{loc}: error: {message}"),
            Error::User { loc: None, message } => write!(f, "mirage: error: {message}"),
            Error::System(message) => write!(f, "mirage: error: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<mirage_unit::Error> for Error {
    fn from(e: mirage_unit::Error) -> Self {
        match e {
            mirage_unit::Error::User(message) => Error::user(message),
            mirage_unit::Error::System(message) => Error::system(message),
        }
    }
}

/// Adds a description of the I/O operation to an `io::Error`.
pub trait IoContext<T> {
    /// Maps the error to [`Error::System`], naming what was attempted.
    fn io_context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn io_context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::system(format!("{}: {e}", what())))
    }
}
