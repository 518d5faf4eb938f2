// A vector with an error still gets its trait impl and methods (as stubs), so the only error is
// the one in the attribute, not one more at every use.

use fstore::{FeatureVector, Store};

#[derive(FeatureVector)]
struct Inputs {
    #[fstore(view = "user_profile", vocab = [])]
    segment: String,
}

async fn use_it(store: &Store) -> fstore::Result<()> {
    let _: Inputs = Inputs::vector(store, "user_123").await?;
    let (_, _report): (Inputs, fstore::Report) = Inputs::vector_with_report(store, 1).await?;
    let rows: Vec<Inputs> = Inputs::vector_batch(store, ["a", "b"]).await?;
    let _: Vec<f32> = Inputs::to_matrix(&rows);
    let _: [f32; Inputs::WIDTH] = rows[0].to_array();
    let _: &[&str] = &Inputs::COLUMNS;
    rows[0].write_f32(&mut [0.0; 4]);
    let _ = <Inputs as FeatureVector>::VIEWS;
    Ok(())
}

fn main() {
    let _ = use_it;
}
