//! Parsing and validation: one pass over the spanned TOML tree that collects every problem.

mod aggregations;

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::names::{did_you_mean, identifier_problem, pascal_case, suggestion};
use crate::{
    parse_seconds, seconds_in_range, DefaultValue, Diagnostic, Encode, Entity, Errors, Feature,
    FeatureType, ListEncoding, Location, Registry, View,
};

type Key<'i> = Spanned<std::borrow::Cow<'i, str>>;
type Val<'i> = Spanned<DeValue<'i>>;

const TOP_KEYS: [&str; 4] = ["store", "entities", "views", "aggregations"];
const STORE_KEYS: [&str; 2] = ["namespace", "version"];
const ENTITY_KEYS: [&str; 1] = ["description"];
const VIEW_KEYS: [&str; 5] = ["entity", "ttl", "description", "features", "max_age"];
const FEATURE_KEYS: [&str; 8] = [
    "type",
    "description",
    "default",
    "len",
    "encoding",
    "optional",
    "vocab",
    "encode",
];

struct Cx<'s> {
    source: &'s str,
    file: &'s str,
    diagnostics: Vec<Diagnostic>,
}

impl Cx<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            file: self.file.to_owned(),
            location: Location::of_offset(self.source, span.start),
            message: message.into(),
        });
    }

    fn location(&self, span: Range<usize>) -> Location {
        Location::of_offset(self.source, span.start)
    }

    /// `value` as a table, or an error that says what `what` should be.
    fn table<'v, 'i>(&mut self, value: &'v Val<'i>, what: &str) -> Option<&'v DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.error(
                    value.span(),
                    format!("{what} must be a table, found {}", other.type_str()),
                );
                None
            }
        }
    }

    /// `value` as a string, or an error naming `what`.
    fn string(&mut self, value: &Val<'_>, what: &str) -> Option<String> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            other => {
                self.error(
                    value.span(),
                    format!("{what} must be a string, found {}", other.type_str()),
                );
                None
            }
        }
    }

    /// Reports every key of `table` that is not in `valid`.
    fn unknown_keys(&mut self, table: &DeTable<'_>, valid: &[&str], place: &str) {
        for (key, _) in table {
            let name = key.get_ref().as_ref();
            if !valid.contains(&name) {
                let help = suggestion(name, valid.iter().copied());
                self.error(
                    key.span(),
                    format!("unknown key `{name}` in {place}; {help}"),
                );
            }
        }
    }

    /// Reports a name that cannot become a Rust identifier.
    fn identifier(&mut self, key: &Key<'_>, what: &str) -> bool {
        match identifier_problem(key.get_ref()) {
            Some(problem) => {
                self.error(key.span(), format!("invalid {what} name: {problem}"));
                false
            }
            None => true,
        }
    }
}

fn get<'t, 'i>(table: &'t DeTable<'i>, name: &str) -> Option<(&'t Key<'i>, &'t Val<'i>)> {
    table.iter().find(|(k, _)| k.get_ref().as_ref() == name)
}

