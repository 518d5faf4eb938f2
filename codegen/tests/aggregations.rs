//! What `generate` makes of an aggregation: an event struct and a features struct in file order,
//! their field types, the spec written out as literals, docs, and the options of `generate_with`.

use fstore_codegen::{generate, generate_with, Options};
use fstore_registry::Registry;
use quote::quote;

/// A registry with one `user` entity and the aggregations of `aggregations`.
fn registry(aggregations: &str) -> Registry {
    let source = format!("[entities.user]\ndescription = \"A customer\"\n{aggregations}");
    Registry::parse(&source, "test.toml").unwrap()
}

const USER_TXN: &str = "[aggregations.user_txn]\nentity = \"user\"\n\
     granularity = [\"1m\", \"1h\"]\ndescription = \"Card payments\"\n\
     [aggregations.user_txn.event]\n\
     amount = { type = \"float\", description = \"EUR\" }\n\
     qty = \"int\"\nmerchant = \"string\"\nonline = \"bool\"\ntype = \"string\"\n\
     [aggregations.user_txn.features]\n\
     n_1h = { fn = \"count\", window = \"1h\", description = \"Payments\" }\n\
     qty_sum = { fn = \"sum\", of = \"qty\", window = \"10m\" }\n\
     amount_sum = { fn = \"sum\", of = \"amount\", window = \"10m\" }\n\
     amount_avg = { fn = \"avg\", of = \"amount\", window = \"24h\" }\n\
     qty_min = { fn = \"min\", of = \"qty\", window = \"1h\" }\n\
     amount_max = { fn = \"max\", of = \"amount\", window = \"1h\" }\n\
     last_merchant = { fn = \"last\", of = \"merchant\", window = \"1h\" }\n\
     last_online = { fn = \"last\", of = \"online\", window = \"1h\" }\n\
     merchants = { fn = \"distinct\", of = \"merchant\", window = \"24h\" }\n";

fn code_of(aggregations: &str) -> String {
    generate(&registry(aggregations)).to_string()
}

#[test]
fn the_event_has_one_field_per_event_field_in_file_order() {
    let code = code_of(USER_TXN);
    assert!(
        code.contains(
            "# [derive (Debug , Clone , PartialEq)] pub struct UserTxnEvent { \
             # [doc = \" EUR\"] pub amount : f64 , \
             # [doc = \" The event's `qty` (`int`).\"] pub qty : i64 , \
             # [doc = \" The event's `merchant` (`string`).\"] pub merchant : String , \
             # [doc = \" The event's `online` (`bool`).\"] pub online : bool , \
             # [doc = \" The event's `type` (`string`).\"] pub r#type : String , }"
        ),
        "{code}"
    );
    assert!(
        code.contains(
            "impl :: fstore :: AggregationEvent for UserTxnEvent { \
             fn spec () -> & 'static :: fstore :: __private :: agg :: Spec { \
             < UserTxn as :: fstore :: AggregationFeatures > :: spec () } \
             fn into_values (self) -> :: std :: vec :: Vec < :: fstore :: __private :: agg :: Value > { \
             :: std :: vec ! [:: fstore :: __private :: agg :: Value :: Float (self . amount) , \
             :: fstore :: __private :: agg :: Value :: Int (self . qty) , \
             :: fstore :: __private :: agg :: Value :: String (self . merchant) , \
             :: fstore :: __private :: agg :: Value :: Bool (self . online) , \
             :: fstore :: __private :: agg :: Value :: String (self . r#type)] } }"
        ),
        "{code}"
    );
    for method in [
        "pub async fn record (self , store : & :: fstore :: Store , id : impl :: fstore :: EntityId , ts_ms : u64 ,) -> :: fstore :: Result < :: fstore :: Recorded >",
        "pub async fn record_at (self , store : & :: fstore :: Store , id : impl :: fstore :: EntityId , ts_ms : u64 , now_ms : u64 ,) -> :: fstore :: Result < :: fstore :: Recorded >",
        "pub async fn record_batch < I , E > (store : & :: fstore :: Store , events : E ,) -> :: fstore :: Result < :: fstore :: RecordReport > \
         where E : :: core :: iter :: IntoIterator < Item = (I , u64 , Self) > , I : :: fstore :: EntityId ,",
    ] {
        assert!(code.contains(method), "no `{method}` in {code}");
    }
}

