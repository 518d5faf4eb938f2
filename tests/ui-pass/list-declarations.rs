//! How each list field is declared reaches its writes (and reads): a field's own `len` and
//! `encoding`, a registry's (repeated or not), and the generated structs'. Checked on the write
//! commands, without a server.

use fstore::{Command, FeatureView};

mod generated {
    fstore::registry!("ui.toml");
}

#[derive(FeatureView)]
#[feature_view(name = "lists", ttl = "1h")]
struct Lists {
    #[fstore(len = 2)]
    text: Vec<f32>,
    #[fstore(len = 2, encoding = "f32le")]
    packed: Vec<f32>,
    #[fstore(encoding = "json")]
    any: Option<Vec<f32>>,
}

#[derive(FeatureView)]
#[feature_view(registry = "ui.toml", name = "user_risk_profile")]
struct Risk {
    fraud_score: f64,
    #[fstore(encoding = "f32le", len = 2)]
    packed: Vec<f32>,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "ui.toml")]
struct Inputs {
    #[fstore(view = "user_risk_profile")]
    packed: Vec<f32>,
}

/// The stored bytes of each feature a write of `row` sets, `_updated_at` left out.
fn stored<T: FeatureView>(row: &T) -> fstore::Result<Vec<(String, Vec<u8>)>> {
    match row.write_command("x", 0)? {
        Command::Write(w) => Ok(w
            .set()
            .filter(|(f, _)| *f != "_updated_at")
            .map(|(f, v)| (f.to_owned(), v.to_vec()))
            .collect()),
        other => panic!("not a write: {other}"),
    }
}

fn main() {
    let le = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let lists = Lists {
        text: vec![0.5, -1.0],
        packed: vec![0.5, -1.0],
        any: Some(vec![]),
    };
    assert_eq!(
        stored(&lists).unwrap(),
        [
            ("text".to_owned(), b"[0.5, -1.0]".to_vec()),
            ("packed".to_owned(), le(&[0.5, -1.0])),
            ("any".to_owned(), b"[]".to_vec()),
        ]
    );
    let short = Lists {
        text: vec![0.5],
        ..lists
    };
    assert!(matches!(
        stored(&short),
        Err(fstore::Error::InvalidValue { feature, .. }) if feature == "text"
    ));

    let risk = Risk {
        fraud_score: 0.5,
        packed: vec![1.0, 2.0],
    };
    assert_eq!(stored(&risk).unwrap()[1].1, le(&[1.0, 2.0]));

    let generated = generated::UserRiskProfile {
        fraud_score: 0.5,
        packed: vec![1.0, 2.0],
    };
    assert_eq!(stored(&generated).unwrap()[1].1, le(&[1.0, 2.0]));
    let wrong = generated::UserRiskProfile {
        fraud_score: 0.5,
        packed: vec![1.0, 2.0, 3.0],
    };
    assert!(stored(&wrong).is_err());

    let inputs = Inputs {
        packed: vec![1.0, 2.0],
    };
    assert_eq!(inputs.to_array(), [1.0, 2.0]);
}
