//! Full-text search scoped to its user inside the index. A task's indexed words are its
//! title's and description's words, each prefixed with a key derived from the owner, and a
//! search asks for the caller's key followed by each word. The index (FTS5 or GIN) then reads
//! only the caller's terms: another user's many tasks cannot slow a search, and a prefix
//! such as `a*` never merges every user's words beginning with `a`.
//!
//! Words are runs of letters and digits, lower-cased, as [`super::ListQuery::search_words`]
//! splits a search; the same split on both sides is what makes a word match.

use std::collections::BTreeSet;

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::Store;
use crate::domain::UserId;

/// Longest word kept, in characters (a search word is cut the same way).
pub const MAX_WORD_CHARS: usize = 64;

/// The owner's key: letters and digits only, so every tokenizer keeps it joined to the word.
/// Two users sharing a key would only read each other's terms; the query still filters by
/// user, so nothing is shown across users.
pub fn user_key(user: &str) -> String {
    let digest = Sha256::digest(user.as_bytes());
    format!("u{}x", hex::encode(&digest[..8]))
}

/// The words of `text`, as a search splits them.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().chars().take(MAX_WORD_CHARS).collect())
}

/// What the index holds for a task of `user`: each distinct word of `title` and
/// `description` behind the user's key (the key alone when there is no word, so no stored
/// task has empty words: those are the rows [`Store::migrate`] fills).
pub fn document(user: &str, title: &str, description: &str) -> String {
    let key = user_key(user);
    let distinct: BTreeSet<String> = words(title).chain(words(description)).collect();
    if distinct.is_empty() {
        return key;
    }
    distinct
        .into_iter()
        .map(|word| format!("{key}{word}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rows written before search was scoped per user, filled per batch.
const BACKFILL_BATCH: i64 = 500;

impl Store {
    /// Gives every task still without indexed words its words.
    pub(super) async fn backfill_search_words(&self) -> anyhow::Result<u64> {
        let mut filled = 0;
        loop {
            let rows: Vec<(String, String, String, String)> =
                sqlx::query_as("SELECT id, user_id, title, description FROM tasks WHERE words = '' LIMIT $1")
                    .bind(BACKFILL_BATCH)
                    .fetch_all(&self.writer)
                    .await
                    .context("read tasks without search words")?;
            if rows.is_empty() {
                return Ok(filled);
            }
            let mut tx = self.begin().await?;
            for (id, user, title, description) in &rows {
                sqlx::query("UPDATE tasks SET words = $1 WHERE id = $2")
                    .bind(document(user, title, description))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .context("fill search words")?;
            }
            tx.commit().await.context("commit search words")?;
            filled += rows.len() as u64;
        }
    }
}

/// The words of a search for `user`: each must begin a word of the user's task.
pub fn query_terms(user: &UserId, words: &[String]) -> Vec<String> {
    let key = user_key(user.as_str());
    words.iter().map(|word| format!("{key}{word}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_hold_each_distinct_word_behind_the_owners_key() {
        let key = user_key("alice");
        assert_eq!(
            document("alice", "Buy milk", "milk, bread & Café-au-lait"),
            format!("{key}au {key}bread {key}buy {key}café {key}lait {key}milk")
        );
        assert_ne!(user_key("alice"), user_key("bob"));
        assert!(user_key("alice").chars().all(char::is_alphanumeric));
        assert_eq!(document("alice", "!!!", ""), key, "never empty");
    }
}
