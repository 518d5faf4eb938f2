//! `fstore diff OLD NEW` and `fstore check NEW --against OLD`, run as CI runs them: every kind of
//! change at its line, safe or breaking, and the exit status.

mod common;

use std::process::Output;

use common::{fstore, stderr, stdout, TempDir};

/// The registry every test starts from; each test edits a copy of it into the new one.
const BASE: &str = r#"[store]
namespace = "fs"
version = 1

[entities.user]
[entities.item]

[views.profile]
entity = "user"
ttl = "1h"
max_age = "30m"

[views.profile.features]
age = "int"
country = { type = "string", optional = true }
is_premium = { type = "bool", default = false }
segment = { type = "string", vocab = ["basic", "premium"], encode = "onehot" }
embedding = { type = "float_list", len = 4 }

[views.stats]
entity = "item"
ttl = "1d"

[views.stats.features]
price = "float"
"#;

/// Writes `contents` to `name` in `dir`; returns its path as text, for arguments.
fn write(dir: &TempDir, name: &str, contents: &str) -> String {
    dir.write(name, contents).display().to_string()
}

/// `BASE` with each `(from, to)` replaced once; panics if `from` is not there.
fn edit(edits: &[(&str, &str)]) -> String {
    let mut text = BASE.to_owned();
    for (from, to) in edits {
        assert!(text.contains(from), "`{from}` is not in the base registry");
        text = text.replacen(from, to, 1);
    }
    text
}

/// The two registries written to a temp dir, then `fstore diff old new`.
struct Run {
    _dir: TempDir,
    old: String,
    new: String,
    out: Output,
}

fn diff(new: &str) -> Run {
    diff_between(BASE, new, &[])
}

fn diff_between(old: &str, new: &str, extra: &[&str]) -> Run {
    let dir = TempDir::new();
    let old = write(&dir, "old.toml", old);
    let new = write(&dir, "new.toml", new);
    let mut args = vec!["diff", &old, &new];
    args.extend(extra);
    let out = fstore(&args);
    Run {
        _dir: dir,
        old,
        new,
        out,
    }
}

/// Which file a change is reported in.
enum In {
    Old,
    New,
}

impl Run {
    /// Asserts that stdout is exactly these changes, each `(file, "line:column", kind, message
    /// start)`, then the summary line, and that the exit status fits.
    fn expect(&self, changes: &[(In, &str, &str, &str)]) {
        let text = stdout(&self.out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            changes.len() + 1,
            "{text}{}",
            stderr(&self.out)
        );
        for (line, (file, at, kind, message)) in lines.iter().zip(changes) {
            let file = match file {
                In::Old => &self.old,
                In::New => &self.new,
            };
            let expected = format!("{file}:{at}: {kind}: {message}");
            assert!(
                line.starts_with(&expected),
                "expected `{expected}…`\n{text}"
            );
        }
        let breaking = changes.iter().filter(|c| c.2 == "breaking").count();
        let noun = if changes.len() == 1 {
            "change"
        } else {
            "changes"
        };
        assert_eq!(
            lines[changes.len()],
            format!(
                "{} {noun}: {breaking} breaking, {} safe",
                changes.len(),
                changes.len() - breaking
            )
        );
        let status = if breaking > 0 { 1 } else { 0 };
        assert_eq!(self.out.status.code(), Some(status), "{text}");
        assert_eq!(stderr(&self.out), "");
    }
}

#[test]
fn identical_registries_have_no_changes() {
    let run = diff(BASE);
    run.expect(&[]);
    assert_eq!(stdout(&run.out), "0 changes: 0 breaking, 0 safe\n");
}

#[test]
fn descriptions_comments_and_order_are_not_changes() {
    let new = edit(&[
        ("ttl = \"1h\"\n", "ttl = \"1h\"   # an hour\ndescription = \"who\"\n"),
        ("age = \"int\"\n", ""),
        ("price = \"float\"\n", "price = \"float\"\n"),
        (
            "embedding = { type = \"float_list\", len = 4 }\n",
            "embedding = { type = \"float_list\", len = 4 }\nage = { type = \"int\", description = \"years\" }\n",
        ),
    ]);
    diff(&new).expect(&[]);
}

