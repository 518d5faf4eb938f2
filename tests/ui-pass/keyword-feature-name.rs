// A raw identifier field stores the feature under its plain name: `r#type` is feature `type`.

use fstore::FeatureView;

#[derive(FeatureView)]
#[feature_view(name = "item", ttl = "1d")]
struct Item {
    r#type: String,
}

fn main() {
    assert_eq!(<Item as FeatureView>::FEATURES, ["type"]);
    assert_eq!(<Item as FeatureView>::READ_FIELDS, ["type", "_updated_at"]);
    let item = Item {
        r#type: "book".to_owned(),
    };
    assert_eq!(item.r#type, "book");
}
