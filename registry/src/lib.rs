//! The `features.toml` registry of [fstore](https://docs.rs/fstore): the model, its parser and
//! validator, and a stable fingerprint. Plain data: the code generator behind `fstore::registry!`
//! and `fstore codegen` is the `fstore-codegen` crate, so that the runtime, which reads registries
//! too, links no `proc-macro2` or `quote`.
//!
//! A registry is how writers (Python or Rust batch jobs) and model servers share one schema:
//!
//! ```toml
//! [store]
//! namespace = "fs"          # default "fs"
//! version = 1               # default 1 → keys fs:v1:…
//!
//! [entities.user]
//! description = "A customer account"
//!
//! [views.user_profile]
//! entity = "user"
//! ttl = "1h"
//! description = "Slow-moving profile features, refreshed daily"
//!
//! [views.user_profile.features]
//! age = "int"                                                   # short form
//! lifetime_value = { type = "float", description = "Sum of order values, EUR" }
//! is_premium = { type = "bool", default = false }
//! country = { type = "string", optional = true }
//! embedding = { type = "float_list", len = 8 }               # stored as JSON text
//! item_vector = { type = "float_list", len = 64, encoding = "f32le" }   # or as f32 bytes
//! ```
//!
//! Feature types: `int` (`i64`), `float` (`f64`), `string` (`String`), `bool`, `float_list`
//! (`Vec<f32>`). A feature with `optional = true` is an `Option` in generated structs; one with a
//! `default` reads as the default when absent; any other feature is required.
//!
//! A `float_list` declares its `len` (checked on every read and write) and its `encoding`
//! ([`ListEncoding`]): `"json"` (the default), the text Python's `json.dumps(list)` writes
//! (`[0.5, 1.5, -2.0]`), which text-only readers such as the Python library read; or `"f32le"`,
//! little-endian `f32` bytes, 4 per element: a quarter of the size, for readers that all declare
//! it. A value stored in the other encoding, or of another length, is a read error, never numbers.
//!
//! Names of entities, views and features must be identifiers (ASCII letters, digits and `_`, not
//! starting with a digit), because they become struct and field names. A feature named like a
//! Rust keyword (`type`, `match`, …) becomes a raw identifier (`r#type`) and is stored under its
//! plain name. Names starting with `_` are reserved for metadata such as `_updated_at`.
//!
//! ```
//! let registry = fstore_registry::Registry::parse(
//!     "[entities.user]\n[views.clicks]\nentity = \"user\"\nttl = \"15m\"\n[views.clicks.features]\nn = \"int\"\n",
//!     "inline.toml",
//! ).unwrap();
//! assert_eq!(registry.view("clicks").unwrap().ttl_seconds, 900);
//!
//! let errors = fstore_registry::Registry::parse("[views.x]\nentity = 1\n", "bad.toml").unwrap_err();
//! assert!(errors.to_string().contains("bad.toml:2:10: `entity` must be a string, found integer"));
//! ```

mod diag;
mod duration;
mod names;
mod parse;

use std::fmt::Write as _;
use std::path::Path;

pub use diag::{Diagnostic, Errors, Location};

/// The key prefix of a view, `{namespace}:v{version}:{view}:` (`fs:v1:user_profile:`), to which
/// an entity id is appended. The one definition of the key layout: typed views, vectors and the
/// dynamic API all build their keys from it.
pub fn key_prefix(namespace: &str, version: u32, view: &str) -> String {
    format!("{namespace}:v{version}:{view}:")
}
pub use duration::{parse_seconds, seconds_in_range, MAX_DURATION_SECONDS};
pub use names::{did_you_mean, identifier_problem, is_keyword, pascal_case, suggestion};

/// A parsed and validated registry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Registry {
    /// The file name used in diagnostics.
    pub file: String,
    /// The key namespace (`[store] namespace`, default `fs`).
    pub namespace: String,
    /// The layout version (`[store] version`, default 1).
    pub version: u32,
    /// The entities, in file order.
    pub entities: Vec<Entity>,
    /// The views, in file order.
    pub views: Vec<View>,
}

/// An entity: what an id identifies (a user, an item).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Entity {
    /// The entity's name.
    pub name: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// Where it is defined.
    pub location: Location,
}

/// A feature view: one hash per entity, with a fixed set of typed features and a TTL.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct View {
    /// The view's name, part of every key.
    pub name: String,
    /// The entity it describes.
    pub entity: String,
    /// The expiry every write sets, in seconds.
    pub ttl_seconds: u64,
    /// The TTL as written (`"1h"`), for docs.
    pub ttl_text: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// `max_age`: feature vectors treat rows older than this many seconds as missing.
    pub max_age_seconds: Option<u64>,
    /// The features, in file order.
    pub features: Vec<Feature>,
    /// Where the view's table starts.
    pub location: Location,
}

