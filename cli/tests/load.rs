//! `fstore load` end to end against a throwaway `valkey-server`: CSV, JSON Lines and Parquet
//! files written here, loaded by the binary, read back through the dynamic API and a raw
//! connection (values, and a TTL on every key).

mod common;
#[path = "common/valkey.rs"]
mod valkey;

use std::path::Path;
use std::process::Output;

use common::{command, stderr, stdout, TempDir};
use fstore_runtime::registry::Registry;
use fstore_runtime::{Features, Store, Value};
use valkey::TestServer;

const ROOT_REGISTRY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../features.toml");

const HEADER: &str =
    "user_id,age,lifetime_value,segment,is_premium,country,days_since_signup,embedding";

/// `fstore load user_profile FILE --id-column user_id --registry features.toml EXTRA...`, with
/// `VALKEY_URL` set to `url` (unset when `None`).
fn load(url: Option<&str>, file: &Path, extra: &[&str]) -> Output {
    let mut cmd = command();
    cmd.args(["load", "user_profile"])
        .arg(file)
        .args(["--id-column", "user_id", "--registry", ROOT_REGISTRY])
        .args(extra);
    match url {
        Some(url) => cmd.env("VALKEY_URL", url),
        None => cmd.env_remove("VALKEY_URL"),
    };
    cmd.output().unwrap()
}

fn both(out: &Output) -> String {
    format!("stdout:\n{}stderr:\n{}", stdout(out), stderr(out))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The dynamic API's read of `user_profile` `id`.
fn read(server: &TestServer, id: &str) -> Option<Features> {
    runtime().block_on(async {
        let store = Store::builder(&server.url())
            .build()
            .await
            .unwrap()
            .with_registry(Registry::from_path(ROOT_REGISTRY).unwrap());
        store.read("user_profile", id, None).await.unwrap()
    })
}

fn raw(server: &TestServer) -> redis::Connection {
    redis::Client::open(server.url().as_str())
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Every key on the server, sorted.
fn keys(server: &TestServer) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut raw(server)).unwrap();
    keys.sort();
    keys
}

/// Asserts that every key expires within the view's TTL (`user_profile`: 1h).
fn assert_every_key_expires(server: &TestServer) {
    let mut con = raw(server);
    for key in keys(server) {
        let pttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut con).unwrap();
        assert!(
            pttl > 3_500_000 && pttl <= 3_600_000,
            "{key} has PTTL {pttl}"
        );
    }
}

fn embedding(scale: f32) -> Vec<f32> {
    (0..8).map(|i| i as f32 * scale).collect()
}

#[test]
fn a_csv_file_is_written_with_values_and_ttls() {
    let server = TestServer::start();
    let dir = TempDir::new();
    // u2's country is stored before: its empty cell leaves it as it is.
    runtime().block_on(async {
        let store = Store::builder(&server.url())
            .build()
            .await
            .unwrap()
            .with_registry(Registry::from_path(ROOT_REGISTRY).unwrap());
        store
            .write("user_profile", "u2", &[("country", Value::from("FR"))])
            .await
            .unwrap();
    });
    let file = dir.write(
        "users.csv",
        &format!(
            "{HEADER}\n\
             u1,28,1250.5,premium,true,DE,10,\"[0.0,0.5,1.0,1.5,2.0,2.5,3.0,3.5]\"\n\
             u2,41,-3,basic,False,,0,\n\
             \"u 3, quoted\",7,1e3,vip,1,\"Z\"\"Q\",2,\"[0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75]\"\n"
        ),
    );
    let out = load(Some(&server.url()), &file, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        stdout(&out).contains(": 3 rows read, 3 written, 0 rejected ("),
        "{}",
        both(&out)
    );

    let u1 = read(&server, "u1").unwrap();
    assert_eq!(u1["age"], Value::Int(28));
    assert_eq!(u1["lifetime_value"], Value::Float(1250.5));
    assert_eq!(u1["segment"], Value::from("premium"));
    assert_eq!(u1["is_premium"], Value::Bool(true));
    assert_eq!(u1["country"], Value::from("DE"));
    assert_eq!(u1["days_since_signup"], Value::Int(10));
    assert_eq!(u1["embedding"], Value::FloatList(embedding(0.5)));

    let u2 = read(&server, "u2").unwrap();
    assert_eq!(u2["age"], Value::Int(41));
    assert_eq!(u2["lifetime_value"], Value::Float(-3.0));
    assert_eq!(u2["is_premium"], Value::Bool(false));
    assert_eq!(
        u2["country"],
        Value::from("FR"),
        "an empty cell is not written"
    );
    assert!(u2["embedding"].is_null());

    let u3 = read(&server, "u 3, quoted").unwrap();
    assert_eq!(u3["lifetime_value"], Value::Float(1000.0));
    assert_eq!(u3["country"], Value::from("Z\"Q"));
    assert_eq!(u3["embedding"], Value::FloatList(embedding(0.25)));

    assert_eq!(
        keys(&server),
        [
            "fs:v1:user_profile:u 3, quoted",
            "fs:v1:user_profile:u1",
            "fs:v1:user_profile:u2"
        ]
    );
    assert_every_key_expires(&server);

    // `fstore get` reads it back as readers do.
    let out = command()
        .args(["get", "user_profile", "u1", "--registry", ROOT_REGISTRY])
        .args(["--url", &server.url()])
        .output()
        .unwrap();
    assert!(
        stdout(&out).starts_with("age = 28  (PRESENT)\nlifetime_value = 1250.5  (PRESENT)\n"),
        "{}",
        both(&out)
    );
}

