//! The hand-written redis-rs client for the same views: the baseline of the latency table. What
//! a competent engineer writes directly against redis-rs: `format!` keys, `redis::cmd` /
//! `redis::pipe`, `query_async::<Value>` and a decoder that takes the reply tree apart by value
//! (`from_utf8` + `parse`).

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use redis::aio::MultiplexedConnection;
use redis::Value;

use crate::views::{Fraud, Two, UserProfile};

pub type HResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
pub const PROFILE_FIELDS: [&str; 8] = [
    "age",
    "lifetime_value",
    "segment",
    "is_premium",
    "country",
    "days_since_signup",
    "embedding",
    "_updated_at",
];
pub const TWO_FIELDS: [&str; 3] = ["age", "lifetime_value", "_updated_at"];
pub const VEC_PROFILE: [&str; 4] = ["age", "lifetime_value", "segment", "_updated_at"];
pub const VEC_RISK: [&str; 3] = ["fraud_score", "txn_count_24h", "_updated_at"];
pub const VEC_ACTIVITY: [&str; 3] = ["sessions_7d", "last_category", "_updated_at"];
const RISK_MAX_AGE_MS: u64 = 600_000;
const PROFILE_TTL_MS: u64 = 3_600_000;

fn bad(what: &str) -> Box<dyn std::error::Error + Send + Sync> {
    what.to_owned().into()
}

/// The values of an `HMGET` reply, by value.
fn array(reply: Value, n: usize) -> HResult<Vec<Value>> {
    match reply {
        Value::Array(v) if v.len() == n => Ok(v),
        other => Err(bad(&format!("expected {n} values, got {other:?}"))),
    }
}

fn bytes(v: Value) -> HResult<Option<Vec<u8>>> {
    match v {
        Value::Nil => Ok(None),
        Value::BulkString(b) => Ok(Some(b)),
        other => Err(bad(&format!("expected a string, got {other:?}"))),
    }
}

fn req(v: Value, field: &str) -> HResult<Vec<u8>> {
    bytes(v)?.ok_or_else(|| bad(&format!("missing {field}")))
}

fn int(b: &[u8]) -> HResult<i64> {
    Ok(std::str::from_utf8(b)?.parse()?)
}

fn float(b: &[u8]) -> HResult<f64> {
    Ok(std::str::from_utf8(b)?.parse()?)
}

fn boolean(b: &[u8]) -> HResult<bool> {
    match b {
        b"true" | b"True" | b"1" => Ok(true),
        b"false" | b"False" | b"0" => Ok(false),
        _ => Err(bad("not a bool")),
    }
}

/// A `json` list (`[0.5, 1.5]`, as Python's `json.dumps` writes it) of 8 floats.
fn floats(b: &[u8]) -> HResult<Vec<f32>> {
    let text = std::str::from_utf8(b)?.trim();
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| bad("embedding is not a JSON list"))?;
    let values = inner
        .split(',')
        .map(|x| x.trim().parse::<f32>())
        .collect::<Result<Vec<f32>, _>>()?;
    if values.len() != 8 {
        return Err(bad("embedding length"));
    }
    Ok(values)
}

fn absent(values: &[Value]) -> bool {
    values.iter().all(|v| matches!(v, Value::Nil))
}

pub fn decode_profile(reply: Value) -> HResult<Option<UserProfile>> {
    let values = array(reply, PROFILE_FIELDS.len())?;
    if absent(&values) {
        return Ok(None);
    }
    let mut v = values.into_iter();
    let mut next = || v.next().unwrap_or(Value::Nil);
    Ok(Some(UserProfile {
        age: int(&req(next(), "age")?)?,
        lifetime_value: float(&req(next(), "lifetime_value")?)?,
        segment: String::from_utf8(req(next(), "segment")?)?,
        is_premium: bytes(next())?.map_or(Ok(false), |b| boolean(&b))?,
        country: bytes(next())?.map(String::from_utf8).transpose()?,
        days_since_signup: int(&req(next(), "days_since_signup")?)?,
        embedding: floats(&req(next(), "embedding")?)?,
    }))
}