/// One feature of a view.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Feature {
    /// The stored name (hash field).
    pub name: String,
    /// Its type.
    pub ty: FeatureType,
    /// Its description, if any.
    pub description: Option<String>,
    /// The value read when it is absent, if any.
    pub default: Option<DefaultValue>,
    /// `optional = true`: absent reads as `None`.
    pub optional: bool,
    /// The declared length of a `float_list`.
    pub len: Option<usize>,
    /// How a `float_list` is stored (`encoding = "..."`, default [`ListEncoding::Json`]);
    /// `None` for the other types.
    pub encoding: Option<ListEncoding>,
    /// The vocabulary of a `string` feature, for model input.
    pub vocab: Option<Vec<String>>,
    /// How a `string` feature with a `vocab` becomes model input (default one-hot).
    pub encode: Option<Encode>,
    /// Where the feature is defined (its key).
    pub location: Location,
}

/// The feature types of a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureType {
    /// `int`: `i64` (also read into `i32`, `u32`, `u64`).
    Int,
    /// `float`: `f64` (also read into `f32`).
    Float,
    /// `string`: `String`.
    String,
    /// `bool`.
    Bool,
    /// `float_list`: `Vec<f32>`, stored in its declared [`ListEncoding`] (JSON text by default).
    FloatList,
}

impl FeatureType {
    /// Every type, in the order the docs list them.
    pub const ALL: [FeatureType; 5] = [
        FeatureType::Int,
        FeatureType::Float,
        FeatureType::String,
        FeatureType::Bool,
        FeatureType::FloatList,
    ];

    /// The name used in `features.toml`.
    pub fn name(self) -> &'static str {
        match self {
            FeatureType::Int => "int",
            FeatureType::Float => "float",
            FeatureType::String => "string",
            FeatureType::Bool => "bool",
            FeatureType::FloatList => "float_list",
        }
    }

    /// The type of `name`, if it is one.
    pub fn from_name(name: &str) -> Option<FeatureType> {
        FeatureType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The Rust type generated code uses: the first of [`rust_types`](Self::rust_types).
    pub fn rust_type(self) -> &'static str {
        self.rust_types()[0]
    }

    /// The Rust types a hand-written struct may use for it (each also inside an `Option`).
    pub fn rust_types(self) -> &'static [&'static str] {
        match self {
            FeatureType::Int => &["i64", "i32", "u32", "u64"],
            FeatureType::Float => &["f64", "f32"],
            FeatureType::String => &["String"],
            FeatureType::Bool => &["bool"],
            FeatureType::FloatList => &["Vec<f32>"],
        }
    }
}

/// How a string feature with a vocabulary becomes model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encode {
    /// `encode = "onehot"`: one column per vocabulary entry; unknown → all zero.
    OneHot,
    /// `encode = "index"`: one column, the entry's position; unknown → -1.
    Index,
}

/// How a `float_list` feature is stored: `encoding = "json"` (the default) or `"f32le"`.
///
/// Every reader and writer of a feature must use its encoding: a value in the other one is a
/// read error naming the key and the feature, never numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ListEncoding {
    /// `"json"`: the text Python's `json.dumps(list_of_floats)` writes, `[0.5, 1.5, -2.0]`
    /// (`[]` when empty; `NaN`, `Infinity`, `-Infinity` for the non-finite values), each element
    /// the shortest text that reads back as the same `f32`. Any JSON array of numbers is read.
    /// Readable by text-only readers, such as the Python library's whole-entity read.
    #[default]
    Json,
    /// `"f32le"`: little-endian IEEE 754 `f32` bytes, 4 per element, exactly as stored in memory
    /// (`numpy.asarray(v, dtype="<f4").tobytes()`): compact and exact to the bit, but binary.
    F32Le,
}

impl ListEncoding {
    /// Every encoding, the default first.
    pub const ALL: [ListEncoding; 2] = [ListEncoding::Json, ListEncoding::F32Le];

    /// The name used in `features.toml` and in `#[fstore(encoding = "...")]`.
    pub fn name(self) -> &'static str {
        match self {
            ListEncoding::Json => "json",
            ListEncoding::F32Le => "f32le",
        }
    }

    /// The encoding called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<ListEncoding> {
        ListEncoding::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Every encoding's name, for messages.
    pub fn names() -> [&'static str; 2] {
        ListEncoding::ALL.map(ListEncoding::name)
    }
}

/// A feature's default value.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// For an `int` feature.
    Int(i64),
    /// For a `float` feature.
    Float(f64),
    /// For a `string` feature.
    String(String),
    /// For a `bool` feature.
    Bool(bool),
}

