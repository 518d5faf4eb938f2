//! The views, vectors and registry the properties write and read.

/// Every type the codec supports, required and optional.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "prop_every_type", ttl = "1h")]
pub struct EveryType {
    pub a_i64: i64,
    pub a_i32: i32,
    pub a_u32: u32,
    pub a_u64: u64,
    pub a_f64: f64,
    pub a_f32: f32,
    pub a_bool: bool,
    pub a_string: String,
    pub embedding: Vec<f32>,
    #[fstore(encoding = "f32le")]
    pub packed: Vec<f32>,
    pub o_i64: Option<i64>,
    pub o_i32: Option<i32>,
    pub o_u32: Option<u32>,
    pub o_u64: Option<u64>,
    pub o_f64: Option<f64>,
    pub o_f32: Option<f32>,
    pub o_bool: Option<bool>,
    pub o_string: Option<String>,
    pub o_embedding: Option<Vec<f32>>,
    #[fstore(encoding = "f32le")]
    pub o_packed: Option<Vec<f32>>,
}

/// Four views whose keys differ only in view name, version or namespace, all with the same
/// field, so that two (view, id) pairs sharing a key would overwrite each other.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "prop_ids", ttl = "1h")]
pub struct IdsA {
    pub tag: String,
}

#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "prop_ids.v", ttl = "1h")]
pub struct IdsB {
    pub tag: String,
}

#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "prop_ids", ttl = "1h", version = 2)]
pub struct IdsC {
    pub tag: String,
}

#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "prop_ids", ttl = "1h", namespace = "prop")]
pub struct IdsD {
    pub tag: String,
}

/// A vector over two views with every kind of column; `prop_vec_b` rows expire after an hour.
#[derive(fstore::FeatureVector, Debug, Clone)]
#[feature_vector(max_age(prop_vec_b = "1h"))]
pub struct PropVector {
    #[fstore(view = "prop_vec_a")]
    pub n: i64,
    #[fstore(view = "prop_vec_a")]
    pub small: Option<u32>,
    #[fstore(view = "prop_vec_a", default = 0.5)]
    pub x: f64,
    #[fstore(view = "prop_vec_a")]
    pub flag: bool,
    #[fstore(view = "prop_vec_a", vocab = ["a", "b", "c"])]
    pub cat: String,
    #[fstore(view = "prop_vec_b", vocab = ["x", "y"], encode = "index")]
    pub kind: Option<String>,
    #[fstore(view = "prop_vec_b", len = 2)]
    pub emb: Option<Vec<f32>>,
    #[fstore(view = "prop_vec_b", len = 2, encoding = "f32le")]
    pub packed: Option<Vec<f32>>,
    #[fstore(view = "prop_vec_b", default = 1.5)]
    pub y: f32,
    #[fstore(view = "prop_vec_b", skip)]
    pub note: Option<String>,
}

/// The registry of the dynamic property: one feature of every type, a fixed-length list in each
/// encoding, a default and an optional feature.
pub const DYNAMIC_REGISTRY: &str = r#"
[entities.thing]

[views.prop_dynamic]
entity = "thing"
ttl = "1h"

[views.prop_dynamic.features]
i = "int"
f = "float"
s = "string"
b = "bool"
e = "float_list"
e4 = { type = "float_list", len = 4 }
p3 = { type = "float_list", len = 3, encoding = "f32le" }
d = { type = "int", default = 7 }
o = { type = "string", optional = true }
"#;

/// The typed twin of `prop_dynamic`.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "prop_dynamic", ttl = "1h")]
pub struct DynTyped {
    pub i: Option<i64>,
    pub f: Option<f64>,
    pub s: Option<String>,
    pub b: Option<bool>,
    pub e: Option<Vec<f32>>,
    #[fstore(len = 4)]
    pub e4: Option<Vec<f32>>,
    #[fstore(len = 3, encoding = "f32le")]
    pub p3: Option<Vec<f32>>,
    #[fstore(default = 7)]
    pub d: i64,
    pub o: Option<String>,
}
