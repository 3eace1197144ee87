//! `ConfigError` and `ConfigProblem`: every problem names its section, its option and
//! what is allowed.

use std::fmt;
use std::path::PathBuf;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("cannot parse config{}: {message}", in_file(path.as_deref()))]
    Parse {
        /// The file, if the text came from one.
        path: Option<PathBuf>,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The configuration parsed but has problems; all of them are listed.
    #[error("{}", list_problems(.0))]
    Invalid(Vec<ConfigProblem>),
}

impl ConfigError {
    /// The problems, if the configuration parsed but is invalid.
    pub fn problems(&self) -> &[ConfigProblem] {
        match self {
            ConfigError::Invalid(problems) => problems,
            _ => &[],
        }
    }
}

fn in_file(path: Option<&std::path::Path>) -> String {
    path.map(|p| format!(" file {}", p.display()))
        .unwrap_or_default()
}

fn list_problems(problems: &[ConfigProblem]) -> String {
    let mut s = format!(
        "invalid configuration ({} problem{}):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str("\n  ");
        s.push_str(&p.to_string());
    }
    s
}

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The section, as written in TOML (`settings`, `endpoints.1`); `environment` for a
    /// `PARLEY_` variable that names no option.
    pub section: String,
    /// The option (or the variable's name); empty when the problem is the section.
    pub option: String,
    /// The offending value as TOML, when it is safe to show (never for secrets).
    pub value: Option<String>,
    /// What is wrong, naming the allowed values or range.
    pub message: String,
}

impl ConfigProblem {
    pub(super) fn new(
        section: impl Into<String>,
        option: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigProblem {
        ConfigProblem {
            section: section.into(),
            option: option.into(),
            value: None,
            message: message.into(),
        }
    }

    pub(super) fn with_value(mut self, value: impl fmt::Display) -> ConfigProblem {
        self.value = Some(value.to_string());
        self
    }
}

/// `[settings] transcript-auto-save = 5: allowed values are 0, 1, 2`
impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.section)?;
        if !self.option.is_empty() {
            write!(f, " {}", self.option)?;
        }
        if let Some(value) = &self.value {
            write!(f, " = {value}")?;
        }
        write!(f, ": {}", self.message)
    }
}
