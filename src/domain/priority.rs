//! How urgent a task is. Stored as a rank so that sorting by priority is sorting by number.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const NAMES: &'static str = "low, medium, high, urgent";
    /// Every priority, lowest first.
    pub const ALL: [Self; 4] = [Self::Low, Self::Medium, Self::High, Self::Urgent];

    pub fn rank(self) -> i64 {
        match self {
            Self::Low => 0,
            Self::Medium => 1,
            Self::High => 2,
            Self::Urgent => 3,
        }
    }

    pub fn from_rank(rank: i64) -> Option<Self> {
        Some(match rank {
            0 => Self::Low,
            1 => Self::Medium,
            2 => Self::High,
            3 => Self::Urgent,
            _ => return None,
        })
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "urgent" => Self::Urgent,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }
}
