// A view with an error still gets its methods and trait impl (as stubs), so the only error is the
// one in the attribute, not one more at every use.

use fstore::{FeatureView, Store};

#[derive(FeatureView)]
#[feature_view(name = "user_profile", ttl = "1 hour")]
struct UserProfile {
    age: i64,
}

async fn use_it(store: &Store) -> fstore::Result<()> {
    let _: Option<UserProfile> = UserProfile::read(store, "user_123").await?;
    let _: Vec<Option<UserProfile>> = UserProfile::read_batch(store, ["user_123"]).await?;
    UserProfile { age: 28 }.write(store, "user_123").await?;
    UserProfile::write_batch(store, [("user_123", UserProfile { age: 28 })]).await?;
    let _: Option<std::time::Duration> = UserProfile::ttl(store, "user_123").await?;
    let _: &[&str] = UserProfile::FEATURES;
    let _: String = UserProfile::key("user_123")?;
    Ok(())
}

fn main() {
    let _ = use_it;
}
