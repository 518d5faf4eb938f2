// The typed aggregation structs catch mistakes at compile time: an `avg` is an `Option<f64>`
// (`None` for a window without events), not an `f64`, and an event has exactly the registry's
// fields.

fstore::registry!("aggregation.toml");

async fn mistakes(store: &fstore::Store) -> fstore::Result<()> {
    let features = UserTxn::read(store, "u1").await?;
    let avg: f64 = features.amount_avg_24h;
    let event = UserTxnEvent {
        ammount: 12.5,
        merchant: "m1".to_owned(),
    };
    event.record(store, "u1", 0).await?;
    let _ = avg;
    Ok(())
}

fn main() {
    let _ = mistakes;
}
