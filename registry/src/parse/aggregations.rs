//! The `[aggregations]` tables: bucket sizes, the event schema and the windowed features, and
//! the bucket size each window is read at.

use toml::de::{DeTable, DeValue};

use super::{duration, entity_of, get, ttl_text, Cx, Key, Val};
use crate::duration::duration_text;
use crate::names::{identifier_problem, pascal_case, suggestion};
use crate::{
    AggFeature, AggFunction, Aggregation, Entity, EventField, FeatureType, MAX_BUCKETS_PER_WINDOW,
    MAX_GRANULARITIES,
};

/// The keys of `[aggregations.NAME]`.
pub(super) const AGGREGATION_KEYS: [&str; 5] =
    ["entity", "granularity", "description", "event", "features"];
/// The keys of an event field's long form.
const EVENT_FIELD_KEYS: [&str; 2] = ["type", "description"];
/// The keys of an aggregation feature.
pub(super) const FEATURE_KEYS: [&str; 4] = ["fn", "of", "window", "description"];
/// The types an event field may have: every feature type but `float_list`.
const EVENT_TYPES: [FeatureType; 4] = [
    FeatureType::Int,
    FeatureType::Float,
    FeatureType::String,
    FeatureType::Bool,
];

/// The aggregations of `table` (`[aggregations]`); `views` are the names under `[views]`.
pub(super) fn aggregations(
    cx: &mut Cx<'_>,
    table: &DeTable<'_>,
    entities: &[Entity],
    views: &[&str],
) -> Vec<Aggregation> {
    let mut out = Vec::new();
    // (struct name, aggregation name) of every well-named aggregation so far.
    let mut structs: Vec<(String, String)> = Vec::new();
    for (key, value) in table {
        let name = key.get_ref().to_string();
        let named = aggregation_name(cx, key, entities, views, &mut structs);
        let what = format!("aggregation `{name}`");
        let Some(t) = cx.table(value, &what) else {
            continue;
        };
        cx.unknown_keys(t, &AGGREGATION_KEYS, &what);
        let entity = entity_of(cx, key, t, &what, entities);
        let granularity_ms = match get(t, "granularity") {
            Some((_, v)) => granularity(cx, v, &name),
            None => {
                cx.error(
                    key.span(),
                    format!(
                        "{what} has no `granularity`; add its bucket sizes, finest first, like \
                         `granularity = [\"1m\", \"1h\"]`"
                    ),
                );
                None
            }
        };
        let description = get(t, "description").and_then(|(_, v)| cx.string(v, "`description`"));
        // The fields, and every name under `event` (also the invalid ones): a feature reading an
        // invalid field has its error there already. `None` when `event` is not a table.
        let (event, declared): (Vec<EventField>, Option<Vec<String>>) = match get(t, "event") {
            Some((_, v)) => match cx.table(v, &format!("`event` of {what}")) {
                Some(et) => (
                    event(cx, et, &name),
                    Some(et.iter().map(|(k, _)| k.get_ref().to_string()).collect()),
                ),
                None => (Vec::new(), None),
            },
            None => (Vec::new(), Some(Vec::new())),
        };
        let schema = Schema {
            aggregation: &name,
            granularity_ms: granularity_ms.as_deref(),
            event: &event,
            declared: declared.as_deref(),
        };
        let features = match get(t, "features") {
            Some((fkey, v)) => match cx.table(v, &format!("`features` of {what}")) {
                Some(ft) if ft.is_empty() => {
                    cx.error(
                        fkey.span(),
                        format!(
                            "{what} has no features; add at least one, like \
                             `events_1h = {{ fn = \"count\", window = \"1h\" }}`"
                        ),
                    );
                    Vec::new()
                }
                Some(ft) => features(cx, ft, &schema),
                None => Vec::new(),
            },
            None => {
                cx.error(
                    key.span(),
                    format!("{what} has no features; add a `[aggregations.{name}.features]` table"),
                );
                Vec::new()
            }
        };
        if let (true, Some(entity), Some(granularity_ms)) = (named, entity, granularity_ms) {
            out.push(Aggregation {
                name,
                entity,
                granularity_ms,
                description,
                event,
                features,
                location: cx.location(key.span()),
            });
        }
    }
    out
}