#[test]
fn a_removed_view_breaks_its_readers() {
    let new = edit(&[(
        "[views.stats]\nentity = \"item\"\nttl = \"1d\"\n\n[views.stats.features]\nprice = \"float\"\n",
        "",
    )]);
    let run = diff(&new);
    run.expect(&[(
        In::Old,
        "20:8",
        "breaking",
        "view `stats` was removed: readers built from the old registry still read it",
    )]);
    let text = stdout(&run.out);
    let line = text.lines().next().unwrap();
    assert!(line.ends_with("or bump `version` in [store]"), "{line}");
}

#[test]
fn an_added_view_is_safe() {
    let new = format!(
        "{BASE}\n[views.orders]\nentity = \"user\"\nttl = \"1h\"\n\n[views.orders.features]\nn = \"int\"\n"
    );
    diff(&new).expect(&[(In::New, "27:8", "safe", "view `orders` was added")]);
}

#[test]
fn a_removed_feature_breaks_its_readers() {
    let new = edit(&[("age = \"int\"\n", "")]);
    diff(&new).expect(&[(
        In::Old,
        "14:1",
        "breaking",
        "feature `age` of view `profile` was removed: readers built from the old registry still \
         read it",
    )]);
}

#[test]
fn an_added_feature_is_safe_with_a_default_or_optional() {
    let new = edit(&[(
        "price = \"float\"\n",
        "price = \"float\"\nrank = { type = \"int\", default = 0 }\nbrand = { type = \"string\", optional = true }\n",
    )]);
    diff(&new).expect(&[
        (
            In::New,
            "26:1",
            "safe",
            "feature `rank` of view `stats` was added: rows already stored lack it and read as \
             its default 0",
        ),
        (
            In::New,
            "27:1",
            "safe",
            "feature `brand` of view `stats` was added: rows already stored lack it and read as \
             absent (`None`)",
        ),
    ]);
}

#[test]
fn an_added_required_feature_breaks_readers_of_existing_rows() {
    let new = edit(&[("price = \"float\"\n", "price = \"float\"\nrank = \"int\"\n")]);
    diff(&new).expect(&[(
        In::New,
        "26:1",
        "breaking",
        "feature `rank` of view `stats` was added: rows already stored lack it, so typed readers \
         fail on them; give it a `default` or `optional = true`",
    )]);
}

#[test]
fn a_changed_type_breaks_existing_values() {
    let new = edit(&[("age = \"int\"", "age = \"string\"")]);
    let run = diff(&new);
    run.expect(&[(
        In::New,
        "14:1",
        "breaking",
        "feature `age` of view `profile` changed type",
    )]);
    assert_eq!(
        stdout(&run.out).lines().next().unwrap(),
        format!(
            "{}:14:1: breaking: feature `age` of view `profile` changed type int -> string: \
             existing values no longer decode; bump `version` in [store] or add a new feature \
             instead",
            run.new
        )
    );
}

#[test]
fn making_an_optional_feature_required_without_a_default_breaks() {
    let new = edit(&[(
        "country = { type = \"string\", optional = true }",
        "country = { type = \"string\" }",
    )]);
    diff(&new).expect(&[(
        In::New,
        "15:1",
        "breaking",
        "feature `country` of view `profile` is no longer optional (`optional` true -> false) \
         and has no default: rows that lack it, which were valid, now fail typed readers",
    )]);
}

#[test]
fn making_a_required_feature_optional_is_safe() {
    let new = edit(&[("age = \"int\"", "age = { type = \"int\", optional = true }")]);
    diff(&new).expect(&[(
        In::New,
        "14:1",
        "safe",
        "feature `age` of view `profile` became optional (`optional` false -> true): absent \
         values read as `None` instead of failing",
    )]);
}

