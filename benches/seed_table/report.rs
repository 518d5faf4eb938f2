//! The report: Markdown (default) or JSON (`--json`) on stdout.

use std::fmt::Write as _;

use crate::aggregations::AggregationRows;
use crate::allocations::{AllocRow, MemoryResult};
use crate::encodings::EncodingRows;
use crate::measurement::{RatioRow, RowResult};
use crate::settings::Mode;
use crate::throughput::Throughput;

pub struct Report {
    pub mode: Mode,
    pub pinning: String,
    pub server: String,
    pub runtime: String,
    pub users: usize,
    pub rows: Vec<RowResult>,
    /// The dynamic API against the typed API.
    pub dynamic: Vec<RatioRow>,
    /// The `json` list encoding against `f32le`, and their stored sizes.
    pub encodings: EncodingRows,
    /// Real-time aggregations: reads against a typed read, `record_batch` against the raw
    /// commands, memory per entity.
    pub aggregations: AggregationRows,
    /// A cluster against one server, and how both were set up.
    pub cluster: Vec<RatioRow>,
    pub cluster_setup: String,
    pub allocs: Vec<AllocRow>,
    pub memory: Option<MemoryResult>,
    pub throughput: Option<(usize, Vec<Throughput>)>,
    pub server_bench: Option<Result<(String, String), String>>,
}

pub fn f1(x: f64) -> String {
    format!("{x:.1}")
}

/// A Markdown table of `rows`, the subject's columns called `subject`, the baseline's `baseline`.
fn ratio_table(s: &mut String, rows: &[RatioRow], subject: &str, baseline: &str) {
    let _ = writeln!(
        s,
        "| row | {subject} p50 | {subject} p99 | {baseline} p50 | {baseline} p99 | ratio | target | round trips ({subject} / {baseline}) |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let target = if row.target.is_finite() {
            format!("≤ {:.2}", row.target)
        } else {
            "—".to_owned()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.2} | {target} | {} / {} |",
            row.name,
            f1(row.subject_p50),
            f1(row.subject_p99),
            f1(row.baseline_p50),
            f1(row.baseline_p99),
            row.ratio(),
            row.round_trips.0,
            row.round_trips.1
        );
    }
    let _ = writeln!(
        s,
        "\nµs; ratio = {subject} p50 / {baseline} p50, both measured in the same rotation."
    );
    for row in rows {
        let _ = writeln!(
            s,
            "- {}: {} ({} iterations)",
            row.name, row.command, row.iterations
        );
    }
}