/// Checks an aggregation's name: an identifier that gives a struct name, taken by no view, no
/// entity and no other aggregation's struct.
fn aggregation_name(
    cx: &mut Cx<'_>,
    key: &Key<'_>,
    entities: &[Entity],
    views: &[&str],
    structs: &mut Vec<(String, String)>,
) -> bool {
    let name = key.get_ref().as_ref();
    if !cx.identifier(key, "aggregation") {
        return false;
    }
    let type_name = pascal_case(name);
    if identifier_problem(&type_name).is_some() {
        cx.error(
            key.span(),
            format!(
                "invalid aggregation name: `{name}` would generate the struct `{type_name}`, \
                 which is not an identifier; start the name with a letter"
            ),
        );
        return false;
    }
    let mut ok = true;
    if views.contains(&name) {
        cx.error(
            key.span(),
            format!(
                "aggregation `{name}` has the same name as view `{name}`; views and aggregations \
                 share the key namespace (`…:{name}:<entity id>`): rename one of them"
            ),
        );
        ok = false;
    } else if let Some(view) = views
        .iter()
        .find(|v| identifier_problem(v).is_none() && pascal_case(v) == type_name)
    {
        cx.error(
            key.span(),
            format!(
                "view `{view}` and aggregation `{name}` would both generate the struct \
                 `{type_name}`; rename one of them"
            ),
        );
        ok = false;
    }
    if entities.iter().any(|e| e.name == name) {
        cx.error(
            key.span(),
            format!(
                "aggregation `{name}` has the same name as entity `{name}`; name it for its \
                 events instead, such as `{name}_events`"
            ),
        );
        ok = false;
    }
    let same_struct = structs.iter().find(|(t, _)| *t == type_name).cloned();
    if let Some((_, other)) = &same_struct {
        cx.error(
            key.span(),
            format!(
                "aggregations `{other}` and `{name}` would both generate the struct \
                 `{type_name}`; rename one of them"
            ),
        );
        ok = false;
    }
    // The structs a view generates (`UserProfile`, its `UserProfileBuilder`) and the ones each
    // aggregation generates (`UserTxn`, `UserTxnEvent`) must all differ.
    let event = format!("{type_name}Event");
    let view_structs = views
        .iter()
        .filter(|v| identifier_problem(v).is_none())
        .flat_map(|v| {
            let t = pascal_case(v);
            // (`UserProfile` against the aggregation's struct is the check above.)
            [(format!("{t}Builder"), v, true), (t, v, false)]
        });
    for (generated, view, builder) in view_structs {
        if generated == event || (builder && generated == type_name) {
            cx.error(
                key.span(),
                format!(
                    "view `{view}` and aggregation `{name}` would both generate the struct \
                     `{generated}`; rename one of them"
                ),
            );
            ok = false;
        }
    }
    // (Two aggregations of the same struct name also share the event's: said once, above.)
    let same_event = same_struct
        .is_none()
        .then(|| structs.iter().find(|(t, o)| *t == event && o != name))
        .flatten();
    if let Some((_, other)) = same_event {
        cx.error(
            key.span(),
            format!(
                "aggregations `{other}` and `{name}` would both generate the struct `{event}`; \
                 rename one of them"
            ),
        );
        ok = false;
    }
    structs.push((type_name, name.to_owned()));
    structs.push((event, name.to_owned()));
    ok
}

/// A duration of an aggregation (`granularity`, `window`) in seconds, as `ttl` is written; a
/// size in milliseconds gets its own message, since buckets are whole seconds.
fn seconds(cx: &mut Cx<'_>, value: &Val<'_>, key: &str) -> Option<u64> {
    if let DeValue::String(s) = value.get_ref() {
        let s = s.trim();
        let millis = s.strip_suffix("ms").filter(|n| n.parse::<u64>().is_ok());
        if millis.is_some() {
            cx.error(
                value.span(),
                format!(
                    "`{key}` {s:?} is below one second, the smallest bucket size: write a whole \
                     number of seconds, such as \"1s\""
                ),
            );
            return None;
        }
    }
    duration(cx, value, key)
}