#[test]
fn adding_a_default_is_safe() {
    let new = edit(&[("age = \"int\"", "age = { type = \"int\", default = -1 }")]);
    diff(&new).expect(&[(
        In::New,
        "14:1",
        "safe",
        "feature `age` of view `profile` gained the default -1",
    )]);
}

#[test]
fn changing_a_default_breaks_readers_of_absent_values() {
    let new = edit(&[("default = false", "default = true")]);
    diff(&new).expect(&[(
        In::New,
        "16:1",
        "breaking",
        "feature `is_premium` of view `profile` changed its default false -> true: readers of \
         absent values now see another value",
    )]);
}

#[test]
fn removing_a_default_breaks_unless_the_feature_becomes_optional() {
    let required = edit(&[(
        "is_premium = { type = \"bool\", default = false }",
        "is_premium = \"bool\"",
    )]);
    diff(&required).expect(&[(
        In::New,
        "16:1",
        "breaking",
        "feature `is_premium` of view `profile` lost its default false: rows that lack it now \
         fail typed readers",
    )]);
    let optional = edit(&[("default = false", "optional = true")]);
    diff(&optional).expect(&[(
        In::New,
        "16:1",
        "safe",
        "feature `is_premium` of view `profile` lost its default false and became optional",
    )]);
}

#[test]
fn a_changed_list_len_breaks_stored_lists() {
    let new = edit(&[("len = 4", "len = 8")]);
    diff(&new).expect(&[(
        In::New,
        "18:1",
        "breaking",
        "feature `embedding` of view `profile` changed `len` 4 -> 8: stored lists of 4 elements \
         fail the length check",
    )]);
}

#[test]
fn a_changed_list_encoding_breaks_stored_bytes() {
    let new = edit(&[("len = 4", "len = 4, encoding = \"f32le\"")]);
    diff(&new).expect(&[(
        In::New,
        "18:1",
        "breaking",
        "feature `embedding` of view `profile` changed `encoding` json -> f32le: stored bytes no \
         longer decode",
    )]);
    // Writing the default out is no change.
    let explicit = edit(&[("len = 4", "len = 4, encoding = \"json\"")]);
    diff(&explicit).expect(&[]);
}

#[test]
fn a_removed_vocab_entry_changes_model_inputs() {
    let new = edit(&[("[\"basic\", \"premium\"]", "[\"basic\"]")]);
    diff(&new).expect(&[(
        In::New,
        "17:1",
        "breaking",
        "feature `segment` of view `profile` removed `vocab` \"premium\": model inputs change",
    )]);
}

#[test]
fn vocab_entries_appended_at_the_end_are_safe() {
    let new = edit(&[(
        "[\"basic\", \"premium\"]",
        "[\"basic\", \"premium\", \"vip\"]",
    )]);
    diff(&new).expect(&[(
        In::New,
        "17:1",
        "safe",
        "feature `segment` of view `profile` appended \"vip\" to its `vocab`: existing entries \
         keep their columns",
    )]);
}

#[test]
fn a_reordered_vocab_moves_columns() {
    let new = edit(&[("[\"basic\", \"premium\"]", "[\"premium\", \"basic\"]")]);
    diff(&new).expect(&[(
        In::New,
        "17:1",
        "breaking",
        "feature `segment` of view `profile` reordered its `vocab` or inserted entries before \
         the end: values move to other index and one-hot columns",
    )]);
}

#[test]
fn a_vocab_entry_inserted_in_the_middle_moves_columns() {
    let new = edit(&[(
        "[\"basic\", \"premium\"]",
        "[\"basic\", \"plus\", \"premium\"]",
    )]);
    diff(&new).expect(&[(
        In::New,
        "17:1",
        "breaking",
        "feature `segment` of view `profile` reordered its `vocab` or inserted entries before \
         the end",
    )]);
}

