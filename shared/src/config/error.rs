//! The one configuration error of every part (settings, secrets, each
//! function's own settings): every problem found, reported at once.

use std::borrow::Cow;
use std::fmt;

/// One configuration problem: which variable, what is wrong, and a right value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub variable: Cow<'static, str>,
    pub message: String,
    pub example: Cow<'static, str>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)?;
        if !self.example.is_empty() {
            write!(f, " (example: {}={})", self.variable, self.example)?;
        }
        Ok(())
    }
}

/// All problems found, reported at once: the one configuration error type of
/// every part (settings, secrets, each function's own settings), so a cold
/// start reports everything wrong in one record
/// ([`cold_start_failed`](crate::logging::cold_start_failed)).
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// One problem.
    pub fn one(
        variable: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
        example: impl Into<Cow<'static, str>>,
    ) -> Self {
        let mut e = ConfigError::default();
        e.add(variable, message, example);
        e
    }

    pub fn add(
        &mut self,
        variable: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
        example: impl Into<Cow<'static, str>>,
    ) {
        self.problems.push(Problem {
            variable: variable.into(),
            message: message.into(),
            example: example.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// `value` when no problem was found, else every problem.
    pub fn or_ok<T>(self, value: T) -> Result<T, ConfigError> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// Both parts, or the problems of either and both: read everything before
    /// failing, so one cold start reports every problem.
    pub fn both<A, B>(
        a: Result<A, ConfigError>,
        b: Result<B, ConfigError>,
    ) -> Result<(A, B), ConfigError> {
        match (a, b) {
            (Ok(a), Ok(b)) => Ok((a, b)),
            (a, b) => {
                let mut all = a.err().unwrap_or_default();
                all.problems.extend(b.err().unwrap_or_default().problems);
                Err(all)
            }
        }
    }
}

impl From<crate::secrets::SecretError> for ConfigError {
    fn from(e: crate::secrets::SecretError) -> Self {
        // The variable is set; what failed is reading it, so no example.
        ConfigError::one(e.variable, e.message, "")
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid configuration ({} problem(s)):",
            self.problems.len()
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}