/// The bucket sizes of `granularity`, in milliseconds; `None` after any error in them.
fn granularity(cx: &mut Cx<'_>, value: &Val<'_>, aggregation: &str) -> Option<Vec<u64>> {
    let items: Vec<&Val<'_>> = match value.get_ref() {
        DeValue::String(_) | DeValue::Integer(_) => vec![value],
        DeValue::Array(items) => items.iter().collect(),
        other => {
            cx.error(
                value.span(),
                format!(
                    "`granularity` must be a bucket size such as \"1m\" or an array of them, \
                     finest first, found {}",
                    other.type_str()
                ),
            );
            return None;
        }
    };
    if items.is_empty() {
        cx.error(
            value.span(),
            format!(
                "the `granularity` of aggregation `{aggregation}` is empty; list its bucket \
                 sizes, finest first, like [\"1m\", \"1h\"]"
            ),
        );
        return None;
    }
    let mut ok = true;
    let mut sizes: Vec<u64> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if i == MAX_GRANULARITIES {
            cx.error(
                item.span(),
                format!(
                    "the `granularity` of aggregation `{aggregation}` lists {} sizes, more than \
                     {MAX_GRANULARITIES}: every event updates one bucket of each size; keep at \
                     most {MAX_GRANULARITIES}",
                    items.len()
                ),
            );
            return None;
        }
        let Some(size) = seconds(cx, item, "granularity") else {
            ok = false;
            continue;
        };
        if let Some(&previous) = sizes.last() {
            let (this, before) = (duration_text(size), duration_text(previous));
            let problem = if size == previous {
                Some(format!(
                    "the `granularity` of aggregation `{aggregation}` lists `{this}` twice; \
                     remove one"
                ))
            } else if size < previous {
                Some(format!(
                    "the `granularity` of aggregation `{aggregation}` is not in increasing \
                     order: `{this}` comes after `{before}`; list bucket sizes finest first"
                ))
            } else if !size.is_multiple_of(previous) {
                let next = size.div_ceil(previous) * previous;
                Some(format!(
                    "the granularity `{this}` of aggregation `{aggregation}` is not a multiple \
                     of `{before}` before it: a bucket must hold whole buckets of the finer size; \
                     use a multiple of `{before}`, such as `{}`",
                    duration_text(next)
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                cx.error(item.span(), problem);
                ok = false;
                continue;
            }
        }
        sizes.push(size);
    }
    ok.then(|| sizes.into_iter().map(|s| s * 1_000).collect())
}

/// The fields of an aggregation's `event` table.
fn event(cx: &mut Cx<'_>, table: &DeTable<'_>, aggregation: &str) -> Vec<EventField> {
    let mut out = Vec::new();
    for (key, value) in table {
        let name = key.get_ref().to_string();
        let mut ok = cx.identifier(key, "event field");
        if ok && name.starts_with('_') {
            cx.error(
                key.span(),
                format!(
                    "event field `{name}` of aggregation `{aggregation}` starts with `_`, which \
                     is reserved for metadata; rename it"
                ),
            );
            ok = false;
        }
        let what = format!("event field `{name}` of aggregation `{aggregation}`");
        let (type_value, description) = match value.get_ref() {
            DeValue::String(_) => (Some(value), None),
            DeValue::Table(t) => {
                cx.unknown_keys(t, &EVENT_FIELD_KEYS, &what);
                let description =
                    get(t, "description").and_then(|(_, v)| cx.string(v, "`description`"));
                let type_value = get(t, "type").map(|(_, v)| v);
                if type_value.is_none() {
                    cx.error(
                        value.span(),
                        format!(
                            "{what} has no `type`; add `type = \"int\"` (or float, string, bool)"
                        ),
                    );
                }
                (type_value, description)
            }
            other => {
                cx.error(
                    value.span(),
                    format!(
                        "{what} must be a type name like \"float\" or a table like \
                         {{ type = \"float\" }}, found {}",
                        other.type_str()
                    ),
                );
                (None, None)
            }
        };
        let ty = type_value.and_then(|v| event_type(cx, v, &what));
        if let (true, Some(ty)) = (ok, ty) {
            out.push(EventField {
                name,
                ty,
                description,
                location: cx.location(key.span()),
            });
        }
    }
    out
}