pub fn parse(source: &str, file: &str) -> Result<Registry, Errors> {
    let root = match DeTable::parse(source) {
        Ok(root) => root,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().replace('\n', " ");
            let hint = if message.contains("duplicate key") {
                let key = source
                    .get(span.clone())
                    .unwrap_or("")
                    .trim()
                    .trim_matches(|c| c == '"' || c == '\'');
                // A repeated setting (`ttl`) needs no explanation; a repeated name does.
                let setting = [
                    &STORE_KEYS[..],
                    &VIEW_KEYS,
                    &FEATURE_KEYS,
                    &aggregations::AGGREGATION_KEYS,
                    &aggregations::FEATURE_KEYS,
                ]
                .concat()
                .contains(&key);
                if setting {
                    format!(" `{key}`")
                } else {
                    format!(
                        " `{key}`; a view, an aggregation, an entity, a feature and an event \
                         field can each be defined once"
                    )
                }
            } else {
                String::new()
            };
            return Err(Errors::new(vec![Diagnostic {
                file: file.to_owned(),
                location: Location::of_offset(source, span.start),
                message: format!("invalid TOML: {message}{hint}"),
            }]));
        }
    };
    let mut cx = Cx {
        source,
        file,
        diagnostics: Vec::new(),
    };
    let root = root.get_ref();
    cx.unknown_keys(root, &TOP_KEYS, "the registry");

    let (namespace, version) = store(&mut cx, root);
    let entities = match get(root, "entities") {
        Some((_, value)) => cx
            .table(value, "`entities`")
            .map(|t| entities(&mut cx, t))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let views = match get(root, "views") {
        Some((_, value)) => cx
            .table(value, "`views`")
            .map(|t| views(&mut cx, t, &entities))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let aggregations = match get(root, "aggregations") {
        Some((_, value)) => {
            // Every name under `[views]`, valid or not: an aggregation may not take one.
            let view_names: Vec<&str> = match get(root, "views").map(|(_, v)| v.get_ref()) {
                Some(DeValue::Table(t)) => t.iter().map(|(k, _)| k.get_ref().as_ref()).collect(),
                _ => Vec::new(),
            };
            cx.table(value, "`aggregations`")
                .map(|t| aggregations::aggregations(&mut cx, t, &entities, &view_names))
                .unwrap_or_default()
        }
        None => Vec::new(),
    };
    if cx.diagnostics.is_empty() {
        Ok(Registry {
            file: file.to_owned(),
            namespace,
            version,
            entities,
            views,
            aggregations,
        })
    } else {
        Err(Errors::new(cx.diagnostics))
    }
}

fn store(cx: &mut Cx<'_>, root: &DeTable<'_>) -> (String, u32) {
    let mut namespace = "fs".to_owned();
    let mut version = 1;
    let Some((_, value)) = get(root, "store") else {
        return (namespace, version);
    };
    let Some(table) = cx.table(value, "`[store]`") else {
        return (namespace, version);
    };
    cx.unknown_keys(table, &STORE_KEYS, "`[store]`");
    if let Some((_, v)) = get(table, "namespace") {
        if let Some(ns) = cx.string(v, "`namespace`") {
            let ok = !ns.is_empty()
                && ns
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if ok {
                namespace = ns;
            } else {
                cx.error(
                    v.span(),
                    format!(
                        "invalid namespace {ns:?}: use ASCII letters, digits, `_`, `-` and `.` \
                         (it starts every key)"
                    ),
                );
            }
        }
    }
    if let Some((_, v)) = get(table, "version") {
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        match parsed.and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n >= 1 => version = n,
            Some(_) => cx.error(
                v.span(),
                "`version` 0 is not allowed: versions start at 1 (keys read `fs:v1:…`)",
            ),
            None => cx.error(
                v.span(),
                "`version` must be a whole number from 1 to 4294967295",
            ),
        }
    }
    (namespace, version)
}

fn entities(cx: &mut Cx<'_>, table: &DeTable<'_>) -> Vec<Entity> {
    let mut out = Vec::new();
    for (key, value) in table {
        let named = cx.identifier(key, "entity");
        let what = format!("entity `{}`", key.get_ref());
        let Some(t) = cx.table(value, &what) else {
            continue;
        };
        cx.unknown_keys(t, &ENTITY_KEYS, &what);
        let description = get(t, "description").and_then(|(_, v)| cx.string(v, "`description`"));
        if named {
            out.push(Entity {
                name: key.get_ref().to_string(),
                description,
                location: cx.location(key.span()),
            });
        }
    }
    out
}