/// Two good rows around one bad row of each kind.
fn rows_with_rejects() -> String {
    format!(
        "{HEADER}\n\
         good1,30,1.5,basic,true,DE,1,\n\
         wrongtype,thirty,1.5,basic,true,DE,1,\n\
         range,99999999999999999999,1.5,basic,true,DE,1,\n\
         len,30,1.5,basic,true,DE,1,\"[1,2,3]\"\n\
         vocab,30,1.5,gold,true,DE,1,\n\
         ,30,1.5,basic,true,DE,1,\n\
         elem,30,1.5,basic,true,DE,1,\"[1e39,0,0,0,0,0,0,0]\"\n\
         good2,31,2.5,vip,false,,2,\n"
    )
}

#[test]
fn bad_rows_are_rejected_with_their_lines_and_the_rest_written() {
    let server = TestServer::start();
    let dir = TempDir::new();
    let file = dir.write("mixed.csv", &rows_with_rejects());
    let out = load(Some(&server.url()), &file, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let name = file.display().to_string();
    assert!(
        text.starts_with(&format!(
            "{name} -> user_profile: 8 rows read, 2 written, 6 rejected ("
        )),
        "{text}"
    );
    for (line, reason) in [
        (3, "`age`: \"thirty\" is not an int: not a decimal integer"),
        (
            4,
            "`age`: \"99999999999999999999\" is not an int: out of range for i64",
        ),
        (
            5,
            "`embedding`: expected a `float_list` of 8 elements, found a float_list of 3 elements",
        ),
        (
            6,
            "`segment`: the string \"gold\" is not in the feature's vocab (`basic`, `premium`, \
             `vip`); pass --allow-out-of-vocab to write it anyway",
        ),
        (
            7,
            "invalid entity id \"\" for view `user_profile`: the empty string is not an entity id",
        ),
        (
            8,
            "`embedding`: \"[1e39,0,0,0,0,0,0,0]\" is not a float_list (of 8 floats)",
        ),
    ] {
        let expected = format!("  {name}:{line}: {reason}");
        assert!(
            text.lines().any(|l| l.starts_with(&expected)),
            "no {expected:?} in:\n{text}"
        );
    }
    assert!(
        stderr(&out).contains("error: 6 rows of ") && stderr(&out).contains("--allow-rejects"),
        "{}",
        both(&out)
    );
    assert_eq!(
        keys(&server),
        ["fs:v1:user_profile:good1", "fs:v1:user_profile:good2"]
    );
    assert_eq!(
        read(&server, "good2").unwrap()["segment"],
        Value::from("vip")
    );
    assert_every_key_expires(&server);

    // Accepting the rejects: exit 0, the same summary.
    let out = load(Some(&server.url()), &file, &["--allow-rejects"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        stdout(&out).contains("8 rows read, 2 written, 6 rejected"),
        "{}",
        both(&out)
    );

    // Writing out-of-vocabulary strings when asked.
    let out = load(
        Some(&server.url()),
        &file,
        &["--allow-rejects", "--allow-out-of-vocab"],
    );
    assert!(
        stdout(&out).contains("8 rows read, 3 written, 5 rejected"),
        "{}",
        both(&out)
    );
    assert_eq!(
        read(&server, "vocab").unwrap()["segment"],
        Value::from("gold")
    );
}

#[test]
fn more_than_ten_rejects_show_the_first_ten() {
    let server = TestServer::start();
    let dir = TempDir::new();
    let mut csv = format!("{HEADER}\n");
    for i in 0..13 {
        csv.push_str(&format!("bad{i},x,,,,,,\n"));
    }
    let file = dir.write("many.csv", &csv);
    let out = load(Some(&server.url()), &file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let text = stdout(&out);
    assert_eq!(
        text.lines()
            .filter(|l| l.contains(" is not an int"))
            .count(),
        10,
        "{text}"
    );
    assert!(text.contains(":11: `age`"), "{text}");
    assert!(!text.contains(":12: `age`"), "{text}");
    assert!(text.ends_with("  ... and 3 more\n"), "{text}");
}

#[test]
fn a_dry_run_checks_every_row_and_writes_nothing() {
    let server = TestServer::start();
    let dir = TempDir::new();
    let file = dir.write("mixed.csv", &rows_with_rejects());
    let out = load(Some(&server.url()), &file, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        stdout(&out).contains("8 rows read, 2 valid (dry run: nothing written), 6 rejected"),
        "{}",
        both(&out)
    );
    assert!(stdout(&out).contains(":6: `segment`"), "{}", both(&out));
    assert_eq!(keys(&server), Vec::<String>::new());

    // No server needed.
    let out = load(None, &file, &["--dry-run", "--allow-rejects"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    // Without --dry-run, a server is.
    let out = load(None, &file, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).starts_with("error: no server to write to: pass `--url"),
        "{}",
        both(&out)
    );
}

#[test]
fn a_json_lines_file_is_written() {
    let server = TestServer::start();
    let dir = TempDir::new();
    let file = dir.write(
        "users.ndjson",
        "{\"user_id\": \"j1\", \"age\": 5, \"lifetime_value\": 7, \"segment\": \"vip\", \
         \"is_premium\": true, \"country\": null, \"embedding\": [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]}\n\
         \n\
         {\"user_id\": 42, \"age\": -1, \"lifetime_value\": 0.25}\n\
         {\"user_id\": \"j3\", \"age\": 5.5}\n\
         {\"user_id\": \"j4\", \"age\": \"5\"}\n\
         {\"age\": 5}\n\
         {\"user_id\": \"j6\", \"embedding\": [1, 2, 3, 4, 5, 6, 7, \"x\"]}\n",
    );
    let out = load(Some(&server.url()), &file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let text = stdout(&out);
    assert!(
        text.contains(": 6 rows read, 2 written, 4 rejected ("),
        "{text}"
    );
    let name = file.display().to_string();
    for expected in [
        format!("  {name}:4: `age`: the number 5.5 is not an int"),
        format!("  {name}:5: `age`: the string \"5\" is not an int"),
        format!("  {name}:6: no entity id (no key `user_id`)"),
        format!(
            "  {name}:7: `embedding`: an array of 8 elements is not a float_list (of 8 floats): \
             element 7 is the string \"x\""
        ),
    ] {
        assert!(
            text.contains(&format!("{expected}\n")),
            "no {expected:?} in:\n{text}"
        );
    }
    let j1 = read(&server, "j1").unwrap();
    assert_eq!(j1["age"], Value::Int(5));
    assert_eq!(j1["lifetime_value"], Value::Float(7.0));
    assert_eq!(j1["segment"], Value::from("vip"));
    assert_eq!(j1["is_premium"], Value::Bool(true));
    assert!(j1["country"].is_null());
    assert_eq!(j1["embedding"], Value::FloatList(embedding(0.5)));
    let j2 = read(&server, "42").unwrap();
    assert_eq!(j2["age"], Value::Int(-1));
    assert_eq!(j2["lifetime_value"], Value::Float(0.25));
    assert_eq!(
        keys(&server),
        ["fs:v1:user_profile:42", "fs:v1:user_profile:j1"]
    );
    assert_every_key_expires(&server);

    // `--format` for an extension that does not say.
    let renamed = dir.0.join("users.txt");
    std::fs::copy(&file, &renamed).unwrap();
    let out = load(Some(&server.url()), &renamed, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("--format csv|jsonl|parquet"),
        "{}",
        both(&out)
    );
    let out = load(
        Some(&server.url()),
        &renamed,
        &["--format", "jsonl", "--allow-rejects"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
}

#[test]
fn entities_the_server_refuses_are_rejected_with_their_lines() {
    let server = TestServer::start();
    let dir = TempDir::new();
    // A key of another type where u3's row goes: the write script refuses it, untouched.
    let _: () = redis::cmd("SET")
        .arg("fs:v1:user_profile:u3")
        .arg("not a hash")
        .query(&mut raw(&server))
        .unwrap();
    let mut csv = format!("{HEADER}\n");
    for i in 1..=5 {
        csv.push_str(&format!("u{i},{i},,,,,,\n"));
    }
    let file = dir.write("users.csv", &csv);
    let out = load(Some(&server.url()), &file, &["--batch-size", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let text = stdout(&out);
    assert!(
        text.contains(": 5 rows read, 4 written, 1 rejected ("),
        "{text}"
    );
    let name = file.display().to_string();
    assert!(
        text.contains(&format!("  {name}:4: refused by the server: "))
            && text.contains("WRONGTYPE"),
        "{text}"
    );
    for id in ["u1", "u2", "u4", "u5"] {
        assert!(read(&server, id).is_some(), "{id} not written: {text}");
    }
    let kind: String = redis::cmd("TYPE")
        .arg("fs:v1:user_profile:u3")
        .query(&mut raw(&server))
        .unwrap();
    assert_eq!(kind, "string");
}

/// Writes `features` of `user_profile` `id` through the dynamic API, as another writer would.
fn write_before(server: &TestServer, id: &str, features: &[(&str, Value)]) {
    runtime().block_on(async {
        let store = Store::builder(&server.url())
            .build()
            .await
            .unwrap()
            .with_registry(Registry::from_path(ROOT_REGISTRY).unwrap());
        store.write("user_profile", id, features).await.unwrap();
    });
}

/// The milliseconds `key` has left to live (-1: no expiry, -2: no such key).
fn pttl(server: &TestServer, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(&mut raw(server)).unwrap()
}

/// The file places of the listed rejects (`FILE:7: reason` -> 7), in the order printed.
fn reject_lines(text: &str, name: &str) -> Vec<u64> {
    let prefix = format!("  {name}:");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| rest.split(':').next().unwrap().parse().unwrap())
        .collect()
}

/// The listed rejects (`FILE:7: reason`), as printed.
fn reject_list(text: &str, name: &str) -> Vec<String> {
    let prefix = format!("  {name}:");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn in_any_batch_size_only_the_bad_rows_are_left_out() {
    let server = TestServer::start();
    let dir = TempDir::new();
    // 40 rows. Bad ones of every kind: caught while reading the cells (a type, an int out of
    // range, a list element an f32 cannot hold, no value at all) or by the checks of the batch
    // they are in (`vocab`, `len`, the id): alone, side by side, in the last partial batch, and
    // one the server refuses (a key of another type is where it goes).
    let bad: &[(usize, &str)] = &[
        (1, "b1,x,,,,,,"),
        (4, "b4,1,,gold,,,,"),
        (5, "b5,1,,,,,,\"[1,2,3]\""),
        (6, ",1,,,,,,"),
        (10, "b10,,,,,,,"),
        (17, "taken,1,,,,,,"),
        (20, "b20,1,,,,,,\"[1e39,0,0,0,0,0,0,0]\""),
        (21, "b21,1,,silver,,,,"),
        (33, "b33,1,,,,,99999999999999999999,"),
        (39, "b39,1,,vip,,,,\"[0]\""),
    ];
    let mut csv = format!("{HEADER}\n");
    let mut good = Vec::new();
    for i in 0..40 {
        match bad.iter().find(|(at, _)| *at == i) {
            Some((_, row)) => csv.push_str(row),
            None => {
                csv.push_str(&format!(
                    "g{i},{},{i}.5,premium,{},NL,{i},\"[{i},0,0,0,0,0,0,1]\"",
                    20 + i,
                    i % 2 == 0
                ));
                good.push(format!("g{i}"));
            }
        }
        csv.push('\n');
    }
    let file = dir.write("batches.csv", &csv);
    let name = file.display().to_string();
    // File lines: row i is on line i + 2.
    let rejected_lines: Vec<u64> = bad.iter().map(|(i, _)| *i as u64 + 2).collect();

    let dry = load(None, &file, &["--dry-run"]);
    assert_eq!(dry.status.code(), Some(1), "{}", both(&dry));
    assert!(
        stdout(&dry).contains(": 40 rows read, 31 valid (dry run: nothing written), 9 rejected"),
        "{}",
        both(&dry)
    );

    for batch_size in ["1", "3", "7", "1000"] {
        let _: () = redis::cmd("FLUSHDB").query(&mut raw(&server)).unwrap();
        let _: () = redis::cmd("SET")
            .arg("fs:v1:user_profile:taken")
            .arg("not a hash")
            .query(&mut raw(&server))
            .unwrap();
        let out = load(Some(&server.url()), &file, &["--batch-size", batch_size]);
        let text = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "batch size {batch_size}: {}",
            both(&out)
        );
        assert!(
            text.contains(": 40 rows read, 30 written, 10 rejected ("),
            "batch size {batch_size}: {text}"
        );
        // Every reject listed, in file order, whichever stage caught it.
        assert_eq!(
            reject_lines(&text, &name),
            rejected_lines,
            "batch size {batch_size}: {text}"
        );
        // The same reasons as the dry run's per-row checks, plus the server's refusal.
        let mut listed = reject_list(&text, &name);
        let refused = listed.remove(5);
        assert!(
            refused.starts_with(&format!("  {name}:19: refused by the server: "))
                && refused.contains("WRONGTYPE"),
            "{refused}"
        );
        assert_eq!(
            listed,
            reject_list(&stdout(&dry), &name),
            "batch size {batch_size}"
        );

        // Exactly the good rows are written (and the refused key is untouched), each with its
        // TTL and its values.
        let mut expected: Vec<String> = good
            .iter()
            .map(|id| format!("fs:v1:user_profile:{id}"))
            .chain(["fs:v1:user_profile:taken".to_owned()])
            .collect();
        expected.sort();
        assert_eq!(keys(&server), expected, "batch size {batch_size}");
        for id in &good {
            let ttl = pttl(&server, &format!("fs:v1:user_profile:{id}"));
            assert!(ttl > 0 && ttl <= 3_600_000, "{id} has PTTL {ttl}");
        }
        assert_eq!(pttl(&server, "fs:v1:user_profile:taken"), -1);
        let g9 = read(&server, "g9").unwrap();
        assert_eq!(g9["age"], Value::Int(29));
        assert_eq!(g9["is_premium"], Value::Bool(false));
        assert_eq!(
            g9["embedding"],
            Value::FloatList(vec![9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
        );
    }
}

#[test]
fn a_malformed_line_stops_the_load_after_writing_the_rows_before_it() {
    let server = TestServer::start();
    let dir = TempDir::new();
    // Batches of 2: lines 2-3 and 4-5 are full batches, line 6 is read when the file breaks.
    let csv = dir.write(
        "broken.csv",
        "user_id,age\nm1,1\nm2,2\nm3,3\nm4,4\nm5,bad\nm6,6\nm7,7,extra\nm8,8\n",
    );
    let out = load(Some(&server.url()), &csv, &["--batch-size", "2"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: {}:8: malformed CSV: 3 fields where the header has 2 (a stray comma or \
             quote?)\n",
            csv.display()
        )
    );
    let text = stdout(&out);
    assert!(
        text.contains(": 6 rows read, 5 written, 1 rejected ("),
        "{text}"
    );
    assert!(text.contains(":6: `age`: \"bad\" is not an int"), "{text}");
    assert_eq!(
        keys(&server),
        ["m1", "m2", "m3", "m4", "m6"].map(|id| format!("fs:v1:user_profile:{id}"))
    );
    assert_every_key_expires(&server);

    // JSON Lines: the line is named, and nothing after it is written.
    let _: () = redis::cmd("FLUSHDB").query(&mut raw(&server)).unwrap();
    let jsonl = dir.write(
        "broken.jsonl",
        "{\"user_id\": \"j1\", \"age\": 1}\n\
         {\"user_id\": \"j2\", \"age\": 2}\n\
         {\"user_id\": \"j3\", \"age\": 3}\n\
         {\"user_id\": \"j4\", \"age\": 4\n\
         {\"user_id\": \"j5\", \"age\": 5}\n",
    );
    let out = load(Some(&server.url()), &jsonl, &["--batch-size", "2"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).starts_with(&format!(
            "error: {}:4: invalid JSON at column ",
            jsonl.display()
        )),
        "{}",
        both(&out)
    );
    assert_eq!(
        keys(&server),
        ["j1", "j2", "j3"].map(|id| format!("fs:v1:user_profile:{id}"))
    );
    assert_every_key_expires(&server);
}

#[test]
fn absent_cells_leave_stored_values_as_they_are() {
    let server = TestServer::start();
    let dir = TempDir::new();
    let before = [
        ("age", Value::Int(99)),
        ("country", Value::from("FR")),
        ("embedding", Value::FloatList(embedding(1.0))),
    ];
    for id in ["c1", "j1", "j2"] {
        write_before(&server, id, &before);
    }
    // Every column but `lifetime_value` empty, null or missing.
    let csv = dir.write("absent.csv", &format!("{HEADER}\nc1,,2.5,,,,,\n"));
    let out = load(Some(&server.url()), &csv, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let jsonl = dir.write(
        "absent.jsonl",
        "{\"user_id\": \"j1\", \"age\": null, \"country\": null, \"embedding\": null, \
         \"lifetime_value\": 2.5}\n\
         {\"user_id\": \"j2\", \"lifetime_value\": 2.5}\n",
    );
    let out = load(Some(&server.url()), &jsonl, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    for id in ["c1", "j1", "j2"] {
        let row = read(&server, id).unwrap();
        assert_eq!(row["lifetime_value"], Value::Float(2.5), "{id}");
        assert_eq!(row["age"], Value::Int(99), "{id}");
        assert_eq!(row["country"], Value::from("FR"), "{id}");
        assert_eq!(row["embedding"], Value::FloatList(embedding(1.0)), "{id}");
    }
    assert_every_key_expires(&server);
}

#[test]
fn an_unknown_column_is_an_error_before_anything_is_written() {
    let server = TestServer::start();
    let dir = TempDir::new();
    let file = dir.write("users.csv", "user_id,agee,segment\nu1,3,basic\n");
    let out = load(Some(&server.url()), &file, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        format!(
            "error: {}: unknown column `agee`: not a feature of view `user_profile` nor the id \
             column `user_id`; did you mean `age`?\n",
            file.display()
        )
    );
    // The id column must be there.
    let out = command()
        .args(["load", "user_profile"])
        .arg(&file)
        .args(["--id-column", "user", "--registry", ROOT_REGISTRY, "--url"])
        .arg(server.url())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out)
            .contains("no id column `user` (the --id-column); did you mean `--id-column user_id`?"),
        "{}",
        both(&out)
    );
    // An unknown view.
    let out = command()
        .args(["load", "user_profil"])
        .arg(&file)
        .args([
            "--id-column",
            "user_id",
            "--registry",
            ROOT_REGISTRY,
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert_eq!(
        stderr(&out),
        "error: unknown view `user_profil`; did you mean `user_profile`?\n"
    );
    // An unknown key in JSON Lines.
    let jsonl = dir.write(
        "users.jsonl",
        "{\"user_id\": \"u1\", \"segmnt\": \"vip\"}\n",
    );
    let out = load(Some(&server.url()), &jsonl, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains(":1: unknown column `segmnt`")
            && stderr(&out).contains("did you mean `segment`?"),
        "{}",
        both(&out)
    );
    assert_eq!(keys(&server), Vec::<String>::new());
}

#[test]
fn a_malformed_file_is_an_error_naming_file_and_line() {
    let dir = TempDir::new();
    let csv = dir.write("bad.csv", "user_id,age\nu1,1\nu2,2\nu3,3,oops\nu4,4\n");
    let out = load(None, &csv, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: {}:4: malformed CSV: 3 fields where the header has 2 (a stray comma or \
             quote?)\n",
            csv.display()
        )
    );
    // What was read before is summed up.
    assert!(
        stdout(&out).contains(": 2 rows read, 2 valid"),
        "{}",
        both(&out)
    );

    let not_utf8 = dir.0.join("latin1.csv");
    std::fs::write(&not_utf8, b"user_id,age\nu1,1\nM\xfcller,2\n").unwrap();
    let out = load(None, &not_utf8, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("latin1.csv:3: field 1 is not valid UTF-8"),
        "{}",
        both(&out)
    );

    let jsonl = dir.write(
        "bad.jsonl",
        "{\"user_id\": \"u1\", \"age\": 1}\n{\"user_id\": \"u2\", \"age\": 2,}\n",
    );
    let out = load(None, &jsonl, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: {}:2: invalid JSON at column 28: trailing comma\n",
            jsonl.display()
        )
    );
    let array = dir.write("array.jsonl", "[1, 2]\n");
    let out = load(None, &array, &["--dry-run"]);
    assert!(
        stderr(&out)
            .contains("array.jsonl:1: expected a JSON object, found an array of 2 elements"),
        "{}",
        both(&out)
    );

    let missing = dir.0.join("missing.csv");
    let out = load(None, &missing, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("missing.csv: cannot read: "),
        "{}",
        both(&out)
    );

    let not_parquet = dir.write("users.parquet", "user_id,age\nu1,1\n");
    let out = load(None, &not_parquet, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let expected = if cfg!(feature = "parquet") {
        "users.parquet: not a readable Parquet file: "
    } else {
        "this fstore was built without Parquet support"
    };
    assert!(stderr(&out).contains(expected), "{}", both(&out));
}

#[test]
fn help_documents_the_command() {
    let out = command().args(["load", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for flag in [
        "--id-column <COL>",
        "--format <FORMAT>",
        "--batch-size <N>",
        "--dry-run",
        "--allow-rejects",
        "--allow-out-of-vocab",
        "--url <URL>",
        "--registry <PATH>",
        "[default: 1000]",
    ] {
        assert!(help.contains(flag), "no {flag} in:\n{help}");
    }
    let out = command()
        .args([
            "load",
            "user_profile",
            "x.csv",
            "--id-column",
            "id",
            "--batch-size",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
}

#[cfg(feature = "parquet")]
mod parquet_files {
    use std::sync::Arc;

    use arrow_array::builder::{FixedSizeListBuilder, Float32Builder, ListBuilder};
    use arrow_array::types::Int32Type;
    use arrow_array::{
        ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch,
        StringArray, UInt64Array,
    };
    use parquet::arrow::ArrowWriter;

    use super::*;

    fn write(path: &Path, columns: Vec<(&str, ArrayRef)>) {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let file = std::fs::File::create(path).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    #[test]
    fn a_parquet_file_is_written() {
        let server = TestServer::start();
        let dir = TempDir::new();
        let path = dir.0.join("users.parquet");
        let mut embeddings = FixedSizeListBuilder::new(Float32Builder::new(), 8);
        for row in 0..4 {
            for x in embedding(0.5) {
                embeddings.values().append_value(x + row as f32);
            }
            embeddings.append(true);
        }
        let segment: DictionaryArray<Int32Type> =
            vec![Some("basic"), Some("vip"), None, Some("gold")]
                .into_iter()
                .collect();
        write(
            &path,
            vec![
                (
                    "user_id",
                    Arc::new(StringArray::from(vec!["p1", "p2", "p3", "p4"])) as ArrayRef,
                ),
                (
                    "age",
                    Arc::new(Int64Array::from(vec![Some(20), None, Some(22), Some(23)])),
                ),
                (
                    "lifetime_value",
                    Arc::new(Float64Array::from(vec![0.5, 1.5, 2.5, 3.5])),
                ),
                ("segment", Arc::new(segment)),
                (
                    "is_premium",
                    Arc::new(BooleanArray::from(vec![true, false, true, false])),
                ),
                (
                    "days_since_signup",
                    Arc::new(UInt64Array::from(vec![1, 2, u64::MAX, 4])),
                ),
                ("embedding", Arc::new(embeddings.finish())),
            ],
        );
        let out = load(Some(&server.url()), &path, &[]);
        assert_eq!(out.status.code(), Some(1), "{}", both(&out));
        let text = stdout(&out);
        assert!(
            text.contains(": 4 rows read, 2 written, 2 rejected ("),
            "{text}"
        );
        let name = path.display().to_string();
        assert!(
            text.contains(&format!(
                "  {name}: row 3: `days_since_signup`: {} is above i64::MAX",
                u64::MAX
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "  {name}: row 4: `segment`: the string \"gold\" is not in the feature's vocab"
            )),
            "{text}"
        );
        let p1 = read(&server, "p1").unwrap();
        assert_eq!(p1["age"], Value::Int(20));
        assert_eq!(p1["lifetime_value"], Value::Float(0.5));
        assert_eq!(p1["segment"], Value::from("basic"));
        assert_eq!(p1["is_premium"], Value::Bool(true));
        assert_eq!(p1["days_since_signup"], Value::Int(1));
        assert_eq!(p1["embedding"], Value::FloatList(embedding(0.5)));
        let p2 = read(&server, "p2").unwrap();
        assert!(p2["age"].is_null(), "a null is not written");
        assert_eq!(p2["segment"], Value::from("vip"));
        assert_eq!(
            p2["embedding"],
            Value::FloatList(embedding(0.5).iter().map(|x| x + 1.0).collect())
        );
        assert_eq!(
            keys(&server),
            ["fs:v1:user_profile:p1", "fs:v1:user_profile:p2"]
        );
        assert_every_key_expires(&server);
    }

    #[test]
    fn parquet_columns_of_the_wrong_type_or_length_are_refused() {
        let dir = TempDir::new();
        let path = dir.0.join("wrong.parquet");
        write(
            &path,
            vec![
                (
                    "user_id",
                    Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
                ),
                ("age", Arc::new(StringArray::from(vec!["1", "2"]))),
            ],
        );
        let out = load(None, &path, &["--dry-run"]);
        assert_eq!(out.status.code(), Some(2), "{}", both(&out));
        assert_eq!(
            stderr(&out),
            format!(
                "error: {}: column `age` is Utf8, but feature `age` is an int: expected an \
                 integer column\n",
                path.display()
            )
        );

        // Integer ids; a list of doubles of the wrong length is the runtime's `len` check.
        let mut lists = ListBuilder::new(arrow_array::builder::Float64Builder::new());
        lists.values().append_slice(&[0.5; 8]);
        lists.append(true);
        lists.values().append_slice(&[0.5; 3]);
        lists.append(true);
        let path = dir.0.join("lists.parquet");
        write(
            &path,
            vec![
                (
                    "user_id",
                    Arc::new(Int64Array::from(vec![7, 8])) as ArrayRef,
                ),
                ("embedding", Arc::new(lists.finish())),
            ],
        );
        let out = load(None, &path, &["--dry-run"]);
        assert_eq!(out.status.code(), Some(1), "{}", both(&out));
        assert!(
            stdout(&out).contains(&format!(
                "  {}: row 2: `embedding`: expected a `float_list` of 8 elements, found a \
                 float_list of 3 elements\n",
                path.display()
            )),
            "{}",
            both(&out)
        );
    }
}
