//! `fstore get VIEW ID`: one entity's features as readers see them (through the dynamic API, so
//! with the registry's defaults and statuses), with the row's freshness and its remaining TTL.

use fstore_runtime::{Features, Status, Value, UPDATED_AT};

use crate::server::{parse_stamp, seconds, server_error, Expiry, OpsError, Server};

/// One entity of one view, as `fstore get` found it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Entity {
    /// The view.
    pub view: String,
    /// The entity id, as given.
    pub id: String,
    /// The key of the row: `{namespace}:v{version}:{view}:{id}`.
    pub key: String,
    /// The values and their statuses, in registry order (or in the order asked for); `None`
    /// when the entity has no row.
    pub features: Option<Features>,
    /// The stored `_updated_at`, as stored.
    pub updated_at: Option<String>,
    /// The key's `PTTL`.
    pub expiry: Expiry,
}

/// Reads entity `id` of `view`: `fields` (all of the view's features when `None`) through the
/// dynamic API, then `_updated_at` and `PTTL` in one round trip on the raw connection.
///
/// # Errors
/// [`OpsError::Store`] for an unknown view or feature (with a did-you-mean), an invalid id, a
/// stored value that does not decode or a transport failure; [`OpsError::Server`] when the raw
/// round trip fails.
pub async fn get(
    server: &mut Server,
    view: &str,
    id: &str,
    fields: Option<&[&str]>,
) -> Result<Entity, OpsError> {
    let features = server.store.read(view, id, fields).await?;
    let key = format!("{}{id}", server.registry().key_prefix(view));
    let (updated_at, pttl): (Option<String>, i64) = redis::pipe()
        .cmd("HGET")
        .arg(&key)
        .arg(UPDATED_AT)
        .cmd("PTTL")
        .arg(&key)
        .query_async(&mut server.raw)
        .await
        .map_err(server_error("HGET _updated_at and PTTL"))?;
    Ok(Entity {
        view: view.to_owned(),
        id: id.to_owned(),
        key,
        features,
        updated_at,
        expiry: Expiry::from_pttl(pttl),
    })
}

impl Entity {
    /// `true` when the entity has a row in the view.
    pub fn found(&self) -> bool {
        self.features.is_some()
    }

    /// The epoch milliseconds of `_updated_at`, when it is stored and readable.
    pub fn updated_at_ms(&self) -> Option<u64> {
        self.updated_at.as_deref().and_then(parse_stamp)
    }

    /// What `fstore get` prints: `not found: KEY`, or one `feature = value  (STATUS)` line per
    /// feature (strings quoted; a defaulted value says so), then `updated: 12.3s ago` and
    /// `ttl: 3587.7s` (or `ttl: no expiry`, `ttl: missing`). `now_ms` is the current time in
    /// epoch milliseconds.
    pub fn text(&self, now_ms: u64) -> String {
        let Some(features) = &self.features else {
            return format!("not found: {}\n", self.key);
        };
        let mut out = String::new();
        for ((name, value), status) in features.iter().zip(features.statuses()) {
            let value = match value {
                Value::String(s) => format!("{s:?}"),
                other => other.to_string(),
            };
            let status = match status {
                Status::Defaulted => "PRESENT, registry default",
                other => other.feast_name(),
            };
            out.push_str(&format!("{name} = {value}  ({status})\n"));
        }
        let updated = match (&self.updated_at, self.updated_at_ms()) {
            (_, Some(at)) => format!("{}s ago", seconds(i128::from(now_ms) - i128::from(at))),
            (None, None) => format!("unknown (no {UPDATED_AT})"),
            (Some(raw), None) => format!("unreadable {UPDATED_AT} {raw:?}"),
        };
        out.push_str(&format!("updated: {updated}\n"));
        out.push_str(&format!("ttl: {}\n", expiry_text(self.expiry)));
        out
    }

