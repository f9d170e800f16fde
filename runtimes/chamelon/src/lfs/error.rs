//! littlefs's error codes as an enum; a code the binding does not know is
//! an I/O error.

/// littlefs's errors (`enum lfs_error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// An I/O error of the storage (or a code this binding does not know).
    Io,
    /// No littlefs, or a corrupt one.
    Corrupt,
    /// No such file or directory.
    NoEntry,
    /// It exists already.
    Exists,
    /// A path component is a file.
    NotDir,
    /// A directory where a file was expected.
    IsDir,
    /// The directory is not empty.
    NotEmpty,
    /// A bad argument (a path with a NUL byte, a bad geometry).
    Invalid,
    /// The disk is full.
    NoSpace,
    /// Out of memory.
    NoMemory,
    /// No attribute of that type.
    NoAttribute,
    /// A name longer than littlefs's limit.
    NameTooLong,
}

impl Error {
    /// The error of a negative littlefs return code.
    fn of(code: i32) -> Error {
        use littlefs_rust_core as c;
        match code {
            c::LFS_ERR_CORRUPT => Error::Corrupt,
            c::LFS_ERR_NOENT => Error::NoEntry,
            c::LFS_ERR_EXIST => Error::Exists,
            c::LFS_ERR_NOTDIR => Error::NotDir,
            c::LFS_ERR_ISDIR => Error::IsDir,
            c::LFS_ERR_NOTEMPTY => Error::NotEmpty,
            c::LFS_ERR_INVAL => Error::Invalid,
            c::LFS_ERR_NOSPC => Error::NoSpace,
            c::LFS_ERR_NOMEM => Error::NoMemory,
            c::LFS_ERR_NOATTR => Error::NoAttribute,
            c::LFS_ERR_NAMETOOLONG => Error::NameTooLong,
            _ => Error::Io,
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Error::Io => "I/O error",
            Error::Corrupt => "filesystem corrupt",
            Error::NoEntry => "no such file or directory",
            Error::Exists => "file or directory already exists",
            Error::NotDir => "not a directory",
            Error::IsDir => "is a directory",
            Error::NotEmpty => "directory not empty",
            Error::Invalid => "invalid parameter",
            Error::NoSpace => "no space left on device",
            Error::NoMemory => "out of memory",
            Error::NoAttribute => "no such attribute",
            Error::NameTooLong => "name too long",
        })
    }
}

/// A return code as a result: negative is an error, the rest a count.
pub(super) fn checked(code: i32) -> Result<u32, Error> {
    u32::try_from(code).map_err(|_| Error::of(code))
}
