//! `fstore stats VIEW`: the health of a view's stored rows, from a bounded sample of its keys.
//!
//! The keys come from `SCAN {prefix}*` in batches, stopping after `--sample` keys, so the cost
//! is bounded whatever the size of the key space. For the sampled keys it reports their TTLs
//! (and every key without one, which never expires: a defect for feature rows), how many rows
//! hold each registry feature, the fields the server holds that the registry does not declare
//! (drift), the values that do not decode as their registry type (decoded by the runtime's codec
//! through the dynamic API, as readers decode them) and the memory rows take.

use std::collections::{BTreeMap, HashSet};

use fstore_runtime::{Error, UPDATED_AT};

use crate::server::{seconds, server_error, Expiry, OpsError, Server};

/// The default of `--sample`: how many keys `stats` looks at.
pub const DEFAULT_SAMPLE: usize = 1000;

/// How many of the sampled keys `MEMORY USAGE` measures.
pub const MEMORY_SAMPLE: usize = 100;

/// The `COUNT` hint of each `SCAN`.
const SCAN_COUNT: usize = 1000;

/// Keys per pipeline of `TYPE`/`PTTL`/`HKEYS`, and entities per dynamic `read_batch`.
const CHUNK: usize = 500;

/// How many example keys a finding lists.
const EXAMPLES: usize = 5;

/// What `fstore stats` found in a sample of a view's keys.
#[derive(Debug)]
#[non_exhaustive]
pub struct Stats {
    /// The view.
    pub view: String,
    /// Its key prefix, `{namespace}:v{version}:{view}:`.
    pub prefix: String,
    /// The most keys looked at (`--sample`).
    pub sample: usize,
    /// Distinct keys seen.
    pub keys: usize,
    /// `true` when the scan went through the whole key space; `false` when it stopped at
    /// `sample` keys.
    pub complete: bool,
    /// The keys that are hashes: the entities.
    pub entities: usize,
    /// Keys under the prefix that are not hashes (no reader can read them), a few of them.
    pub wrong_type: Examples,
    /// The remaining TTL of every key that has one, in milliseconds, ascending.
    pub ttls_ms: Vec<u64>,
    /// Keys without a TTL (`PTTL` -1): they never expire.
    pub without_ttl: Examples,
    /// Each registry feature, in registry order, with how many entities hold it.
    pub coverage: Vec<(String, usize)>,
    /// Fields stored that the registry does not declare (`_updated_at` aside), with how many
    /// entities hold each.
    pub drift: BTreeMap<String, usize>,
    /// Features whose stored value does not decode as the registry's type, with how many
    /// entities hold such a value and the first error.
    pub malformed: BTreeMap<String, Malformed>,
    /// `MEMORY USAGE` of up to [`MEMORY_SAMPLE`] keys, in bytes.
    pub memory: Vec<u64>,
}

/// A count of keys, with the first few of them.
#[derive(Debug, Default)]
pub struct Examples {
    /// How many.
    pub count: usize,
    /// The first [`EXAMPLES`](self) of them.
    pub keys: Vec<String>,
}

impl Examples {
    fn push(&mut self, key: &str) {
        self.count += 1;
        if self.keys.len() < EXAMPLES {
            self.keys.push(key.to_owned());
        }
    }
}

/// The entities whose value of one feature does not decode.
#[derive(Debug)]
pub struct Malformed {
    /// How many.
    pub count: usize,
    /// The runtime's error for the first one (key, field, expected type, what was found).
    pub first: String,
}

