//! Tags: short lowercase labels, unique within a task.

use super::FieldError;

pub const MAX_TAGS: usize = 10;
pub const MAX_TAG_CHARS: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    /// Trims and lowercases; 1 to 30 characters without whitespace or control characters.
    ///
    /// # Errors
    /// When the tag is empty, too long, or holds whitespace or control characters.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let tag = raw.trim().to_lowercase();
        let chars = tag.chars().count();
        if chars == 0 || chars > MAX_TAG_CHARS {
            return Err(FieldError::new(
                "",
                format!("a tag must be 1 to {MAX_TAG_CHARS} characters (got {chars})"),
            ));
        }
        if tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldError::new(
                "",
                "a tag must not contain whitespace or control characters",
            ));
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// At most ten distinct tags, in the order first given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(Vec<Tag>);

impl Tags {
    /// Parses every tag, drops duplicates that differ only in case or spacing.
    ///
    /// # Errors
    /// Every tag that fails to parse, or too many distinct tags.
    pub fn parse(raw: &[String]) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut tags: Vec<Tag> = Vec::new();
        // A set beside the list keeps the check linear in the number of tags sent.
        let mut seen = std::collections::HashSet::new();
        for (i, value) in raw.iter().enumerate() {
            match Tag::parse(value) {
                Ok(tag) if seen.insert(tag.clone()) => tags.push(tag),
                Ok(_) => {}
                Err(error) => errors.push(error.under(&format!("tags[{i}]"))),
            }
        }
        if errors.is_empty() && tags.len() > MAX_TAGS {
            errors.push(FieldError::new(
                "tags",
                format!("at most {MAX_TAGS} tags are allowed (got {})", tags.len()),
            ));
        }
        if errors.is_empty() {
            Ok(Self(tags))
        } else {
            Err(errors)
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|t| t.0.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalised_and_unique() {
        let tags = Tags::parse(&["Work".into(), " work ".into(), "HOME".into()]).unwrap();
        assert_eq!(tags.to_strings(), vec!["work", "home"]);
    }

    #[test]
    fn bad_tags_are_named() {
        let errors = Tags::parse(&["ok".into(), "".into(), "x".repeat(31)]).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["tags[1]", "tags[2]"]);
        let many: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert_eq!(Tags::parse(&many).unwrap_err()[0].field, "tags");
    }
}
