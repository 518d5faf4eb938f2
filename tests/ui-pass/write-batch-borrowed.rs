// `write_batch` takes the batch as it comes: owned pairs, borrowed pairs (`&rows` of a
// `Vec<(String, Row)>`), pairs of borrowed ids and rows, integer ids, any iterator of them.

use fstore::{FeatureView, Store};

#[derive(FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "item_stats", ttl = "1d")]
struct Item {
    price: f64,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::embedded();
        let rows: Vec<(String, Item)> = (1..=3)
            .map(|i| (format!("i{i}"), Item { price: f64::from(i) }))
            .collect();
        Item::write_batch(&store, &rows).await.unwrap(); // borrowed pairs
        Item::write_batch(&store, rows.iter().map(|(id, row)| (id.as_str(), row)))
            .await
            .unwrap(); // (&str, &Item)
        let by_number = [(7u64, Item { price: 7.0 })];
        Item::write_batch(&store, by_number.iter()).await.unwrap(); // &(u64, Item)
        Item::write_batch(&store, rows.clone()).await.unwrap(); // owned pairs
        let got = Item::read_batch(&store, ["i1", "i3", "7"]).await.unwrap();
        assert_eq!(
            got,
            [
                Some(Item { price: 1.0 }),
                Some(Item { price: 3.0 }),
                Some(Item { price: 7.0 })
            ]
        );
    });
}