fn key(view: &str, id: &str) -> String {
    format!("fs:v1:{view}:{id}")
}

pub async fn read(conn: &mut MultiplexedConnection, id: &str) -> HResult<Option<UserProfile>> {
    let reply: Value = redis::cmd("HMGET")
        .arg(key("user_profile", id))
        .arg(&PROFILE_FIELDS[..])
        .query_async(conn)
        .await?;
    decode_profile(reply)
}

pub async fn read_two(conn: &mut MultiplexedConnection, id: &str) -> HResult<Option<Two>> {
    let reply: Value = redis::cmd("HMGET")
        .arg(key("user_profile", id))
        .arg(&TWO_FIELDS[..])
        .query_async(conn)
        .await?;
    let values = array(reply, TWO_FIELDS.len())?;
    if absent(&values) {
        return Ok(None);
    }
    let mut v = values.into_iter();
    let mut next = || v.next().unwrap_or(Value::Nil);
    Ok(Some(Two {
        age: int(&req(next(), "age")?)?,
        lifetime_value: float(&req(next(), "lifetime_value")?)?,
    }))
}

/// One pipeline of `HMGET`s per `chunk` ids.
pub async fn read_batch(
    conn: &mut MultiplexedConnection,
    ids: &[&str],
    chunk: usize,
) -> HResult<Vec<Option<UserProfile>>> {
    let mut out = Vec::with_capacity(ids.len());
    for part in ids.chunks(chunk) {
        let mut pipe = redis::pipe();
        for id in part {
            pipe.cmd("HMGET")
                .arg(key("user_profile", id))
                .arg(&PROFILE_FIELDS[..]);
        }
        let replies: Vec<Value> = pipe.query_async(conn).await?;
        for reply in replies {
            out.push(decode_profile(reply)?);
        }
    }
    Ok(out)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `_updated_at` as stored: epoch seconds with a millisecond fraction (`1796101050.697`).
fn stamp(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// A stored `_updated_at` in epoch milliseconds: seconds with a fraction, or integer
/// milliseconds.
fn stamp_ms(b: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(b).ok()?;
    match text.parse::<u64>() {
        Ok(ms) => Some(ms),
        Err(_) => text.parse::<f64>().ok().map(|s| (s * 1000.0) as u64),
    }
}

pub async fn vector(conn: &mut MultiplexedConnection, id: &str) -> HResult<Fraud> {
    let mut pipe = redis::pipe();
    pipe.cmd("HMGET")
        .arg(key("user_profile", id))
        .arg(&VEC_PROFILE[..])
        .cmd("HMGET")
        .arg(key("user_risk_profile", id))
        .arg(&VEC_RISK[..])
        .cmd("HMGET")
        .arg(key("user_activity", id))
        .arg(&VEC_ACTIVITY[..]);
    let (p, r, a): (Value, Value, Value) = pipe.query_async(conn).await?;
    let now = now_ms();

    let p = array(p, VEC_PROFILE.len())?;
    if absent(&p) {
        return Err(bad("missing user_profile.age"));
    }
    let mut p = p.into_iter();
    let age = int(&req(p.next().unwrap_or_default(), "age")?)?;
    let ltv = float(&req(p.next().unwrap_or_default(), "lifetime_value")?)?;
    let segment = String::from_utf8(req(p.next().unwrap_or_default(), "segment")?)?;

    // `max_age = "10m"`: an older (or unstamped) row counts as missing.
    let r = array(r, VEC_RISK.len())?;
    let fresh = !absent(&r)
        && match &r[2] {
            Value::BulkString(b) => {
                stamp_ms(b).is_some_and(|at| now.saturating_sub(at) <= RISK_MAX_AGE_MS)
            }
            _ => false,
        };
    let (fraud_score, txn_count_24h) = if fresh {
        let mut r = r.into_iter();
        let score = float(&req(r.next().unwrap_or_default(), "fraud_score")?)?;
        let txn = bytes(r.next().unwrap_or_default())?.map_or(Ok(0), |b| int(&b))?;
        (score, txn)
    } else {
        return Err(bad("missing user_risk_profile.fraud_score"));
    };

    let a = array(a, VEC_ACTIVITY.len())?;
    if absent(&a) {
        return Err(bad("missing user_activity.sessions_7d"));
    }
    let mut a = a.into_iter();
    let sessions_7d = int(&req(a.next().unwrap_or_default(), "sessions_7d")?)?;
    let last_category = bytes(a.next().unwrap_or_default())?
        .map(String::from_utf8)
        .transpose()?;
    Ok(Fraud {
        age,
        ltv,
        segment,
        fraud_score,
        txn_count_24h,
        sessions_7d,
        last_category,
    })
}

/// The `json` text of a list, as Python's `json.dumps` writes it: `[0.5, 1.5]`.
fn embedding_json(e: &[f32]) -> String {
    let items: Vec<String> = e.iter().map(|f| format!("{f:?}")).collect();
    format!("[{}]", items.join(", "))
}

/// Non-atomic: per entity `HSET key <features> _updated_at <now>` and `PEXPIRE key 3600000`
/// (and `HDEL key country` when it is `None`), all in one pipeline.
pub async fn write_batch(
    conn: &mut MultiplexedConnection,
    rows: &[(&str, &UserProfile)],
) -> HResult<()> {
    let now = stamp(now_ms());
    let mut pipe = redis::pipe();
    for (id, row) in rows {
        let key = key("user_profile", id);
        let hset = pipe
            .cmd("HSET")
            .arg(&key)
            .arg("age")
            .arg(row.age)
            .arg("lifetime_value")
            .arg(row.lifetime_value)
            .arg("segment")
            .arg(&row.segment)
            .arg("is_premium")
            .arg(if row.is_premium { "true" } else { "false" });
        if let Some(country) = &row.country {
            hset.arg("country").arg(country);
        }
        hset.arg("days_since_signup")
            .arg(row.days_since_signup)
            .arg("embedding")
            .arg(embedding_json(&row.embedding))
            .arg("_updated_at")
            .arg(&now)
            .ignore();
        if row.country.is_none() {
            pipe.cmd("HDEL").arg(&key).arg("country").ignore();
        }
        pipe.cmd("PEXPIRE").arg(&key).arg(PROFILE_TTL_MS).ignore();
    }
    pipe.query_async::<()>(conn).await?;
    Ok(())
}

/// Atomic: fstore's write script, `EVALSHA sha 1 key ttl n <pairs> [country]` per entity.
pub async fn write_batch_atomic(
    conn: &mut MultiplexedConnection,
    rows: &[(&str, &UserProfile)],
) -> HResult<()> {
    let now = stamp(now_ms());
    let sha = write_script_sha();
    let mut pipe = redis::pipe();
    for (id, row) in rows {
        // The features present, plus `_updated_at`.
        let pairs = if row.country.is_some() { 8 } else { 7 };
        let cmd = pipe
            .cmd("EVALSHA")
            .arg(sha)
            .arg(1)
            .arg(key("user_profile", id))
            .arg(PROFILE_TTL_MS)
            .arg(pairs)
            .arg("age")
            .arg(row.age)
            .arg("lifetime_value")
            .arg(row.lifetime_value)
            .arg("segment")
            .arg(&row.segment)
            .arg("is_premium")
            .arg(if row.is_premium { "true" } else { "false" });
        if let Some(country) = &row.country {
            cmd.arg("country").arg(country);
        }
        cmd.arg("days_since_signup")
            .arg(row.days_since_signup)
            .arg("embedding")
            .arg(embedding_json(&row.embedding))
            .arg("_updated_at")
            .arg(&now);
        if row.country.is_none() {
            cmd.arg("country");
        }
        cmd.ignore();
    }
    pipe.query_async::<()>(conn).await?;
    Ok(())
}

/// The SHA-1 of fstore's write script, as `EVALSHA` takes it.
fn write_script_sha() -> &'static str {
    static SHA: OnceLock<String> = OnceLock::new();
    SHA.get_or_init(|| {
        redis::Script::new(fstore::WRITE_SCRIPT)
            .get_hash()
            .to_owned()
    })
}