    /// What `fstore get --json` prints: `{"view","id","key","found","features":{name:{"value",
    /// "status","defaulted"}},"updated_at","age_seconds","ttl_ms","expiry"}`. `updated_at` is
    /// the stamp in epoch seconds (`null` when absent or unreadable), `age_seconds` the time
    /// since, `ttl_ms` the `PTTL` when the key expires (else `null`), `expiry` `"expires"`,
    /// `"none"` (no TTL) or `"missing"`.
    pub fn json(&self, now_ms: u64) -> serde_json::Value {
        let features: serde_json::Map<String, serde_json::Value> = self
            .features
            .iter()
            .flat_map(|f| f.iter().zip(f.statuses()))
            .map(|((name, value), status)| {
                let entry = serde_json::json!({
                    "value": value_json(value),
                    "status": status.feast_name(),
                    "defaulted": status == Status::Defaulted,
                });
                (name.to_owned(), entry)
            })
            .collect();
        let at = self.updated_at_ms();
        serde_json::json!({
            "view": self.view,
            "id": self.id,
            "key": self.key,
            "found": self.found(),
            "features": features,
            "updated_at": at.map(|ms| ms as f64 / 1000.0),
            "age_seconds": at.map(|ms| (i128::from(now_ms) - i128::from(ms)) as f64 / 1000.0),
            "ttl_ms": match self.expiry {
                Expiry::In(ms) => Some(ms),
                Expiry::Never | Expiry::Missing => None,
            },
            "expiry": match self.expiry {
                Expiry::In(_) => "expires",
                Expiry::Never => "none",
                Expiry::Missing => "missing",
            },
        })
    }
}

/// `3587.7s`, `no expiry` or `missing`.
fn expiry_text(expiry: Expiry) -> String {
    match expiry {
        Expiry::In(ms) => format!("{}s", seconds(i128::from(ms))),
        Expiry::Never => "no expiry".to_owned(),
        Expiry::Missing => "missing".to_owned(),
    }
}

/// A value as JSON: numbers, strings, booleans, arrays of numbers, `null` (as is a float that
/// JSON cannot hold, such as NaN).
pub fn value_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Int(i) => serde_json::json!(i),
        Value::Float(x) => serde_json::json!(x),
        Value::String(s) => serde_json::json!(s),
        Value::Bool(b) => serde_json::json!(b),
        Value::FloatList(v) => serde_json::json!(v),
        Value::Null => serde_json::Value::Null,
        other => serde_json::json!(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(features: Option<Features>, updated_at: Option<&str>, expiry: Expiry) -> Entity {
        Entity {
            view: "user_profile".into(),
            id: "u1".into(),
            key: "fs:v1:user_profile:u1".into(),
            features,
            updated_at: updated_at.map(str::to_owned),
            expiry,
        }
    }

    #[test]
    fn text_lists_values_then_freshness_and_ttl() {
        let features: Features = [("age", Value::Int(28)), ("country", Value::from("DE"))]
            .into_iter()
            .collect();
        let e = entity(Some(features), Some("1000.000"), Expiry::In(3_599_500));
        assert_eq!(
            e.text(1_012_300),
            "age = 28  (PRESENT)\ncountry = \"DE\"  (PRESENT)\nupdated: 12.3s ago\nttl: 3599.5s\n"
        );
        let json = e.json(1_012_300);
        assert_eq!(json["features"]["age"]["value"], 28);
        assert_eq!(json["age_seconds"], 12.3);
        assert_eq!(json["ttl_ms"], 3_599_500);
    }

    #[test]
    fn text_of_a_row_without_stamp_or_ttl() {
        let features: Features = [("age", Value::Int(1))].into_iter().collect();
        let text = entity(Some(features), None, Expiry::Never).text(0);
        assert!(
            text.ends_with("updated: unknown (no _updated_at)\nttl: no expiry\n"),
            "{text}"
        );
        let text = entity(None, None, Expiry::Missing).text(0);
        assert_eq!(text, "not found: fs:v1:user_profile:u1\n");
    }
}
