//! Free-text fields of a task.

use super::FieldError;

pub const MAX_TITLE_CHARS: usize = 255;
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// A title of 1 to 255 characters with no surrounding whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    /// # Errors
    /// When the trimmed title is empty, too long, or holds control characters.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let title = raw.trim();
        let chars = title.chars().count();
        if chars == 0 {
            return Err(FieldError::new("title", "must not be empty"));
        }
        if chars > MAX_TITLE_CHARS {
            return Err(FieldError::new(
                "title",
                format!("must be at most {MAX_TITLE_CHARS} characters (got {chars})"),
            ));
        }
        if title.chars().any(char::is_control) {
            return Err(FieldError::new("title", "must not contain control characters"));
        }
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A description of at most 10,000 characters (empty when absent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    /// # Errors
    /// When the description is longer than allowed.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let chars = raw.chars().count();
        if chars > MAX_DESCRIPTION_CHARS {
            return Err(FieldError::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters (got {chars})"),
            ));
        }
        // Line breaks and tabs belong in prose; other control characters (NUL above all,
        // which PostgreSQL cannot store in text) do not.
        if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(FieldError::new(
                "description",
                "must not contain control characters other than line breaks and tabs",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_is_trimmed_and_bounded() {
        assert_eq!(TaskTitle::parse("  buy milk ").unwrap().as_str(), "buy milk");
        assert!(TaskTitle::parse("   ").is_err());
        assert!(TaskTitle::parse(&"é".repeat(255)).is_ok());
        assert!(TaskTitle::parse(&"é".repeat(256)).is_err());
        assert!(TaskTitle::parse("a\u{0}b").is_err());
    }

    #[test]
    fn description_is_bounded() {
        assert!(Description::parse(&"x".repeat(10_000)).is_ok());
        assert!(Description::parse(&"x".repeat(10_001)).is_err());
        assert!(Description::parse("line\nbreak\ttab").is_ok());
        assert!(Description::parse("nul\u{0}").is_err());
    }
}
