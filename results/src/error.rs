//! Why a results file cannot be read or written, with the file at fault.

use std::fmt;
use std::path::{Path, PathBuf};

/// A results folder that cannot be read or written, with the file at fault.
#[derive(Debug)]
pub struct ResultsError {
    pub file: PathBuf,
    pub message: String,
}

impl ResultsError {
    pub fn new(file: &Path, message: impl fmt::Display) -> ResultsError {
        ResultsError {
            file: file.to_path_buf(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for ResultsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for ResultsError {}