impl Registry {
    /// Reads and validates the registry at `path`; diagnostics name the file as given.
    ///
    /// # Where the path resolves
    /// A relative `path` is relative to the process's **working directory**, as for every
    /// run-time file API (`std::fs::read`): a model server finds `features.toml` where it is
    /// deployed, not where it was built. The compile-time front doors (`fstore::registry!` and
    /// `#[feature_view(registry = ...)]` / `#[feature_vector(registry = ...)]`) instead resolve
    /// a relative path from the directory of the crate's `Cargo.toml` (`CARGO_MANIFEST_DIR`),
    /// as `include_str!`-style macros do, because the compiler's working directory is not the
    /// crate's. To read at run time the same file the macros read, name it from the manifest
    /// directory: `Registry::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/features.toml"))`.
    ///
    /// # Errors
    /// Every problem found, each at its file:line:column; an unreadable file is one diagnostic
    /// at 1:1, which names the working directory when the path is relative. `Display` and
    /// `Debug` both print them as lines:
    ///
    /// ```
    /// let errors = fstore_registry::Registry::from_path("missing.toml").unwrap_err();
    /// assert!(format!("{errors:?}").starts_with("missing.toml:1:1: cannot read the registry: "));
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Result<Registry, Errors> {
        let path = path.as_ref();
        let file = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(source) => Registry::parse(&source, &file),
            Err(e) => {
                let mut message = format!("cannot read the registry: {e}");
                if path.is_relative() {
                    if let Ok(dir) = std::env::current_dir() {
                        let _ = write!(
                            message,
                            "; the path is relative to the working directory {}",
                            dir.display()
                        );
                    }
                }
                Err(Errors::new(vec![Diagnostic {
                    file,
                    location: Location { line: 1, column: 1 },
                    message,
                }]))
            }
        }
    }

    /// Parses and validates registry text; `file` names it in diagnostics.
    ///
    /// # Errors
    /// Every problem found, each at its file:line:column.
    pub fn parse(source: &str, file: &str) -> Result<Registry, Errors> {
        parse::parse(source, file)
    }

    /// The view called `name`.
    pub fn view(&self, name: &str) -> Option<&View> {
        self.views.iter().find(|v| v.name == name)
    }

    /// The entity called `name`.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// `fs:v1:` for the default store.
    pub fn key_namespace(&self) -> String {
        format!("{}:v{}:", self.namespace, self.version)
    }

    /// The key prefix of `view`: `fs:v1:user_profile:`, as [`key_prefix`] makes it.
    pub fn key_prefix(&self, view: &str) -> String {
        key_prefix(&self.namespace, self.version, view)
    }

    /// The canonical text of the schema: everything that changes what is stored or read (names,
    /// types, defaults, lengths, list encodings, TTLs, entity links, namespace, version), and
    /// nothing else
    /// (descriptions, comments, formatting, the order of views).
    pub fn canonical(&self) -> String {
        let mut out = format!("namespace={:?}\nversion={}\n", self.namespace, self.version);
        let mut views: Vec<&View> = self.views.iter().collect();
        views.sort_by(|a, b| a.name.cmp(&b.name));
        for v in views {
            let _ = write!(
                out,
                "view {:?} entity={:?} ttl={}",
                v.name, v.entity, v.ttl_seconds
            );
            if let Some(max_age) = v.max_age_seconds {
                let _ = write!(out, " max_age={max_age}");
            }
            out.push('\n');
            for f in &v.features {
                let _ = write!(out, "  feature {:?} type={}", f.name, f.ty.name());
                if f.optional {
                    out.push_str(" optional");
                }
                if let Some(len) = f.len {
                    let _ = write!(out, " len={len}");
                }
                if let Some(encoding) = f.encoding {
                    let _ = write!(out, " encoding={}", encoding.name());
                }
                if let Some(vocab) = &f.vocab {
                    let _ = write!(out, " vocab={vocab:?} encode={:?}", f.encode);
                }
                match &f.default {
                    None => {}
                    Some(DefaultValue::Int(i)) => {
                        let _ = write!(out, " default={i}");
                    }
                    Some(DefaultValue::Float(x)) => {
                        let _ = write!(out, " default={x:?}");
                    }
                    Some(DefaultValue::String(s)) => {
                        let _ = write!(out, " default={s:?}");
                    }
                    Some(DefaultValue::Bool(b)) => {
                        let _ = write!(out, " default={b}");
                    }
                }
                out.push('\n');
            }
        }
        out
    }

    /// A stable fingerprint of [`canonical`](Self::canonical): 16 hex digits (64-bit FNV-1a).
    /// Writers and servers built from the same schema agree on it; compare them to detect drift.
    pub fn fingerprint(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.canonical().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

impl View {
    /// The feature called `name`.
    pub fn feature(&self, name: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.name == name)
    }

    /// The feature names, in order.
    pub fn feature_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.features.iter().map(|f| f.name.as_str())
    }
}