fn event_type(cx: &mut Cx<'_>, value: &Val<'_>, what: &str) -> Option<FeatureType> {
    let name = cx.string(value, "an event field's `type`")?;
    match FeatureType::from_name(&name) {
        Some(FeatureType::FloatList) => {
            cx.error(
                value.span(),
                format!(
                    "{what} is a `float_list`, which events cannot carry: an event field is an \
                     int, float, string or bool"
                ),
            );
            None
        }
        Some(ty) => Some(ty),
        None => {
            let help = suggestion(&name, EVENT_TYPES.map(FeatureType::name));
            cx.error(
                value.span(),
                format!("unknown type `{name}` for {what}; {help}"),
            );
            None
        }
    }
}

/// What an aggregation's features are checked against.
struct Schema<'a> {
    aggregation: &'a str,
    /// `None` when `granularity` is invalid: windows are then not checked against it.
    granularity_ms: Option<&'a [u64]>,
    event: &'a [EventField],
    /// Every name under `event`, also the invalid ones; `None` when `event` is not a table.
    declared: Option<&'a [String]>,
}

fn features(cx: &mut Cx<'_>, table: &DeTable<'_>, schema: &Schema<'_>) -> Vec<AggFeature> {
    let aggregation = schema.aggregation;
    let mut out = Vec::new();
    for (key, value) in table {
        let name = key.get_ref().to_string();
        let mut ok = cx.identifier(key, "feature");
        if ok && name.starts_with('_') {
            cx.error(
                key.span(),
                format!(
                    "feature `{name}` of aggregation `{aggregation}` starts with `_`, which is \
                     reserved for metadata; rename it"
                ),
            );
            ok = false;
        }
        let what = format!("feature `{name}` of aggregation `{aggregation}`");
        let DeValue::Table(t) = value.get_ref() else {
            cx.error(
                value.span(),
                format!(
                    "{what} must be a table like {{ fn = \"count\", window = \"1h\" }}, found {}",
                    value.get_ref().type_str()
                ),
            );
            continue;
        };
        cx.unknown_keys(t, &FEATURE_KEYS, &what);
        let function = match get(t, "fn") {
            Some((_, v)) => cx.string(v, "`fn`").and_then(|f| {
                let function = AggFunction::from_name(&f);
                if function.is_none() {
                    let help = suggestion(&f, AggFunction::names());
                    cx.error(v.span(), format!("unknown `fn` `{f}` for {what}; {help}"));
                }
                function
            }),
            None => {
                cx.error(
                    value.span(),
                    format!(
                        "{what} has no `fn`; add `fn = \"count\"` (or {})",
                        AggFunction::names()[1..].join(", ")
                    ),
                );
                None
            }
        };
        let of = match (function, get(t, "of")) {
            (Some(AggFunction::Count), Some((_, v))) => {
                cx.error(
                    v.span(),
                    format!(
                        "`count` counts events and reads no field: remove `of` from {what} (or \
                         use another `fn`)"
                    ),
                );
                Err(())
            }
            (Some(function), None) if function.takes_of() => {
                let example = schema
                    .event
                    .iter()
                    .find(|e| function.accepts(e.ty))
                    .map_or("...", |e| e.name.as_str());
                cx.error(
                    value.span(),
                    format!(
                        "{what} has no `of`: `{}` reads an event field; add `of = \"{example}\"` \
                         naming a field of `[aggregations.{aggregation}.event]`",
                        function.name()
                    ),
                );
                Err(())
            }
            (_, None) => Ok(None),
            (function, Some((_, v))) => match cx.string(v, "`of`") {
                Some(field) if of_field(cx, v, &field, function, schema, &what) => Ok(Some(field)),
                _ => Err(()),
            },
        };
        let window = match get(t, "window") {
            Some((_, v)) => seconds(cx, v, "window").and_then(|s| {
                let resolution = resolution(cx, v, s, schema.granularity_ms?, &what)?;
                Some((s, ttl_text(v, s), resolution))
            }),
            None => {
                cx.error(
                    value.span(),
                    format!(
                        "{what} has no `window`; add the span of time it covers, like \
                         `window = \"1h\"`"
                    ),
                );
                None
            }
        };
        let description = get(t, "description").and_then(|(_, v)| cx.string(v, "`description`"));
        if let (
            true,
            Some(function),
            Ok(of),
            Some((window_s, window_text, (resolution_ms, buckets))),
        ) = (ok, function, of, window)
        {
            out.push(AggFeature {
                name,
                function,
                of,
                window_ms: window_s * 1_000,
                window_text,
                resolution_ms,
                buckets,
                description,
                location: cx.location(key.span()),
            });
        }
    }
    out
}

