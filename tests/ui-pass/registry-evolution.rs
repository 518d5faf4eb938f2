// The same writer code compiles against a registry and against its next release, which adds
// features with a default and optional ones: rows are built with the generated builder (whose
// `build()` needs only the required features) or `Default`, never with a struct literal.

use fstore::Store;

/// A writer, as written against `evolve-before.toml`.
macro_rules! writer {
    () => {
        pub fn rows() -> Vec<(String, UserScore)> {
            vec![
                (
                    "u1".to_owned(),
                    UserScore::builder().score(0.5).segment("vip").build(),
                ),
                (
                    "u2".to_owned(),
                    UserScore::builder()
                        .segment(String::from("basic"))
                        .clicks(3)
                        .score(1.0)
                        .build(),
                ),
            ]
        }

        pub fn settings() -> UserSettings {
            UserSettings {
                theme: "dark".to_owned(),
                ..UserSettings::default()
            }
        }
    };
}

mod before {
    fstore::registry!("evolve-before.toml");
    writer!();
}

mod after {
    fstore::registry!("evolve-after.toml");
    writer!();
}

fn main() {
    let rows = before::rows();
    assert_eq!(rows[0].1.clicks, 0, "the registry's default");
    assert_eq!(rows[1].1.clicks, 3);
    assert_eq!(before::settings().theme, "dark");
    assert_eq!(before::UserSettings::default().theme, "light");

    let rows = after::rows();
    let first = &rows[0].1;
    assert_eq!((first.score, first.segment.as_str()), (0.5, "vip"));
    assert_eq!((first.is_new, first.clicks, first.weight), (true, 0, 1.5));
    assert_eq!(first.country, None);
    assert_eq!(rows[1].1.clicks, 3);
    let settings = after::settings();
    assert_eq!(
        (settings.theme.as_str(), settings.font_size, settings.language),
        ("dark", 12, None)
    );
    let with_country = after::UserScore::builder()
        .country("FR")
        .score(2.0)
        .segment("vip")
        .weight(0.5)
        .build();
    assert_eq!(with_country.country.as_deref(), Some("FR"));
    assert_eq!(with_country.weight, 0.5);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::embedded();
        after::UserScore::write_batch(&store, &rows).await.unwrap();
        let read = after::UserScore::read(&store, "u2").await.unwrap();
        assert_eq!(read.as_ref(), Some(&rows[1].1));
    });
}
