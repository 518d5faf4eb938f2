//! The documented storage format of `float_list` features (codec.rs), written out independently
//! of the codec: what each encoding stores, and which stored bytes an `f32le` list reads.

/// The `json` text of `values`: what Python's `json.dumps` writes, `[0.5, 1.5, -2.0]`, each
/// element its shortest round-trip text, `NaN`, `Infinity`, `-Infinity` for the others.
pub fn json_text(values: &[f32]) -> Vec<u8> {
    let elements: Vec<String> = values
        .iter()
        .map(|x| {
            if x.is_nan() {
                "NaN".to_owned()
            } else if x.is_infinite() {
                if *x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
            } else {
                format!("{x:?}")
            }
        })
        .collect();
    format!("[{}]", elements.join(", ")).into_bytes()
}

/// The `f32le` bytes of `values`.
pub fn f32le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `[`…`]` text (UTF-8 without control characters other than JSON's whitespace): what an
/// `f32le` list refuses to read as floats.
pub fn looks_like_json_text(raw: &[u8]) -> bool {
    raw.len() >= 2
        && raw[0] == b'['
        && raw[raw.len() - 1] == b']'
        && std::str::from_utf8(raw).is_ok_and(|t| {
            t.chars()
                .all(|c| !c.is_control() || matches!(c, ' ' | '\t' | '\n' | '\r'))
        })
}

/// The list an `f32le` feature of any length reads from `raw`: 4 bytes per element, unless
/// `raw` is not a whole number of them or looks like JSON text.
pub fn f32le_read(raw: &[u8]) -> Option<Vec<f32>> {
    if !raw.len().is_multiple_of(4) || looks_like_json_text(raw) {
        return None;
    }
    Some(
        raw.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// `values` cannot be written as `f32le`: its bytes would read as JSON text.
pub fn f32le_refused(values: &[f32]) -> bool {
    looks_like_json_text(&f32le_bytes(values))
}