/// Checks that `field`, the `of` of a feature computing `function`, is an event field it can
/// read.
fn of_field(
    cx: &mut Cx<'_>,
    value: &Val<'_>,
    field: &str,
    function: Option<AggFunction>,
    schema: &Schema<'_>,
    what: &str,
) -> bool {
    let aggregation = schema.aggregation;
    let Some(event_field) = schema.event.iter().find(|e| e.name == field) else {
        let declared = schema.declared.is_none_or(|d| d.iter().any(|n| n == field));
        if !declared {
            let help = if schema.event.is_empty() {
                "no event fields are declared".to_owned()
            } else {
                suggestion(field, schema.event.iter().map(|e| e.name.as_str()))
            };
            cx.error(
                value.span(),
                format!(
                    "{what} reads `{field}`, which is not an event field; {help} (declare event \
                     fields in `[aggregations.{aggregation}.event]`)"
                ),
            );
        }
        return false;
    };
    let Some(function) = function else {
        return true;
    };
    if function.accepts(event_field.ty) {
        return true;
    }
    let fn_name = function.name();
    let message = match (function, event_field.ty) {
        (AggFunction::Distinct, FeatureType::Float) => format!(
            "{what}: `distinct` over a float (`{field}`): approximate cardinality of a float is \
             not meaningful: round it into an int field"
        ),
        (AggFunction::Distinct, _) => format!(
            "{what}: `distinct` over a bool (`{field}`) is not meaningful, a bool has two \
             values; `distinct` reads an int or string field"
        ),
        (_, FeatureType::String) => format!(
            "{what}: `{fn_name}` over a string (`{field}`) is not defined; `{fn_name}` reads an \
             int or float field, and a string can be read with `last` or `distinct`"
        ),
        (_, ty) => format!(
            "{what}: `{fn_name}` over a {} (`{field}`) is not defined; `{fn_name}` reads an int \
             or float field: declare a flag as an int of 0 and 1 to `{fn_name}` it",
            ty.name()
        ),
    };
    cx.error(value.span(), message);
    false
}

