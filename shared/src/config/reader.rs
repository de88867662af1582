//! Reading and parsing one variable at a time, with errors that name it.

use secrecy::SecretString;
use std::collections::HashMap;
use std::fmt::Display;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Where configuration comes from: the process environment, or a map in tests.
pub trait EnvSource {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl EnvSource for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl EnvSource for HashMap<&str, &str> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| (*v).to_owned())
    }
}

/// A variable whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: String,
    pub value: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(var: &str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            var: var.to_owned(),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// A typed view of an [`EnvSource`]. Unset and empty values both mean "use the default",
/// as v2.5's `os.environ.get(...) or default` did.
pub struct Env<'a> {
    source: &'a dyn EnvSource,
}

impl<'a> Env<'a> {
    pub fn new(source: &'a dyn EnvSource) -> Self {
        Self { source }
    }

    /// The trimmed value, or `None` when unset or empty.
    pub fn raw(&self, name: &str) -> Option<String> {
        self.source
            .var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.raw(name).unwrap_or_else(|| default.to_owned())
    }

    pub fn opt_string(&self, name: &str) -> Option<String> {
        self.raw(name)
    }

    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.raw(name).map(PathBuf::from)
    }

    /// Any `FromStr` value.
    pub fn parse<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.raw(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e: T::Err| ConfigError::new(name, v, e.to_string())),
        }
    }

    /// An integer with an inclusive lower bound (v2.5's "≥ N" validations).
    pub fn int_at_least<T>(&self, name: &str, default: T, min: T) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Display + Copy,
        T::Err: Display,
    {
        let value = self.parse(name, default)?;
        if value < min {
            return Err(ConfigError::new(
                name,
                value.to_string(),
                format!("must be at least {min}"),
            ));
        }
        Ok(value)
    }

    /// A TCP/UDP port. 0 means "any free port" (tests) or, for optional listeners,
    /// "disabled"; the caller decides which.
    pub fn port(&self, name: &str, default: u16) -> Result<u16, ConfigError> {
        self.parse(name, default)
    }

    /// `true`/`false` and the usual spellings (`1`/`0`, `yes`/`no`, `on`/`off`), in any
    /// case. v2.5 read anything but "true" as false; a typo is an error here instead.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.raw(name) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::new(name, v, "expected true or false")),
            },
        }
    }

    /// Seconds, integer or fractional (`1`, `1.5`), as v2.5 wrote durations.
    pub fn seconds(&self, name: &str, default_secs: f64) -> Result<Duration, ConfigError> {
        let secs: f64 = self.parse(name, default_secs)?;
        Duration::try_from_secs_f64(secs).map_err(|_| {
            ConfigError::new(
                name,
                secs.to_string(),
                "expected a non-negative number of seconds",
            )
        })
    }

    /// Seconds that must be above zero.
    pub fn positive_seconds(&self, name: &str, default_secs: f64) -> Result<Duration, ConfigError> {
        let d = self.seconds(name, default_secs)?;
        if d.is_zero() {
            return Err(ConfigError::new(name, "0", "must be greater than zero"));
        }
        Ok(d)
    }

    /// A comma-separated list, items trimmed, empty items dropped.
    pub fn list(&self, name: &str, default: &str) -> Vec<String> {
        let text = self.source.var(name).unwrap_or_else(|| default.to_owned());
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A secret from `NAME`, or else from the file named by `NAME_FILE` (trailing newline
    /// removed, as Kubernetes Secret volumes and Vault Agent templates write them).
    pub fn secret(&self, name: &str) -> Result<Option<SecretString>, ConfigError> {
        if let Some(v) = self.source.var(name).filter(|v| !v.is_empty()) {
            return Ok(Some(SecretString::from(v)));
        }
        let file_var = format!("{name}_FILE");
        let Some(path) = self.raw(&file_var) else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::new(
                &file_var,
                path.clone(),
                format!("cannot read the file: {e}"),
            )
        })?;
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            return Err(ConfigError::new(&file_var, path, "the file is empty"));
        }
        Ok(Some(SecretString::from(text.to_owned())))
    }

    /// The first of several names that is set: a v2.5 name and its aliases.
    pub fn secret_any(&self, names: &[&str]) -> Result<Option<SecretString>, ConfigError> {
        for name in names {
            if let Some(s) = self.secret(name)? {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }
}