fn views(cx: &mut Cx<'_>, table: &DeTable<'_>, entities: &[Entity]) -> Vec<View> {
    let mut out: Vec<View> = Vec::new();
    // (struct name, view name) of every well-named view so far.
    let mut structs: Vec<(String, String)> = Vec::new();
    for (key, value) in table {
        let name = key.get_ref().to_string();
        let mut named = cx.identifier(key, "view");
        if named && identifier_problem(&pascal_case(&name)).is_some() {
            cx.error(
                key.span(),
                format!(
                    "invalid view name: `{name}` would generate the struct `{}`, which is not an \
                     identifier; start the name with a letter",
                    pascal_case(&name)
                ),
            );
            named = false;
        }
        if named {
            let type_name = pascal_case(&name);
            if let Some((_, other)) = structs.iter().find(|(t, _)| *t == type_name) {
                cx.error(
                    key.span(),
                    format!(
                        "views `{other}` and `{name}` would both generate the struct \
                         `{type_name}`; rename one of them"
                    ),
                );
            }
            structs.push((type_name, name.clone()));
        }
        let what = format!("view `{name}`");
        let Some(t) = cx.table(value, &what) else {
            continue;
        };
        cx.unknown_keys(t, &VIEW_KEYS, &what);
        let entity = entity_of(cx, key, t, &what, entities);
        let ttl = match get(t, "ttl") {
            Some((_, v)) => ttl(cx, v).map(|secs| (secs, ttl_text(v, secs))),
            None => {
                cx.error(
                    key.span(),
                    format!(
                        "view `{name}` has no `ttl`; every write sets an expiry: add `ttl = \"1h\"` \
                         (\"30s\", \"15m\", \"1h\", \"7d\" or seconds)"
                    ),
                );
                None
            }
        };
        let description = get(t, "description").and_then(|(_, v)| cx.string(v, "`description`"));
        let max_age_seconds = get(t, "max_age").and_then(|(_, v)| duration(cx, v, "max_age"));
        let features = match get(t, "features") {
            Some((fkey, v)) => {
                match cx.table(v, &format!("`features` of view `{name}`")) {
                    Some(ft) if ft.is_empty() => {
                        cx.error(
                        fkey.span(),
                        format!("view `{name}` has no features; add at least one, like `age = \"int\"`"),
                    );
                        Vec::new()
                    }
                    Some(ft) => features(cx, ft, &name),
                    None => Vec::new(),
                }
            }
            None => {
                cx.error(
                    key.span(),
                    format!("view `{name}` has no features; add a `[views.{name}.features]` table"),
                );
                Vec::new()
            }
        };
        if let (true, Some(entity), Some((ttl_seconds, ttl_text))) = (named, entity, ttl) {
            out.push(View {
                name,
                entity,
                ttl_seconds,
                ttl_text,
                description,
                max_age_seconds,
                features,
                location: cx.location(key.span()),
            });
        }
    }
    out
}

/// The `entity` of a view or an aggregation (`what`, whose table `t` is at `key`): a declared one.
fn entity_of(
    cx: &mut Cx<'_>,
    key: &Key<'_>,
    t: &DeTable<'_>,
    what: &str,
    entities: &[Entity],
) -> Option<String> {
    match get(t, "entity") {
        Some((_, v)) => cx.string(v, "`entity`").inspect(|e| {
            if !entities.iter().any(|x| &x.name == e) {
                let help = if entities.is_empty() {
                    "no entities are declared".to_owned()
                } else {
                    suggestion(e, entities.iter().map(|x| x.name.as_str()))
                };
                cx.error(
                    v.span(),
                    format!(
                        "{what} names unknown entity `{e}`; {help} \
                         (declare entities as `[entities.{e}]`)"
                    ),
                );
            }
        }),
        None => {
            cx.error(
                key.span(),
                format!(
                    "{what} has no `entity`; add `entity = \"...\"` naming one of `[entities]`"
                ),
            );
            None
        }
    }
}

fn ttl(cx: &mut Cx<'_>, value: &Val<'_>) -> Option<u64> {
    duration(cx, value, "ttl")
}

/// A duration setting (`ttl`, `max_age`): a duration string or a number of seconds.
fn duration(cx: &mut Cx<'_>, value: &Val<'_>, key: &str) -> Option<u64> {
    let parsed = match value.get_ref() {
        DeValue::String(s) => parse_seconds(s),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) if n >= 1 => {
                seconds_in_range(n.unsigned_abs()).map_err(|why| format!("`{key}`: {why}"))
            }
            _ => Err(format!(
                "`{key}` in seconds must be a whole number of at least 1"
            )),
        },
        other => Err(format!(
            "`{key}` must be a duration string such as \"1h\" or a number of seconds, found {}",
            other.type_str()
        )),
    };
    parsed.map_err(|why| cx.error(value.span(), why)).ok()
}

/// The TTL as written when it is a duration string (`"1h"`), else its seconds (`"3600s"`).
fn ttl_text(value: &Val<'_>, seconds: u64) -> String {
    match value.get_ref() {
        DeValue::String(s) => s.trim().to_owned(),
        _ => format!("{seconds}s"),
    }
}