/// Samples up to `sample` keys of `view` and inspects them.
///
/// # Errors
/// [`OpsError::Store`] for an unknown view (with a did-you-mean) or a failed read;
/// [`OpsError::Server`] when a raw command fails.
pub async fn stats(server: &mut Server, view: &str, sample: usize) -> Result<Stats, OpsError> {
    let features: Vec<String> = server
        .view(view)?
        .features
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let prefix = server.registry().key_prefix(view);
    let (keys, complete) = scan(server, &prefix, sample).await?;
    let mut stats = Stats {
        view: view.to_owned(),
        prefix,
        sample,
        keys: keys.len(),
        complete,
        entities: 0,
        wrong_type: Examples::default(),
        ttls_ms: Vec::new(),
        without_ttl: Examples::default(),
        coverage: features.iter().map(|f| (f.clone(), 0)).collect(),
        drift: BTreeMap::new(),
        malformed: BTreeMap::new(),
        memory: Vec::new(),
    };

    let mut hashes = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.cmd("TYPE").arg(key).cmd("PTTL").arg(key);
        }
        let replies: Vec<(String, i64)> = pipe
            .query_async::<Vec<redis::Value>>(&mut server.raw)
            .await
            .map_err(server_error("TYPE and PTTL"))?
            .chunks(2)
            .map(|pair| {
                let kind = redis::from_redis_value_ref::<String>(&pair[0]).unwrap_or_default();
                let pttl = redis::from_redis_value_ref::<i64>(&pair[1]).unwrap_or(-2);
                (kind, pttl)
            })
            .collect();
        for (key, (kind, pttl)) in chunk.iter().zip(replies) {
            match Expiry::from_pttl(pttl) {
                Expiry::In(ms) => stats.ttls_ms.push(ms),
                Expiry::Never => stats.without_ttl.push(key),
                // Expired or deleted since the scan.
                Expiry::Missing => continue,
            }
            if kind == "hash" {
                hashes.push(key.as_str());
            } else {
                stats.wrong_type.push(key);
            }
        }
    }
    stats.ttls_ms.sort_unstable();
    stats.entities = hashes.len();

    for chunk in hashes.chunks(CHUNK) {
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.cmd("HKEYS").arg(*key);
        }
        let fields: Vec<Vec<String>> = pipe
            .query_async(&mut server.raw)
            .await
            .map_err(server_error("HKEYS"))?;
        for fields in fields {
            for field in fields {
                match stats.coverage.iter_mut().find(|(f, _)| *f == field) {
                    Some((_, n)) => *n += 1,
                    None if field == UPDATED_AT => {}
                    None => *stats.drift.entry(field).or_default() += 1,
                }
            }
        }
    }

    let ids: Vec<&str> = hashes
        .iter()
        .map(|key| &key[stats.prefix.len()..])
        .collect();
    for chunk in ids.chunks(CHUNK) {
        match server.store.read_batch(view, chunk).await {
            Ok(_) => {}
            Err(Error::Decode { .. }) => {
                for id in chunk {
                    malformed_of(server, view, id, &features, &mut stats.malformed).await?;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }

    let mut pipe = redis::pipe();
    for key in keys.iter().take(MEMORY_SAMPLE) {
        pipe.cmd("MEMORY").arg("USAGE").arg(key);
    }
    let memory: Vec<Option<u64>> = pipe
        .query_async(&mut server.raw)
        .await
        .map_err(server_error("MEMORY USAGE"))?;
    stats.memory = memory.into_iter().flatten().collect();
    Ok(stats)
}

/// Up to `sample` distinct keys matching `prefix*`, and whether the scan completed.
async fn scan(
    server: &mut Server,
    prefix: &str,
    sample: usize,
) -> Result<(Vec<String>, bool), OpsError> {
    let pattern = format!("{}*", glob_escape(prefix));
    let mut seen = HashSet::new();
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(&mut server.raw)
            .await
            .map_err(server_error("SCAN"))?;
        let mut rest = batch.into_iter().filter(|k| seen.insert(k.clone()));
        keys.extend(rest.by_ref().take(sample - keys.len().min(sample)));
        let more_here = rest.next().is_some();
        if next == 0 && !more_here {
            return Ok((keys, true));
        }
        if keys.len() >= sample {
            return Ok((keys, false));
        }
        cursor = next;
    }
}

/// `prefix` with the glob characters of `SCAN MATCH` escaped.
fn glob_escape(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reads entity `id` one feature at a time, to find every feature whose value does not decode
/// (a read of the whole row stops at the first).
async fn malformed_of(
    server: &Server,
    view: &str,
    id: &str,
    features: &[String],
    out: &mut BTreeMap<String, Malformed>,
) -> Result<(), OpsError> {
    if let Err(e) = server.store.read(view, id, None).await {
        if !matches!(e, Error::Decode { .. }) {
            return Err(e.into());
        }
        for feature in features {
            match server.store.read(view, id, Some(&[feature.as_str()])).await {
                Ok(_) => {}
                Err(e @ Error::Decode { .. }) => {
                    out.entry(feature.clone())
                        .or_insert_with(|| Malformed {
                            count: 0,
                            first: e.to_string(),
                        })
                        .count += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

impl Stats {
    /// The TTLs' minimum, median and maximum in milliseconds, when some key has one.
    pub fn ttl_range(&self) -> Option<(u64, u64, u64)> {
        let (first, last) = (self.ttls_ms.first()?, self.ttls_ms.last()?);
        Some((*first, self.ttls_ms[self.ttls_ms.len() / 2], *last))
    }

    /// The mean and maximum of [`memory`](Stats::memory), in bytes.
    pub fn memory_range(&self) -> Option<(u64, u64)> {
        let max = *self.memory.iter().max()?;
        Some((
            self.memory.iter().sum::<u64>() / self.memory.len() as u64,
            max,
        ))
    }

    /// What `fstore stats` prints: the sample, then one section per finding; defects start
    /// with `WARNING:`.
    pub fn text(&self) -> String {
        let mut out = format!("view {} (keys {}*)\n", self.view, self.prefix);
        if self.complete {
            out.push_str(&format!(
                "keys: {} (scan complete), {}\n",
                self.keys,
                plural(self.entities, "entity", "entities")
            ));
        } else {
            out.push_str(&format!(
                "keys: {} sampled, {} (scan stopped early at --sample {}; there are more)\n",
                self.keys,
                plural(self.entities, "entity", "entities"),
                self.sample
            ));
        }
        match self.ttl_range() {
            Some((min, median, max)) => out.push_str(&format!(
                "ttl: min {}s, median {}s, max {}s ({})\n",
                seconds(min.into()),
                seconds(median.into()),
                seconds(max.into()),
                plural(self.ttls_ms.len(), "key", "keys")
            )),
            None => out.push_str("ttl: no key has one\n"),
        }
        if self.without_ttl.count > 0 {
            out.push_str(&format!(
                "WARNING: {} without TTL (they never expire): {}\n",
                plural(self.without_ttl.count, "key", "keys"),
                listed(&self.without_ttl)
            ));
        }
        if self.wrong_type.count > 0 {
            out.push_str(&format!(
                "WARNING: {} not a hash (unreadable as features): {}\n",
                plural(self.wrong_type.count, "key", "keys"),
                listed(&self.wrong_type)
            ));
        }
        out.push_str("coverage (entities holding each feature):\n");
        for (feature, n) in &self.coverage {
            out.push_str(&format!(
                "  {feature}: {n}/{} ({})\n",
                self.entities,
                percent(*n, self.entities)
            ));
        }
        if self.drift.is_empty() {
            out.push_str("drift: none (every stored field is in the registry)\n");
        } else {
            out.push_str("WARNING: drift: stored fields the registry does not declare:\n");
            for (field, n) in &self.drift {
                out.push_str(&format!("  {field}: {n}/{} entities\n", self.entities));
            }
        }
        if self.malformed.is_empty() {
            out.push_str("malformed: none (every value decodes as its registry type)\n");
        } else {
            out.push_str("WARNING: malformed values (do not decode as the registry type):\n");
            for (feature, m) in &self.malformed {
                out.push_str(&format!(
                    "  {feature}: {}, first: {}\n",
                    plural(m.count, "entity", "entities"),
                    m.first
                ));
            }
        }
        match self.memory_range() {
            Some((mean, max)) => out.push_str(&format!(
                "memory: mean {mean} bytes, max {max} bytes per key ({} keys measured)\n",
                self.memory.len()
            )),
            None => out.push_str("memory: no key measured\n"),
        }
        out
    }

    /// What `fstore stats --json` prints: `{"view","prefix","sample","keys","complete",
    /// "entities","wrong_type":{"count","keys"},"ttl":{"keys","min_seconds","median_seconds",
    /// "max_seconds"},"without_ttl":{"count","keys"},"coverage":{feature:{"entities","share"}},
    /// "drift":{field:entities},"malformed":{feature:{"entities","first"}},"memory":{"keys",
    /// "mean_bytes","max_bytes"}}`.
    pub fn json(&self) -> serde_json::Value {
        let secs = |ms: u64| ms as f64 / 1000.0;
        let range = self.ttl_range();
        let memory = self.memory_range();
        let coverage: serde_json::Map<String, serde_json::Value> = self
            .coverage
            .iter()
            .map(|(f, n)| {
                let share = if self.entities == 0 {
                    0.0
                } else {
                    *n as f64 / self.entities as f64
                };
                (
                    f.clone(),
                    serde_json::json!({ "entities": n, "share": share }),
                )
            })
            .collect();
        let malformed: serde_json::Map<String, serde_json::Value> = self
            .malformed
            .iter()
            .map(|(f, m)| {
                let entry = serde_json::json!({ "entities": m.count, "first": m.first });
                (f.clone(), entry)
            })
            .collect();
        serde_json::json!({
            "view": self.view,
            "prefix": self.prefix,
            "sample": self.sample,
            "keys": self.keys,
            "complete": self.complete,
            "entities": self.entities,
            "wrong_type": { "count": self.wrong_type.count, "keys": self.wrong_type.keys },
            "ttl": {
                "keys": self.ttls_ms.len(),
                "min_seconds": range.map(|r| secs(r.0)),
                "median_seconds": range.map(|r| secs(r.1)),
                "max_seconds": range.map(|r| secs(r.2)),
            },
            "without_ttl": { "count": self.without_ttl.count, "keys": self.without_ttl.keys },
            "coverage": coverage,
            "drift": self.drift,
            "malformed": malformed,
            "memory": {
                "keys": self.memory.len(),
                "mean_bytes": memory.map(|m| m.0),
                "max_bytes": memory.map(|m| m.1),
            },
        })
    }
}

/// `1 key`, `2 keys`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `a, b, c` and `…` when there are more.
fn listed(examples: &Examples) -> String {
    let mut list = examples.keys.join(", ");
    if examples.count > examples.keys.len() {
        list.push_str(", …");
    }
    list
}

fn percent(n: usize, of: usize) -> String {
    if of == 0 {
        "-".to_owned()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / of as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("fs:v1:user:"), "fs:v1:user:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }

    #[test]
    fn ttl_and_memory_ranges() {
        let stats = Stats {
            view: "v".into(),
            prefix: "fs:v1:v:".into(),
            sample: 10,
            keys: 3,
            complete: true,
            entities: 3,
            wrong_type: Examples::default(),
            ttls_ms: vec![1000, 2000, 9000],
            without_ttl: Examples::default(),
            coverage: vec![("a".into(), 2)],
            drift: BTreeMap::new(),
            malformed: BTreeMap::new(),
            memory: vec![100, 300],
        };
        assert_eq!(stats.ttl_range(), Some((1000, 2000, 9000)));
        assert_eq!(stats.memory_range(), Some((200, 300)));
        let text = stats.text();
        assert!(
            text.contains("ttl: min 1.0s, median 2.0s, max 9.0s (3 keys)"),
            "{text}"
        );
        assert!(text.contains("  a: 2/3 (66.7%)"), "{text}");
        assert!(!text.contains("WARNING"), "{text}");
    }
}
