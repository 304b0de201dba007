//! The owner of tasks, as named by the `sub` claim of the caller's token.

use super::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// # Errors
    /// When the id is empty, longer than 255 bytes, or holds control characters.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() || raw.len() > 255 || raw.chars().any(char::is_control) {
            return Err(FieldError::new(
                "sub",
                "user id must be 1 to 255 bytes without control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