#[test]
fn a_changed_encode_changes_model_inputs() {
    let new = edit(&[("encode = \"onehot\"", "encode = \"index\"")]);
    diff(&new).expect(&[(
        In::New,
        "17:1",
        "breaking",
        "feature `segment` of view `profile` changed `encode` onehot -> index",
    )]);
    // `onehot` is the default: leaving it out is no change.
    let implicit = edit(&[(", encode = \"onehot\"", "")]);
    diff(&implicit).expect(&[]);
}

#[test]
fn a_changed_entity_breaks_the_keys_meaning() {
    let new = edit(&[("entity = \"user\"", "entity = \"item\"")]);
    diff(&new).expect(&[(
        In::New,
        "8:8",
        "breaking",
        "view `profile` changed entity `user` -> `item`: its rows are keyed by `user` ids",
    )]);
}

#[test]
fn a_shorter_ttl_breaks_and_a_longer_one_is_safe() {
    let shorter = edit(&[("ttl = \"1h\"", "ttl = \"15m\"")]);
    diff(&shorter).expect(&[(
        In::New,
        "8:8",
        "breaking",
        "view `profile` `ttl` shortened from 1h to 15m: rows written from now on expire earlier \
         than readers expect",
    )]);
    let longer = edit(&[("ttl = \"1h\"", "ttl = 7200")]);
    diff(&longer).expect(&[(
        In::New,
        "8:8",
        "safe",
        "view `profile` `ttl` lengthened from 1h to 7200s",
    )]);
    // The same duration written otherwise is no change.
    let same = edit(&[("ttl = \"1h\"", "ttl = \"60m\"")]);
    diff(&same).expect(&[]);
}

#[test]
fn max_age_changes_are_safe() {
    let changed = edit(&[("max_age = \"30m\"", "max_age = \"5m\"")]);
    diff(&changed).expect(&[(
        In::New,
        "8:8",
        "safe",
        "view `profile` `max_age` changed from 30m to 5m: nothing stored changes",
    )]);
    let removed = edit(&[("max_age = \"30m\"\n", "")]);
    diff(&removed).expect(&[(
        In::New,
        "8:8",
        "safe",
        "view `profile` `max_age` 30m removed",
    )]);
    let added = edit(&[("ttl = \"1d\"", "ttl = \"1d\"\nmax_age = \"2h\"")]);
    diff(&added).expect(&[(In::New, "20:8", "safe", "view `stats` `max_age` 2h added")]);
}

#[test]
fn a_changed_namespace_moves_every_key() {
    let new = edit(&[("namespace = \"fs\"", "namespace = \"ml\"")]);
    diff(&new).expect(&[(
        In::New,
        "1:1",
        "breaking",
        "`namespace` in [store] changed from `fs` to `ml`: every key moves from `fs:v1:` to \
         `ml:v1:`",
    )]);
}

#[test]
fn a_version_bump_makes_breaking_changes_safe_and_needs_new_data() {
    let new = edit(&[
        ("version = 1", "version = 2"),
        ("age = \"int\"", "age = \"string\""),
        ("price = \"float\"\n", "price = \"float\"\nrank = \"int\"\n"),
        ("country = { type = \"string\", optional = true }\n", ""),
    ]);
    let note = "safe: `version` bumped from 1 to 2, so new data lives under new keys";
    let run = diff(&new);
    run.expect(&[
        (
            In::New,
            "1:1",
            "safe",
            "`version` in [store] bumped from 1 to 2: keys move to `fs:v2:`, a fresh key space \
             that starts empty",
        ),
        (
            In::Old,
            "15:1",
            "safe",
            "feature `country` of view `profile` was removed; ",
        ),
        (
            In::New,
            "14:1",
            "safe",
            "feature `age` of view `profile` changed type int -> string; ",
        ),
        (
            In::New,
            "25:1",
            "safe",
            "feature `rank` of view `stats` was added; ",
        ),
    ]);
    let text = stdout(&run.out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("re-materialise every view"), "{text}");
    for line in &lines[1..4] {
        assert!(line.ends_with(note), "{line}");
    }
}