fn ratio_json(rows: &[RatioRow], subject: &str, baseline: &str) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|x| {
            let mut row = serde_json::Map::new();
            row.insert("row".into(), x.name.into());
            row.insert("command".into(), x.command.into());
            row.insert(format!("{subject}_p50_us"), x.subject_p50.into());
            row.insert(format!("{subject}_p99_us"), x.subject_p99.into());
            row.insert(format!("{baseline}_p50_us"), x.baseline_p50.into());
            row.insert(format!("{baseline}_p99_us"), x.baseline_p99.into());
            row.insert("ratio".into(), x.ratio().into());
            if x.target.is_finite() {
                row.insert("target".into(), x.target.into());
            }
            row.insert(format!("{subject}_round_trips"), x.round_trips.0.into());
            row.insert(format!("{baseline}_round_trips"), x.round_trips.1.into());
            row.insert("iterations".into(), x.iterations.into());
            serde_json::Value::Object(row)
        })
        .collect()
}

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## fstore vs hand-written redis-rs: the seed's latency table\n"
    );
    let _ = writeln!(
        s,
        "mode: {:?}; server: {}; {}; {}; {} users per view\n",
        r.mode, r.server, r.pinning, r.runtime, r.users
    );
    let _ = writeln!(
        s,
        "| row | seed | fstore p50 | fstore p99 | hand-written p50 | hand-written p99 | ratio |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for row in &r.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.2} |",
            row.name,
            f1(row.seed_us),
            f1(row.fstore_p50),
            f1(row.fstore_p99),
            f1(row.hand_p50),
            f1(row.hand_p99),
            row.ratio()
        );
    }
    let _ = writeln!(
        s,
        "\nµs; ratio = fstore p50 / hand-written p50. The \"also atomic\" rows compare the same \
         fstore samples with a hand-written EVALSHA of fstore's write script, measured in the same \
         rotation (fstore, HSET+PEXPIRE, EVALSHA)."
    );
    for row in &r.rows {
        let _ = writeln!(
            s,
            "- {}: {} ({} iterations)",
            row.name, row.command, row.iterations
        );
    }

    let _ = writeln!(
        s,
        "\n### The dynamic API vs the typed API (same server, same data)\n\n\
         dynamic: the same store with `features.toml` attached (`Store::with_registry`)\n"
    );
    ratio_table(&mut s, &r.dynamic, "dynamic", "typed");
    let _ = writeln!(
        s,
        "\n### `float_list` encodings: json (the default) vs f32le (same server, same lists)\n\n\
         the same embeddings (floats in [-1, 1) with full `f32` precision) in a view declaring \
         `encoding = \"json\"` and in one declaring `encoding = \"f32le\"`\n"
    );
    ratio_table(&mut s, &r.encodings.rows, "json", "f32le");
    for size in &r.encodings.sizes {
        let _ = writeln!(
            s,
            "- stored size of one {}-float list: json {:.1} bytes, f32le {:.0} bytes",
            size.len, size.json_bytes, size.f32le_bytes
        );
    }
    aggregations_markdown(&mut s, &r.aggregations);
    let _ = writeln!(
        s,
        "\n### Valkey Cluster (3 primaries) vs one server, hash-tagged keys\n\n{}\n",
        r.cluster_setup
    );
    ratio_table(&mut s, &r.cluster, "cluster", "single");

    if let Some((workers, tp)) = &r.throughput {
        let _ = writeln!(
            s,
            "\n### Throughput: single-entity UserProfile::read, one shared Store\n\n\
             multi-thread runtime, {workers} worker thread(s)\n\n\
             | tasks | fstore ops/s | hand-written ops/s (one shared MultiplexedConnection) |\n|---:|---:|---:|"
        );
        for t in tp {
            let _ = writeln!(
                s,
                "| {} | {:.0} | {:.0} |",
                t.tasks, t.fstore_ops, t.hand_ops
            );
        }
    }
    match &r.server_bench {
        Some(Ok((cmd, line))) => {
            let _ = writeln!(s, "\n`{cmd}` on the same server: {line}");
        }
        Some(Err(why)) => {
            let _ = writeln!(s, "\nserver benchmark skipped: {why}");
        }
        None => {}
    }

    let _ = writeln!(
        s,
        "\n### Allocations per call (current-thread runtime, counting allocator)\n\n\
         allocator calls (alloc, alloc_zeroed, realloc) and bytes requested, per call or per entity\n\n\
         | operation | fstore allocs | fstore bytes | hand-written allocs | hand-written bytes |\n|---|---:|---:|---:|---:|"
    );
    for a in &r.allocs {
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.0} | {:.2} | {:.0} |",
            a.name, a.fstore_calls, a.fstore_bytes, a.hand_calls, a.hand_bytes
        );
    }
    if let Some(m) = &r.memory {
        let _ = writeln!(
            s,
            "\n### Peak memory of read_batch over {} ids\n\n\
             | | peak live bytes above start | retained after the call | \n|---|---:|---:|\n\
             | fstore read_batch | {} | {} |\n\
             | hand-written, same chunks | {} | {} |\n\n\
             result (Vec<Option<UserProfile>> and what its rows own): {} bytes; fstore peak / result = {:.2}",
            m.ids,
            m.fstore_peak,
            m.fstore_retained,
            m.hand_peak,
            m.hand_retained,
            m.result_bytes,
            m.fstore_peak as f64 / m.result_bytes as f64
        );
    }
    s
}

/// `1000` as `1,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The aggregation rows: reads (ratio table), `record_batch` against the raw baseline, memory.
fn aggregations_markdown(s: &mut String, a: &AggregationRows) {
    let _ = writeln!(
        s,
        "\n### Real-time aggregations (issue 13)\n\n{}\n",
        a.setup
    );
    ratio_table(s, &a.reads, "aggregation", "typed");
    let r = &a.record;
    let _ = writeln!(
        s,
        "\n| row | fstore events/s | raw events/s | ratio | target | fstore batch p50 µs | fstore batch p99 µs |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    let (raw, ratio) = match (&r.raw, r.ratio()) {
        (Ok(b), Some(x)) => (format!("{:.0}", b.events_per_s), format!("{x:.2}")),
        _ => ("skipped".to_owned(), "—".to_owned()),
    };
    let _ = writeln!(
        s,
        "| record_batch_at, {} events | {:.0} | {raw} | {ratio} | ≥ {:.2} | {} | {} |",
        thousands(r.events),
        r.events_per_s,
        r.target(),
        f1(r.batch_p50_us),
        f1(r.batch_p99_us)
    );
    let rounds = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let _ = writeln!(
        s,
        "\nevents/s: medians of {} alternating rounds (fstore, then the raw baseline); ratio = fstore / raw.\n\
         - fstore: `record_batch_at(\"bench_txn\", 1,000 events, now)` on random entities of the read rows, \
         the clock one second later each batch: one pipeline of the aggregation script's calls, {} events \
         in groups of up to 32 per call ({} round trip(s)); events/s per round = {} / the round's p50 batch time: {} ({} batches)",
        r.rounds.len(),
        thousands(r.events),
        r.round_trips,
        thousands(r.events),
        rounds(&r.rounds),
        r.iterations
    );
    match &r.raw {
        Ok(b) => {
            let _ = writeln!(
                s,
                "- raw: `{} COMMAND` once per command of an event, each command's requests/s the median of the rounds; \
                 events/s per round = 1 / Σ (1 / requests/s): {}",
                b.invocation,
                rounds(&b.rounds)
            );
            for (cmd, rps) in &b.commands {
                let _ = writeln!(s, "  - `{cmd}`: {rps:.0} requests/s");
            }
        }
        Err(why) => {
            let _ = writeln!(s, "- raw baseline skipped: {why}");
        }
    }
    let m = &a.memory;
    let _ = writeln!(
        s,
        "\nmemory of one entity after {} events at 1/s ({:.1} h, simulated clock advancing with them, \
         batches of 60): **{} bytes** = hash {} bytes ({} fields, {}) + {} HyperLogLogs (one per hour, and the window's union) {} bytes \
         (`MEMORY USAGE key SAMPLES 0` of every key `SCAN MATCH fs:v1:bench_txn:{{id}}*` finds)",
        m.events,
        m.events as f64 / 3600.0,
        m.total(),
        m.hash_bytes,
        m.hash_fields,
        m.hash_encoding,
        m.hll_keys,
        m.hll_bytes
    );
}