#[test]
fn features_have_the_types_of_their_functions() {
    let code = code_of(USER_TXN);
    let start = code.find("pub struct UserTxn {").unwrap();
    let end = start + code[start..].find('}').unwrap();
    let fields: Vec<&str> = code[start..end]
        .split(" pub ")
        .skip(1)
        .filter_map(|f| f.split(',').next())
        .map(str::trim)
        .collect();
    assert_eq!(
        fields,
        [
            "n_1h : i64",
            "qty_sum : i64",
            "amount_sum : f64",
            "amount_avg : Option < f64 >",
            "qty_min : Option < i64 >",
            "amount_max : Option < f64 >",
            "last_merchant : Option < String >",
            "last_online : Option < bool >",
            "merchants : u64",
        ]
    );
    // Taken from the computed features by position, in the same order.
    assert!(
        code.contains(
            "fn from_features (mut __features : :: fstore :: __private :: agg :: Features ,) \
             -> :: fstore :: Result < Self > { :: core :: result :: Result :: Ok (UserTxn { \
             n_1h : :: fstore :: __private :: agg :: take (& mut __features , 0 , \"n_1h\") ? , \
             qty_sum : :: fstore :: __private :: agg :: take (& mut __features , 1 , \"qty_sum\") ? ,"
        ),
        "{code}"
    );
    for method in [
        "pub async fn read (store : & :: fstore :: Store , id : impl :: fstore :: EntityId ,) -> :: fstore :: Result < Self >",
        "pub async fn read_at (store : & :: fstore :: Store , id : impl :: fstore :: EntityId , now_ms : u64 ,) -> :: fstore :: Result < Self >",
        "pub async fn read_batch < I > (store : & :: fstore :: Store , ids : I ,) -> :: fstore :: Result < :: std :: vec :: Vec < Self >> where I : :: core :: iter :: IntoIterator , I :: Item : :: fstore :: EntityId ,",
    ] {
        assert!(code.contains(method), "no `{method}` in {code}");
    }
}

#[test]
fn the_spec_is_the_declaration_as_literals() {
    let code = code_of(USER_TXN);
    assert!(
        code.contains(
            "static SPEC : :: std :: sync :: OnceLock < :: fstore :: __private :: agg :: Spec > = \
             :: std :: sync :: OnceLock :: new () ; SPEC . get_or_init (|| { \
             match :: fstore :: __private :: agg :: Spec :: build (\"user_txn\" , \"fs:v1:user_txn:\" , 60000 , \
             [(\"amount\" , :: fstore :: __private :: agg :: FeatureType :: Float) , \
             (\"qty\" , :: fstore :: __private :: agg :: FeatureType :: Int) ,"
        ),
        "{code}"
    );
    // Each feature with its function, field, window and resolution (the registry's choice: a
    // 24-hour window is read in buckets of an hour).
    assert!(
        code.contains(
            ":: fstore :: __private :: agg :: FeatureDecl { name : \"amount_avg\" , \
             function : :: fstore :: __private :: agg :: AggFunction :: Avg , \
             of : :: core :: option :: Option :: Some (\"amount\") , \
             window_ms : 86400000 , resolution_ms : 3600000 , }"
        ),
        "{code}"
    );
    assert!(
        code.contains(
            "name : \"n_1h\" , function : :: fstore :: __private :: agg :: AggFunction :: Count , \
             of : :: core :: option :: Option :: None , window_ms : 3600000 , resolution_ms : 60000 ,"
        ),
        "{code}"
    );
    // An inconsistent spec (code edited by hand) panics naming the aggregation.
    assert!(
        code.contains("generated spec of aggregation `user_txn` is inconsistent"),
        "{code}"
    );
}

#[test]
fn aggregation_spec_is_the_features_structs_spec_expression() {
    let registry = registry(USER_TXN);
    let aggregation = registry.aggregation("user_txn").unwrap();
    let spec =
        fstore_codegen::aggregation_spec(&registry, aggregation, &quote!(::fstore)).to_string();
    // One `&'static Spec` expression, the body of the features struct's `spec()`.
    assert!(
        spec.starts_with("{ static SPEC : :: std :: sync :: OnceLock"),
        "{spec}"
    );
    assert!(
        code_of(USER_TXN).contains(&format!(
            "fn spec () -> & 'static :: fstore :: __private :: agg :: Spec {{ {spec} }}"
        )),
        "{spec}"
    );
    // Under another crate path.
    let renamed =
        fstore_codegen::aggregation_spec(&registry, aggregation, &quote!(my_fstore)).to_string();
    assert!(
        renamed.contains("match my_fstore :: __private :: agg :: Spec :: build (\"user_txn\""),
        "{renamed}"
    );
    assert!(!renamed.contains(":: fstore"), "{renamed}");
}

#[test]
fn the_key_prefix_follows_namespace_and_version() {
    let registry = Registry::parse(
        &format!("[store]\nnamespace = \"risk\"\nversion = 3\n[entities.user]\n{USER_TXN}"),
        "test.toml",
    )
    .unwrap();
    let code = generate(&registry).to_string();
    assert!(
        code.contains("Spec :: build (\"user_txn\" , \"risk:v3:user_txn:\" , 60000 ,"),
        "{code}"
    );
    assert!(code.contains("`risk:v3:user_txn:{<id>}`"), "{code}");
}