#[test]
fn a_lowered_version_breaks() {
    let old = edit(&[("version = 1", "version = 3")]);
    diff_between(&old, BASE, &[]).expect(&[(
        In::New,
        "1:1",
        "breaking",
        "`version` in [store] lowered from 3 to 1: keys move back to `fs:v1:`",
    )]);
}

#[test]
fn an_invalid_registry_exits_2_with_its_problems() {
    let broken = "[views.v]\nentity = 1\n";
    for (old, new) in [(broken, BASE), (BASE, broken)] {
        let run = diff_between(old, new, &[]);
        let file = if old == broken { &run.old } else { &run.new };
        assert_eq!(run.out.status.code(), Some(2), "{}", stderr(&run.out));
        assert_eq!(stdout(&run.out), "");
        let err = stderr(&run.out);
        let entity = format!("{file}:2:10: `entity` must be a string, found integer");
        assert!(err.lines().any(|l| l == entity), "{err}");
        assert!(
            err.ends_with(&format!("\nerror: {file} has 3 problems\n")),
            "{err}"
        );
    }
    let dir = TempDir::new();
    let good = write(&dir, "good.toml", BASE);
    let missing = dir.0.join("missing.toml").display().to_string();
    let out = fstore(&["diff", &missing, &good]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with(&format!("error: cannot read the registry {missing}: ")));
}

#[test]
fn check_against_runs_the_same_comparison_after_the_check() {
    let dir = TempDir::new();
    let old = write(&dir, "old.toml", BASE);
    let new = write(&dir, "new.toml", &edit(&[("len = 4", "len = 8")]));
    let out = fstore(&["check", &new, "--against", &old]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with(&format!("{new}: ok (2 views, 6 features, fingerprint ")));
    assert!(
        lines[1].starts_with(&format!("{new}:18:1: breaking: feature `embedding`")),
        "{text}"
    );
    assert_eq!(lines[2], "1 change: 1 breaking, 0 safe");

    let same = fstore(&["check", &old, "--against", &old]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(stdout(&same).ends_with("\n0 changes: 0 breaking, 0 safe\n"));

    let broken = write(&dir, "broken.toml", "[views.v]\nentity = 1\n");
    let invalid = fstore(&["check", &broken, "--against", &old]);
    assert_eq!(invalid.status.code(), Some(2));
    assert!(stderr(&invalid).ends_with(&format!("\nerror: {broken} has 3 problems\n")));
}

#[test]
fn json_lists_every_change_for_ci_tools() {
    let new = edit(&[
        ("age = \"int\"", "age = \"string\""),
        ("max_age = \"30m\"", "max_age = \"5m\""),
    ]);
    let run = diff_between(BASE, &new, &["--format", "json"]);
    assert_eq!(run.out.status.code(), Some(1), "{}", stderr(&run.out));
    let json: serde_json::Value = serde_json::from_slice(&run.out.stdout).unwrap();
    assert_eq!(json["breaking"], 1);
    assert_eq!(json["safe"], 1);
    let changes = json["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(
        changes[0],
        serde_json::json!({
            "kind": "safe",
            "file": run.new,
            "line": 8,
            "column": 8,
            "view": "profile",
            "feature": null,
            "message": "view `profile` `max_age` changed from 30m to 5m: nothing stored \
                        changes, only which rows feature vectors treat as too old",
        })
    );
    assert_eq!(changes[1]["kind"], "breaking");
    assert_eq!(changes[1]["file"], run.new.as_str());
    assert_eq!(changes[1]["line"], 14);
    assert_eq!(changes[1]["column"], 1);
    assert_eq!(changes[1]["view"], "profile");
    assert_eq!(changes[1]["feature"], "age");
    assert!(changes[1]["message"]
        .as_str()
        .unwrap()
        .starts_with("feature `age` of view `profile` changed type int -> string"));

    let dir = TempDir::new();
    let old = write(&dir, "old.toml", BASE);
    let against = fstore(&["check", &old, "--against", &old, "--format", "json"]);
    assert_eq!(against.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&against.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "changes": [], "breaking": 0, "safe": 0 })
    );
}