/// The bucket size (ms) and the bucket count a window of `seconds` is read at, or an error at
/// `value` that says what to change.
fn resolution(
    cx: &mut Cx<'_>,
    value: &Val<'_>,
    seconds: u64,
    granularity_ms: &[u64],
    what: &str,
) -> Option<(u64, u32)> {
    let window_ms = seconds * 1_000;
    let window = ttl_text(value, seconds);
    let finest = *granularity_ms.first()?;
    let finest_text = duration_text(finest / 1_000);
    if window_ms < finest {
        cx.error(
            value.span(),
            format!(
                "{what}: the window `{window}` is shorter than the finest granularity \
                 `{finest_text}`, the smallest bucket; make it at least `{finest_text}`, or add a \
                 finer size to `granularity`"
            ),
        );
        return None;
    }
    if !window_ms.is_multiple_of(finest) {
        let below = window_ms / finest * finest;
        cx.error(
            value.span(),
            format!(
                "{what}: the window `{window}` is not a whole number of buckets of the finest \
                 granularity `{finest_text}`; make it a multiple of `{finest_text}`, such as \
                 `{}` or `{}`",
                duration_text(below / 1_000),
                duration_text((below + finest) / 1_000)
            ),
        );
        return None;
    }
    let max = u64::from(MAX_BUCKETS_PER_WINDOW);
    if let Some(&g) = granularity_ms
        .iter()
        .find(|&&g| window_ms.is_multiple_of(g) && window_ms / g <= max)
    {
        let buckets = u32::try_from(window_ms / g).ok()?;
        return Some((g, buckets));
    }
    // The coarsest size that divides the window (the finest does).
    let best = granularity_ms
        .iter()
        .rev()
        .copied()
        .find(|&g| window_ms.is_multiple_of(g))
        .unwrap_or(finest);
    let coarsest = granularity_ms.last() == Some(&best);
    let sizes_s: Vec<u64> = granularity_ms.iter().map(|g| g / 1_000).collect();
    let fix = match size_to_add(&sizes_s, seconds) {
        Some(size) => {
            let size_text = duration_text(size);
            let full = if granularity_ms.len() >= MAX_GRANULARITIES {
                format!(" in place of one of its {MAX_GRANULARITIES} sizes")
            } else {
                String::new()
            };
            format!(
                "add \"{size_text}\" to `granularity`{full} (then {} buckets of `{size_text}`), \
                 or shorten the window",
                seconds / size
            )
        }
        None => format!(
            "shorten it to at most `{}`, or make it a multiple of a coarser size of `granularity`",
            duration_text(best / 1_000 * max)
        ),
    };
    cx.error(
        value.span(),
        format!(
            "{what}: the window `{window}` needs {} buckets of `{}`, {}, more than the \
             {MAX_BUCKETS_PER_WINDOW} a window may read; {fix}",
            window_ms / best,
            duration_text(best / 1_000),
            if coarsest {
                "the coarsest granularity"
            } else {
                "the coarsest granularity that divides it"
            }
        ),
    );
    None
}

/// The finest bucket size (seconds) that, added to `sizes` (seconds, finest first, each a
/// multiple of the one before), keeps that rule and reads a window of `window` seconds in at most
/// [`MAX_BUCKETS_PER_WINDOW`] buckets.
fn size_to_add(sizes: &[u64], window: u64) -> Option<u64> {
    let fits = |c: u64| {
        let i = sizes.partition_point(|&g| g < c);
        window / c <= u64::from(MAX_BUCKETS_PER_WINDOW)
            && i > 0
            && sizes.get(i) != Some(&c)
            && c.is_multiple_of(sizes[i - 1])
            && sizes.get(i).is_none_or(|next| next.is_multiple_of(c))
    };
    let mut best: Option<u64> = None;
    let mut d: u64 = 1;
    while d.saturating_mul(d) <= window {
        if window.is_multiple_of(d) {
            for c in [d, window / d] {
                if fits(c) && best.is_none_or(|b| c < b) {
                    best = Some(c);
                }
            }
        }
        d += 1;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::size_to_add;

    const M: u64 = 60;
    const H: u64 = 3_600;
    const D: u64 = 86_400;

    #[test]
    fn the_size_to_add_is_the_finest_that_fits_the_chain() {
        // 7d at 1h is 168 buckets: 3h (56) is the finest multiple of 1h dividing 7d.
        assert_eq!(size_to_add(&[M, H], 7 * D), Some(3 * H));
        // 90m is not a multiple of 1h: a size between 1m and 1h dividing both, 2m (45 buckets).
        assert_eq!(size_to_add(&[M, H], 90 * M), Some(2 * M));
        // 67m: no size between 1m and 1h divides it, and no multiple of 1h does.
        assert_eq!(size_to_add(&[M, H], 67 * M), None);
        // A single size: any multiple of it.
        assert_eq!(size_to_add(&[M], 2 * H), Some(2 * M));
        // The longest window, 100 years, at 1s: 64 buckets of exactly a 64th of it.
        assert_eq!(size_to_add(&[1], 36_500 * D), Some(36_500 * D / 64));
    }
}