fn features(cx: &mut Cx<'_>, table: &DeTable<'_>, view: &str) -> Vec<Feature> {
    let mut out = Vec::new();
    for (key, value) in table {
        let name = key.get_ref().to_string();
        let mut ok = cx.identifier(key, "feature");
        if ok && name.starts_with('_') {
            cx.error(
                key.span(),
                format!(
                    "feature `{name}` of view `{view}` starts with `_`, which is reserved for \
                     metadata such as `_updated_at`; rename it"
                ),
            );
            ok = false;
        }
        let what = format!("feature `{name}` of view `{view}`");
        let (type_value, table) = match value.get_ref() {
            DeValue::String(_) => (Some(value), None),
            DeValue::Table(t) => {
                cx.unknown_keys(t, &FEATURE_KEYS, &what);
                match get(t, "type") {
                    Some((_, v)) => (Some(v), Some(t)),
                    None => {
                        cx.error(
                            value.span(),
                            format!("{what} has no `type`; add `type = \"int\"` (or float, string, bool, float_list)"),
                        );
                        (None, Some(t))
                    }
                }
            }
            other => {
                cx.error(
                    value.span(),
                    format!(
                        "{what} must be a type name like \"int\" or a table like \
                         {{ type = \"int\" }}, found {}",
                        other.type_str()
                    ),
                );
                (None, None)
            }
        };
        let ty = type_value.and_then(|v| feature_type(cx, v, &what));
        let mut feature = Feature {
            name,
            ty: ty.unwrap_or(FeatureType::Int),
            description: None,
            default: None,
            optional: false,
            len: None,
            encoding: (ty == Some(FeatureType::FloatList)).then_some(ListEncoding::Json),
            vocab: None,
            encode: None,
            location: cx.location(key.span()),
        };
        if let Some(t) = table {
            feature.description =
                get(t, "description").and_then(|(_, v)| cx.string(v, "`description`"));
            if let Some((_, v)) = get(t, "optional") {
                match v.get_ref() {
                    DeValue::Boolean(b) => feature.optional = *b,
                    other => cx.error(
                        v.span(),
                        format!(
                            "`optional` must be true or false, found {}",
                            other.type_str()
                        ),
                    ),
                }
            }
            if let (Some(ty), Some((_, v))) = (ty, get(t, "len")) {
                feature.len = len(cx, v, ty, &what);
            }
            if let (Some(ty), Some((_, v))) = (ty, get(t, "encoding")) {
                if let Some(encoding) = encoding(cx, v, ty, &what) {
                    feature.encoding = Some(encoding);
                }
            }
            if let (Some(ty), Some((_, v))) = (ty, get(t, "vocab")) {
                feature.vocab = vocab(cx, v, ty, &what);
            }
            if let Some((_, v)) = get(t, "encode") {
                match (cx.string(v, "`encode`").as_deref(), &feature.vocab) {
                    (None, _) => {}
                    (Some(_), None) if get(t, "vocab").is_none() => cx.error(
                        v.span(),
                        format!("`encode` needs a `vocab` on {what}; add `vocab = [\"...\", ...]`"),
                    ),
                    (Some(_), None) => {}
                    (Some("onehot"), Some(_)) => feature.encode = Some(Encode::OneHot),
                    (Some("index"), Some(_)) => feature.encode = Some(Encode::Index),
                    (Some(other), Some(_)) => {
                        let help = suggestion(other, ["onehot", "index"]);
                        cx.error(v.span(), format!("unknown `encode` `{other}`; {help}"));
                    }
                }
            }
            if feature.vocab.is_some() && feature.encode.is_none() {
                feature.encode = Some(Encode::OneHot);
            }
            if let (Some(ty), Some((dkey, v))) = (ty, get(t, "default")) {
                feature.default = default(cx, v, ty, &what);
                if feature.optional {
                    cx.error(
                        dkey.span(),
                        format!(
                            "{what} has both `default` and `optional = true`; an absent value \
                             cannot be both: remove one"
                        ),
                    );
                }
            }
        }
        if ok && ty.is_some() {
            out.push(feature);
        }
    }
    out
}

fn feature_type(cx: &mut Cx<'_>, value: &Val<'_>, what: &str) -> Option<FeatureType> {
    let name = cx.string(value, "a feature's `type`")?;
    let ty = FeatureType::from_name(&name);
    if ty.is_none() {
        let names = FeatureType::ALL.map(FeatureType::name);
        let help = match did_you_mean(&name, names) {
            Some(close) => {
                format!("did you mean `{close}`? (types: int, float, string, bool, float_list)")
            }
            None => suggestion(&name, names),
        };
        cx.error(
            value.span(),
            format!("unknown type `{name}` for {what}; {help}"),
        );
    }
    ty
}

