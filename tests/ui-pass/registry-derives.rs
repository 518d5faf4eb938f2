// `registry!(..., derive(...))` adds derives to every generated struct: here serde's, which
// round-trip a row through JSON. `Clone` is one of the built-in derives: given again, it is not
// derived twice.

fstore::registry!(
    "evolve-after.toml",
    derive(Clone, serde::Serialize, serde::Deserialize, Clone)
);

fn main() {
    let row = UserScore::builder().score(0.25).segment("vip").build();
    let json = serde_json::to_string(&row).unwrap();
    assert_eq!(
        json,
        r#"{"score":0.25,"is_new":true,"segment":"vip","clicks":0,"country":null,"weight":1.5}"#
    );
    let back: UserScore = serde_json::from_str(&json).unwrap();
    assert_eq!(back, row.clone());
    let settings: UserSettings =
        serde_json::from_str(r#"{"theme":"dark","font_size":14,"language":"fr"}"#).unwrap();
    assert_eq!(settings.language.as_deref(), Some("fr"));
}
