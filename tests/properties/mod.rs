#![allow(dead_code)]
//! What the property tests (`tests/properties_*.rs`) share: the harness that runs proptest
//! against one backend, the views they write, how they compare values and the strategies that
//! generate them. Each property runs on the embedded backend and on a throwaway `valkey-server`.
//!
//! Floats: the codec writes every NaN as `nan`, so a NaN reads back as a NaN (its sign and payload
//! are not kept); every other `f64`/`f32` (`-0.0`, subnormals, infinities) reads back bit for bit.
//! `Vec<f32>` in the default `json` encoding is the same: each element bit for bit, except that
//! every NaN is written `NaN` (one NaN, its payload and sign lost). In the `f32le` encoding (raw
//! little-endian bytes) its elements round-trip bit for bit, NaN payloads included; a list whose
//! bytes would read as JSON text (`[12, 34]`) is refused on write (`model::f32le_refused`).

pub mod compare;
pub mod harness;
pub mod model;
pub mod strategies;
pub mod views;