fn len(cx: &mut Cx<'_>, value: &Val<'_>, ty: FeatureType, what: &str) -> Option<usize> {
    if ty != FeatureType::FloatList {
        cx.error(
            value.span(),
            format!(
                "`len` is only for `float_list` features, and {what} is `{}`; remove it",
                ty.name()
            ),
        );
        return None;
    }
    let n = match value.get_ref() {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    };
    match n.and_then(|n| usize::try_from(n).ok()) {
        Some(n) if n >= 1 => Some(n),
        _ => {
            cx.error(value.span(), "`len` must be a whole number of at least 1");
            None
        }
    }
}

/// A `float_list`'s `encoding`: one of [`ListEncoding::ALL`]'s names.
fn encoding(cx: &mut Cx<'_>, value: &Val<'_>, ty: FeatureType, what: &str) -> Option<ListEncoding> {
    if ty != FeatureType::FloatList {
        cx.error(
            value.span(),
            format!(
                "`encoding` is only for `float_list` features, and {what} is `{}`; remove it",
                ty.name()
            ),
        );
        return None;
    }
    let name = cx.string(value, "`encoding`")?;
    let encoding = ListEncoding::from_name(&name);
    if encoding.is_none() {
        let help = suggestion(&name, ListEncoding::names());
        cx.error(
            value.span(),
            format!(
                "unknown `encoding` `{name}` for {what}; {help} (`json`: text, the default; \
                 `f32le`: little-endian f32 bytes)"
            ),
        );
    }
    encoding
}

/// A `vocab`: distinct strings, for a `string` feature.
fn vocab(cx: &mut Cx<'_>, value: &Val<'_>, ty: FeatureType, what: &str) -> Option<Vec<String>> {
    if ty != FeatureType::String {
        cx.error(
            value.span(),
            format!(
                "`vocab` is only for `string` features, and {what} is `{}`; remove it",
                ty.name()
            ),
        );
        return None;
    }
    let DeValue::Array(items) = value.get_ref() else {
        cx.error(
            value.span(),
            format!(
                "`vocab` must be an array of strings, found {}",
                value.get_ref().type_str()
            ),
        );
        return None;
    };
    let mut out: Vec<String> = Vec::new();
    for item in items.iter() {
        match item.get_ref() {
            DeValue::String(s) if out.iter().any(|o| o == s.as_ref()) => {
                cx.error(
                    item.span(),
                    format!("`{s}` is in the `vocab` of {what} twice"),
                );
            }
            DeValue::String(s) => out.push(s.to_string()),
            other => cx.error(
                item.span(),
                format!(
                    "`vocab` entries must be strings, found {}",
                    other.type_str()
                ),
            ),
        }
    }
    if out.is_empty() && items.iter().next().is_none() {
        cx.error(
            value.span(),
            format!("the `vocab` of {what} is empty; list its values"),
        );
        return None;
    }
    Some(out)
}

fn default(cx: &mut Cx<'_>, value: &Val<'_>, ty: FeatureType, what: &str) -> Option<DefaultValue> {
    let parsed = match (ty, value.get_ref()) {
        (FeatureType::Int, DeValue::Integer(i)) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(DefaultValue::Int),
        (FeatureType::Float, DeValue::Integer(i)) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(|n| DefaultValue::Float(n as f64)),
        (FeatureType::Float, DeValue::Float(f)) => {
            let text = f.as_str().replace('_', "");
            // `1e400` parses to infinity: only a written `inf` or `nan` may be non-finite.
            text.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() || text.contains("inf") || text.contains("nan"))
                .map(DefaultValue::Float)
        }
        (FeatureType::String, DeValue::String(s)) => Some(DefaultValue::String(s.to_string())),
        (FeatureType::Bool, DeValue::Boolean(b)) => Some(DefaultValue::Bool(*b)),
        (FeatureType::FloatList, _) => {
            cx.error(
                value.span(),
                format!("{what} is a `float_list`, which cannot have a default; remove it"),
            );
            return None;
        }
        (ty, other) => {
            let want = match ty {
                FeatureType::Int => "an integer",
                FeatureType::Float => "a number",
                FeatureType::String => "a string",
                _ => "true or false",
            };
            cx.error(
                value.span(),
                format!(
                    "the default of {what} must be {want}, like its type `{}`; found {}",
                    ty.name(),
                    other.type_str()
                ),
            );
            return None;
        }
    };
    if parsed.is_none() {
        cx.error(
            value.span(),
            format!("the default of {what} is out of range"),
        );
    }
    parsed
}