fn aggregations_json(a: &AggregationRows) -> serde_json::Value {
    let r = &a.record;
    let raw = match &r.raw {
        Ok(b) => serde_json::json!({
            "invocation": b.invocation,
            "commands": b.commands.iter().map(|(c, rps)| serde_json::json!({
                "command": c, "requests_per_s": rps,
            })).collect::<Vec<_>>(),
            "events_per_s_rounds": b.rounds,
            "events_per_s": b.events_per_s,
        }),
        Err(why) => serde_json::json!({"skipped": why}),
    };
    let m = &a.memory;
    serde_json::json!({
        "setup": a.setup,
        "read_rows": ratio_json(&a.reads, "aggregation", "typed"),
        "record_batch": {
            "events_per_batch": r.events,
            "fstore_events_per_s": r.events_per_s,
            "fstore_events_per_s_rounds": r.rounds,
            "fstore_batch_p50_us": r.batch_p50_us,
            "fstore_batch_p99_us": r.batch_p99_us,
            "fstore_round_trips": r.round_trips,
            "iterations": r.iterations,
            "raw": raw,
            "ratio": r.ratio(),
            "target_min": r.target(),
        },
        "memory_per_entity": {
            "events": m.events,
            "bytes": m.total(),
            "hash_bytes": m.hash_bytes,
            "hash_fields": m.hash_fields,
            "hash_encoding": m.hash_encoding,
            "hll_keys": m.hll_keys,
            "hll_bytes": m.hll_bytes,
        },
    })
}

pub fn json(r: &Report) -> String {
    let rows: Vec<_> = r
        .rows
        .iter()
        .map(|x| {
            serde_json::json!({
                "row": x.name, "command": x.command, "seed_us": x.seed_us,
                "fstore_p50_us": x.fstore_p50, "fstore_p99_us": x.fstore_p99,
                "hand_p50_us": x.hand_p50, "hand_p99_us": x.hand_p99,
                "ratio": x.ratio(), "iterations": x.iterations,
            })
        })
        .collect();
    let allocs: Vec<_> = r
        .allocs
        .iter()
        .map(|a| {
            serde_json::json!({
                "operation": a.name,
                "fstore_allocs": a.fstore_calls, "fstore_bytes": a.fstore_bytes,
                "hand_allocs": a.hand_calls, "hand_bytes": a.hand_bytes,
            })
        })
        .collect();
    let throughput = r.throughput.as_ref().map(|(workers, tp)| {
        serde_json::json!({
            "worker_threads": workers,
            "runs": tp.iter().map(|t| serde_json::json!({
                "tasks": t.tasks, "fstore_ops_per_s": t.fstore_ops, "hand_ops_per_s": t.hand_ops,
            })).collect::<Vec<_>>(),
        })
    });
    let memory = r.memory.as_ref().map(|m| {
        serde_json::json!({
            "ids": m.ids, "fstore_peak_bytes": m.fstore_peak, "fstore_retained_bytes": m.fstore_retained,
            "hand_peak_bytes": m.hand_peak, "hand_retained_bytes": m.hand_retained,
            "result_bytes": m.result_bytes,
        })
    });
    let server_bench = r.server_bench.as_ref().map(|b| match b {
        Ok((cmd, line)) => serde_json::json!({"command": cmd, "result": line}),
        Err(why) => serde_json::json!({"skipped": why}),
    });
    let v = serde_json::json!({
        "mode": format!("{:?}", r.mode),
        "pinning": r.pinning,
        "server": r.server,
        "runtime": r.runtime,
        "users": r.users,
        "rows": rows,
        "dynamic_rows": ratio_json(&r.dynamic, "dynamic", "typed"),
        "encoding_rows": ratio_json(&r.encodings.rows, "json", "f32le"),
        "list_sizes": r.encodings.sizes.iter().map(|x| serde_json::json!({
            "len": x.len, "json_bytes": x.json_bytes, "f32le_bytes": x.f32le_bytes,
        })).collect::<Vec<_>>(),
        "aggregations": aggregations_json(&r.aggregations),
        "cluster_setup": r.cluster_setup,
        "cluster_rows": ratio_json(&r.cluster, "cluster", "single"),
        "throughput": throughput,
        "server_benchmark": server_bench,
        "allocations_per_call": allocs,
        "read_batch_memory": memory,
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}
