// The registry declares how each list is stored, for every writer and reader: a field may repeat
// its `encoding` but not change it (`embedding` is `json`, the default; `packed` is `f32le`).

#[derive(fstore::FeatureView)]
#[feature_view(registry = "ui.toml", name = "user_profile")]
struct Profile {
    #[fstore(encoding = "f32le")]
    embedding: Vec<f32>,
}

#[derive(fstore::FeatureView)]
#[feature_view(registry = "ui.toml", name = "user_risk_profile")]
struct Risk {
    #[fstore(encoding = "json")]
    packed: Vec<f32>,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "vector.toml")]
struct Inputs {
    #[fstore(view = "user_profile", encoding = "f32le")]
    embedding: Vec<f32>,
}

fn main() {}
