//! The harness: one runtime and one backend per test function, proptest driving it
//! synchronously.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tokio::runtime::Runtime;

use crate::behaviour::Harness;

/// Cases of the properties that talk to a backend (a server round trip is ~50 µs).
pub const CASES: u32 = 128;
/// Cases of the decoder properties, whose inputs are cheap and whose space is larger.
pub const DECODER_CASES: u32 = 256;
/// Cases of the pure key property (no I/O).
pub const KEY_CASES: u32 = 2048;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Embedded,
    Valkey,
}

/// The store under test. `h` is declared first so that it is dropped before the runtime.
pub struct Env {
    pub h: Harness,
    pub rt: Runtime,
    /// Makes every case's ids unique, so that no case sees another's data.
    case: AtomicU64,
}

impl Env {
    pub fn new(backend: Backend) -> Env {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let h = match backend {
            Backend::Embedded => Harness::embedded(),
            Backend::Valkey => rt.block_on(Harness::valkey()),
        };
        Env {
            h,
            rt,
            case: AtomicU64::new(0),
        }
    }

    pub fn next_case(&self) -> u64 {
        self.case.fetch_add(1, Ordering::Relaxed)
    }
}

/// Runs `test` on `cases` values of `strategy`; no failure files are written.
pub fn check<S>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: fmt::Debug,
{
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

/// Counts which outcomes a property reached, to show that its strategy is not degenerate.
#[derive(Default)]
pub struct Reached(std::sync::Mutex<HashMap<&'static str, u32>>);

impl Reached {
    pub fn hit(&self, outcome: &'static str) {
        *self.0.lock().unwrap().entry(outcome).or_default() += 1;
    }

    pub fn assert_all(&self, outcomes: &[&str]) {
        let counts = self.0.lock().unwrap();
        eprintln!("outcomes: {counts:?}");
        for outcome in outcomes {
            assert!(
                counts.get(outcome).is_some_and(|n| *n > 0),
                "no case reached `{outcome}`: {counts:?}"
            );
        }
    }
}

/// `$name::embedded` and `$name::valkey`, each running `$body(backend)` (a function of the
/// module that invokes the macro).
macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn embedded() {
                super::$body($crate::properties::harness::Backend::Embedded);
            }

            #[test]
            fn valkey() {
                super::$body($crate::properties::harness::Backend::Valkey);
            }
        }
    };
}
pub(crate) use on_both;

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}