#[test]
fn json_reports_an_invalid_registry_on_stdout() {
    let run = diff_between("[views.v]\nentity = 1\n", BASE, &["--format", "json"]);
    assert_eq!(run.out.status.code(), Some(2));
    assert_eq!(stderr(&run.out), "");
    let json: serde_json::Value = serde_json::from_slice(&run.out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3);
    assert!(errors.contains(&serde_json::json!({
        "file": run.old,
        "line": 2,
        "column": 10,
        "message": "`entity` must be a string, found integer",
    })));
}

#[test]
fn check_prints_json_without_against() {
    let dir = TempDir::new();
    let good = write(&dir, "features.toml", BASE);
    let out = fstore(&["check", &good, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fingerprint = fstore_registry::Registry::parse(BASE, &good)
        .unwrap()
        .fingerprint();
    assert_eq!(
        json,
        serde_json::json!({
            "ok": true,
            "file": good,
            "views": 2,
            "features": 6,
            "aggregations": 0,
            "fingerprint": fingerprint,
        })
    );

    let broken = write(&dir,
        "broken.toml",
        "[entities.user]\n[views.v]\nentity = \"usr\"\nttl = \"1h\"\n[views.v.features]\nn = \"int\"\n",
    );
    let out = fstore(&["check", &broken, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["errors"].as_array().unwrap().len(), 1, "{json}");
    let first = &json["errors"][0];
    assert_eq!(first["file"], broken.as_str());
    assert_eq!(first["line"], 3);
    assert_eq!(first["column"], 10);
    assert!(first["message"]
        .as_str()
        .unwrap()
        .starts_with("view `v` names unknown entity `usr`"));
}

/// `BASE` with an aggregation appended.
const AGG: &str = r#"
[aggregations.txn]
entity = "user"
granularity = ["1m", "1h"]

[aggregations.txn.event]
amount = "float"
merchant = "string"

[aggregations.txn.features]
n_1h = { fn = "count", window = "1h" }
amount_avg_24h = { fn = "avg", of = "amount", window = "24h" }
"#;

#[test]
fn aggregation_changes_are_classified() {
    let old = format!("{BASE}{AGG}");
    // Readers of `amount_avg_24h` expect an average; a new window reads buckets never kept.
    let new = old
        .replace(
            r#"amount_avg_24h = { fn = "avg""#,
            r#"amount_avg_24h = { fn = "max""#,
        )
        .replace(
            r#"n_1h = { fn = "count", window = "1h" }"#,
            r#"n_1h = { fn = "count", window = "2h" }"#,
        );
    let run = diff_between(&old, &new, &[]);
    let out = stdout(&run.out);
    assert_eq!(run.out.status.code(), Some(1), "{out}{}", stderr(&run.out));
    assert!(
        out.contains("breaking: feature `amount_avg_24h` of aggregation `txn` changed from `avg(amount) over 24h` to `max(amount) over 24h`"),
        "{out}"
    );
    assert!(
        out.contains("breaking: feature `n_1h` of aggregation `txn` window changed from 1h to 2h"),
        "{out}"
    );
    assert!(out.contains(&format!("{}:", run.new)), "{out}");
    assert!(out.contains("2 changes: 2 breaking, 0 safe"), "{out}");

    // Adding an aggregation, or a feature to one, is safe; removing an event field is not.
    let run = diff_between(BASE, &old, &[]);
    assert_eq!(run.out.status.code(), Some(0), "{}", stdout(&run.out));
    assert!(
        stdout(&run.out).contains("safe: aggregation `txn` was added"),
        "{}",
        stdout(&run.out)
    );
    let fewer = old.replace("merchant = \"string\"\n", "");
    let run = diff_between(&old, &fewer, &[]);
    assert_eq!(run.out.status.code(), Some(1));
    assert!(
        stdout(&run.out)
            .contains("breaking: event field `merchant` of aggregation `txn` was removed"),
        "{}",
        stdout(&run.out)
    );
}
