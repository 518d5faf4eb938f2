//! The counting allocator: the system allocator, plus counters of calls and bytes that run only
//! while a [`Tracking`] is live.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Wraps the system allocator; counts only while [`TRACK`] is set, so that the latency rows pay
/// one relaxed load per allocation and nothing else.
pub struct Counting;

pub static TRACK: AtomicBool = AtomicBool::new(false);
/// Allocator calls (`alloc`, `alloc_zeroed`, `realloc`) while tracking.
pub static CALLS: AtomicU64 = AtomicU64::new(0);
/// Bytes requested by those calls.
pub static BYTES: AtomicU64 = AtomicU64::new(0);
/// Live bytes, relative to when tracking started (frees of older blocks make it go down).
pub static LIVE: AtomicI64 = AtomicI64::new(0);
pub static PEAK: AtomicI64 = AtomicI64::new(0);

#[global_allocator]
pub static GLOBAL: Counting = Counting;

pub fn note_alloc(size: usize) {
    CALLS.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(size as u64, Ordering::Relaxed);
    let live = LIVE.fetch_add(size as i64, Ordering::Relaxed) + size as i64;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() && TRACK.load(Ordering::Relaxed) {
            note_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() && TRACK.load(Ordering::Relaxed) {
            note_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        if TRACK.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() && TRACK.load(Ordering::Relaxed) {
            CALLS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
            let delta = new_size as i64 - layout.size() as i64;
            let live = LIVE.fetch_add(delta, Ordering::Relaxed) + delta;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
}

/// What the allocator saw between [`Tracking::start`] and [`Tracking::stop`].
pub struct Tracked {
    pub calls: u64,
    pub bytes: u64,
    /// Peak live bytes above the start.
    pub peak: i64,
    /// Live bytes at the stop, above the start.
    pub retained: i64,
}

pub struct Tracking;

impl Tracking {
    pub fn start() -> Tracking {
        CALLS.store(0, Ordering::Relaxed);
        BYTES.store(0, Ordering::Relaxed);
        LIVE.store(0, Ordering::Relaxed);
        PEAK.store(0, Ordering::Relaxed);
        TRACK.store(true, Ordering::SeqCst);
        Tracking
    }

    pub fn stop(self) -> Tracked {
        TRACK.store(false, Ordering::SeqCst);
        Tracked {
            calls: CALLS.load(Ordering::Relaxed),
            bytes: BYTES.load(Ordering::Relaxed),
            peak: PEAK.load(Ordering::Relaxed),
            retained: LIVE.load(Ordering::Relaxed),
        }
    }
}
