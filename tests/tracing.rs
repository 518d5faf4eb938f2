//! Every store call runs in one `fstore` span (`op`, `view`, `outcome`), with one event per
//! round trip giving its command count; seen here by a subscriber that records them.

mod behaviour;
mod support;

use std::sync::{Arc, Mutex};

use behaviour::{Harness, UserProfile};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// What a span or event carried: its name and fields, as text.
#[derive(Debug, Clone, Default)]
struct Seen {
    name: String,
    fields: Vec<(String, String)>,
}

impl Seen {
    fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.as_str())
    }
}

impl Visit for Seen {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.fields.push((
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        ));
    }
}

/// An event, with the index of the span it is in.
type InSpan = (Option<usize>, Seen);

/// One `fstore` span: op, view, outcome, and the command count of each round trip in it.
type Call = (String, String, String, Vec<String>);

/// Records every span (with later `record`s) and every event, with the span it is in.
#[derive(Default, Clone)]
struct Recorder {
    spans: Arc<Mutex<Vec<Seen>>>,
    events: Arc<Mutex<Vec<InSpan>>>,
    current: Arc<Mutex<Vec<usize>>>,
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut seen = Seen {
            name: span.metadata().name().to_owned(),
            ..Seen::default()
        };
        span.record(&mut seen);
        let mut spans = self.spans.lock().unwrap();
        spans.push(seen);
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        values.record(&mut spans[span.into_u64() as usize - 1]);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut seen = Seen {
            name: event.metadata().name().to_owned(),
            ..Seen::default()
        };
        event.record(&mut seen);
        let parent = event
            .parent()
            .map(|id| id.into_u64() as usize - 1)
            .or_else(|| self.current.lock().unwrap().last().copied());
        self.events.lock().unwrap().push((parent, seen));
    }
    fn enter(&self, span: &Id) {
        self.current
            .lock()
            .unwrap()
            .push(span.into_u64() as usize - 1);
    }
    fn exit(&self, _: &Id) {
        self.current.lock().unwrap().pop();
    }
}

impl Recorder {
    /// The `fstore` spans: (op, view, outcome, commands of each round trip in them).
    fn calls(&self) -> Vec<Call> {
        let spans = self.spans.lock().unwrap();
        let events = self.events.lock().unwrap();
        spans
            .iter()
            .enumerate()
            .filter(|(_, s)| s.name == "fstore")
            .map(|(i, s)| {
                let trips = events
                    .iter()
                    .filter(|(p, e)| *p == Some(i) && e.get("message") == Some("round trip"))
                    .filter_map(|(_, e)| e.get("commands").map(str::to_owned))
                    .collect();
                let field = |f| s.get(f).unwrap_or("-").to_owned();
                (field("op"), field("view"), field("outcome"), trips)
            })
            .collect()
    }
}

fn call(
    op: &str,
    view: &str,
    outcome: &str,
    trips: &[&str],
) -> (String, String, String, Vec<String>) {
    (
        op.to_owned(),
        view.to_owned(),
        outcome.to_owned(),
        trips.iter().map(|t| (*t).to_owned()).collect(),
    )
}

async fn calls_are_spans_with_their_round_trips(h: Harness) {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    UserProfile::sample(1).write(&h.store, "a").await.unwrap();
    UserProfile::read(&h.store, "a").await.unwrap();
    UserProfile::read_batch(&h.store, ["a", "b", "c"])
        .await
        .unwrap();
    assert!(UserProfile::read(&h.store, "").await.is_err());
    let dynamic = h.store.with_registry(behaviour::root_registry());
    dynamic
        .read("user_profile", "a", Some(&["age"]))
        .await
        .unwrap();
    assert_eq!(
        recorder.calls(),
        [
            call("write", "user_profile", "ok", &["1"]),
            call("read", "user_profile", "ok", &["1"]),
            call("read_batch", "user_profile", "ok", &["3"]),
            call("read", "user_profile", "invalid", &[]),
            call("read", "user_profile", "ok", &["1"]),
        ]
    );
}

all_backends!(spans, calls_are_spans_with_their_round_trips);
