//! Idempotency keys: the first response to a (user, key) is stored in the same transaction
//! as the work, and a retry with the same body gets that response back.

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::rows::Bind;
use super::sql::{fetch_one, Exec};
use crate::domain::UserId;

/// A request that carried an Idempotency-Key header.
#[derive(Debug, Clone)]
pub struct IdempotencyRequest {
    key: String,
    request_hash: String,
}

impl IdempotencyRequest {
    /// `body` is the parsed request; hashing its canonical form makes a retry with other
    /// whitespace or key order count as the same request.
    pub fn new(key: String, body: &serde_json::Value) -> Self {
        let canonical = serde_json::to_vec(body).unwrap_or_default();
        Self {
            key,
            request_hash: hex::encode(Sha256::digest(canonical)),
        }
    }
}

/// The response given to the first request with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

pub(super) enum Claim {
    New,
    Replay(StoredResponse),
    Mismatch,
    InFlight,
}

/// Claims the key for this transaction. On PostgreSQL a concurrent first request holds the
/// row until it commits, so the insert waits and then sees its finished response.
pub(super) async fn claim(tx: &mut dyn Exec, user: &UserId, request: &IdempotencyRequest) -> anyhow::Result<Claim> {
    let binds = [
        Bind::Text(user.as_str().to_owned()),
        Bind::Text(request.key.clone()),
        Bind::Text(request.request_hash.clone()),
        Bind::Text(crate::time::format(crate::time::now())),
    ];
    let inserted = tx
        .execute(
            "INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, idempotency_key) DO NOTHING",
            &binds,
        )
        .await
        .context("claim idempotency key")?;
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let record = fetch_one(
        tx,
        "SELECT request_hash, response_status, response_body FROM idempotency_keys \
         WHERE user_id = $1 AND idempotency_key = $2",
        &binds[..2],
    )
    .await
    .context("read idempotency key")?;
    let mut columns = record.columns();
    let (hash, status, body) = (columns.text()?, columns.opt_int()?, columns.opt_text()?);
    Ok(match (hash == request.request_hash, status, body) {
        (false, _, _) => Claim::Mismatch,
        (true, Some(status), Some(body)) => Claim::Replay(StoredResponse {
            status: u16::try_from(status).unwrap_or(200),
            body,
        }),
        (true, _, _) => Claim::InFlight,
    })
}

pub(super) async fn complete(
    tx: &mut dyn Exec,
    user: &UserId,
    request: &IdempotencyRequest,
    response: &StoredResponse,
) -> anyhow::Result<()> {
    let binds = [
        Bind::Int(i64::from(response.status)),
        Bind::Text(response.body.clone()),
        Bind::Text(user.as_str().to_owned()),
        Bind::Text(request.key.clone()),
    ];
    tx.execute(
        "UPDATE idempotency_keys SET response_status = $1, response_body = $2 \
         WHERE user_id = $3 AND idempotency_key = $4",
        &binds,
    )
    .await
    .context("store idempotent response")?;
    Ok(())
}