#[test]
fn descriptions_and_windows_become_docs() {
    let code = code_of(USER_TXN);
    assert!(
        code.contains(
            "# [doc = \" Card payments\"] # [doc = \"\"] \
             # [doc = \" The windowed features of aggregation `user_txn` of entity `user` (A customer), computed in\"]"
        ),
        "{code}"
    );
    assert!(
        code.contains(
            "# [doc = \" Payments\"] # [doc = \"\"] \
             # [doc = \" `count`: the events of the last `1h` (60 buckets of `1m`, the current one included); 0\"] \
             # [doc = \" without events.\"] pub n_1h : i64"
        ),
        "{code}"
    );
    assert!(
        code.contains(
            "# [doc = \" `avg` of `amount` over the events of the last `24h` (24 buckets of `1h`, the current one\"] \
             # [doc = \" included); `None` without events.\"] pub amount_avg"
        ),
        "{code}"
    );
    assert!(
        code.contains(
            "# [doc = \" An event of aggregation `user_txn` of entity `user` (A customer): record it with\"]"
        ),
        "{code}"
    );
    // Every generated sentence is wrapped: no doc line is longer than 92 characters.
    for line in code.split("# [doc = \"").skip(1) {
        let text = &line[..line.find("\"]").unwrap()];
        assert!(text.chars().count() <= 93, "{text}");
    }
}

#[test]
fn an_aggregation_without_event_fields_has_an_empty_event() {
    let code = code_of(
        "[aggregations.logins]\nentity = \"user\"\ngranularity = \"1m\"\n\
         [aggregations.logins.features]\nn = { fn = \"count\", window = \"1h\" }\n",
    );
    assert!(code.contains("pub struct LoginsEvent { }"), "{code}");
    assert!(code.contains(":: std :: vec ! []"), "{code}");
    assert!(
        code.contains("Spec :: build (\"logins\" , \"fs:v1:logins:\" , 60000 , [] ,"),
        "{code}"
    );
}

#[test]
fn aggregations_follow_the_views_in_file_order() {
    let code = code_of(&format!(
        "[views.user_profile]\nentity = \"user\"\nttl = \"1h\"\n\
         [views.user_profile.features]\nage = \"int\"\n\
         [aggregations.b_agg]\nentity = \"user\"\ngranularity = \"1m\"\n\
         [aggregations.b_agg.features]\nn = {{ fn = \"count\", window = \"1h\" }}\n\
         {USER_TXN}"
    ));
    let view = code.find("pub struct UserProfile ").unwrap();
    let b = code.find("pub struct BAggEvent ").unwrap();
    let b_features = code.find("pub struct BAgg ").unwrap();
    let txn = code.find("pub struct UserTxnEvent ").unwrap();
    assert!(view < b && b < b_features && b_features < txn, "{code}");
}

#[test]
fn an_aggregation_named_like_a_prelude_type_makes_every_type_a_full_path() {
    let code = code_of(
        "[aggregations.option]\nentity = \"user\"\ngranularity = \"1m\"\n\
         [aggregations.option.event]\nm = \"string\"\nx = \"float\"\n\
         [aggregations.option.features]\n\
         last_m = { fn = \"last\", of = \"m\", window = \"1h\" }\n\
         avg_x = { fn = \"avg\", of = \"x\", window = \"1h\" }\n",
    );
    assert!(
        code.contains("pub struct OptionEvent { # [doc = \" The event's `m` (`string`).\"] pub m : :: std :: string :: String ,"),
        "{code}"
    );
    assert!(
        code.contains("pub last_m : :: core :: option :: Option < :: std :: string :: String > ,"),
        "{code}"
    );
    assert!(
        code.contains("pub avg_x : :: core :: option :: Option < f64 > ,"),
        "{code}"
    );
}

#[test]
fn options_apply_to_both_structs() {
    let mut options = Options::default();
    options.crate_path = Some(quote!(my_fstore));
    options.derives = vec![quote!(serde::Serialize)];
    let code = generate_with(&registry(USER_TXN), &options).to_string();
    assert!(
        code.contains(
            "# [derive (Debug , Clone , PartialEq , serde :: Serialize)] pub struct UserTxnEvent"
        ),
        "{code}"
    );
    assert!(
        code.contains(
            "# [derive (Debug , Clone , PartialEq , serde :: Serialize)] pub struct UserTxn {"
        ),
        "{code}"
    );
    assert!(
        code.contains("impl my_fstore :: AggregationEvent for UserTxnEvent"),
        "{code}"
    );
    assert!(
        code.contains("my_fstore :: __private :: agg :: Spec :: build"),
        "{code}"
    );
    assert!(!code.contains(":: fstore ::"), "{code}");
}
