//! The app's log sink: what the core and the FFI log with `tracing` (a sync that found no snapshot
//! file, a receipt book not refilled, an unexpected error) reaches the phone's own log — Logcat
//! on Android, the unified log (os.Logger) on iOS — through a callback the app implements. A small
//! `tracing` layer passes each event's level, target and message text on, and nothing else: the
//! other fields of an event (ids, codes, error details) stay behind, so no personal data reaches
//! the phone's log, whatever a call site attaches. Only Gridbook's own events pass (targets
//! `gridbook_*`): the libraries underneath (HTTP, TLS) write their own texts, which nobody here
//! has checked for personal data.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::error::{GridbookError, Result};

/// How much reaches the log: a level and everything more severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Failures.
    Error,
    /// Something went wrong and was worked around (e.g. no new receipt book this time).
    Warn,
    /// What the sync did, in a line or two per cycle.
    Info,
    /// Detail for a developer.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn of(level: &Level) -> Self {
        match *level {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            Level::TRACE => LogLevel::Trace,
        }
    }

    fn filter(self) -> LevelFilter {
        match self {
            LogLevel::Error => LevelFilter::ERROR,
            LogLevel::Warn => LevelFilter::WARN,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Debug => LevelFilter::DEBUG,
            LogLevel::Trace => LevelFilter::TRACE,
        }
    }
}

/// Implemented by the app to write the core's log messages to the phone's log (android.util.Log,
/// os.Logger). Called on whichever thread logged, the sync's included: write the line and
/// return; do not call back into Gridbook from here (a message logged meanwhile is dropped).
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One message: its level, where it was logged (a Rust module path such as
    /// `gridbook_core::sync::client`, for a tag or category) and its text.
    fn log(&self, level: LogLevel, target: String, message: String);
}

/// The sink in use, if any.
static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);
/// The most verbose level passed on, as `LevelFilter` orders them (0 = off … 5 = trace).
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);
/// Whether this layer's subscriber is the process's global one (set once, on the first install).
static GLOBAL: OnceLock<bool> = OnceLock::new();

thread_local! {
    /// Set while the sink runs on this thread: what it logs itself is dropped, not looped back.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

fn rank(filter: LevelFilter) -> u8 {
    match filter.into_level() {
        None => 0,
        Some(Level::ERROR) => 1,
        Some(Level::WARN) => 2,
        Some(Level::INFO) => 3,
        Some(Level::DEBUG) => 4,
        Some(Level::TRACE) => 5,
    }
}

fn max_filter() -> LevelFilter {
    match MAX_LEVEL.load(Ordering::Relaxed) {
        0 => LevelFilter::OFF,
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

fn sink() -> Option<Arc<dyn LogSink>> {
    SINK.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
}

fn set(sink: Option<Arc<dyn LogSink>>, level: LevelFilter) {
    *SINK.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = sink;
    MAX_LEVEL.store(rank(level), Ordering::Relaxed);
    // The macros skip levels above the subscriber's hint before asking it: ask again.
    tracing::callsite::rebuild_interest_cache();
}

/// Sends the log messages of the core and the FFI at `level` and above to `sink`, from now on,
/// replacing any sink installed before. Call it once at start-up (Application.onCreate, the
/// App's init). Fails only if the process already has another `tracing` subscriber.
#[uniffi::export]
pub fn install_log_sink(sink: Arc<dyn LogSink>, level: LogLevel) -> Result<()> {
    let global = *GLOBAL.get_or_init(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(SinkLayer)).is_ok()
    });
    if !global {
        return Err(GridbookError::Other {
            detail: "another tracing subscriber is installed in this process; no log sink installed".into(),
        });
    }
    set(Some(sink), level.filter());
    Ok(())
}

/// Stops sending log messages to the app (the sink installed is released).
#[uniffi::export]
pub fn remove_log_sink() {
    set(None, LevelFilter::OFF);
}

/// The layer: events at the installed level go to the sink as (level, target, message).
struct SinkLayer;

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level changes at run time: decide per event, in `enabled`.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.is_event() && *metadata.level() <= max_filter() && metadata.target().starts_with("gridbook_")
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(max_filter())
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if IN_SINK.with(Cell::get) {
            return;
        }
        let Some(sink) = sink() else { return };
        let mut text = MessageText(None);
        event.record(&mut text);
        let Some(message) = text.0 else { return };
        let meta = event.metadata();
        let (level, target) = (LogLevel::of(meta.level()), meta.target().to_string());
        IN_SINK.with(|f| f.set(true));
        // A sink that throws must not take the logging call (a sync, a store call) down with it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.log(level, target, message)));
        IN_SINK.with(|f| f.set(false));
    }
}

/// Keeps an event's message text and nothing else. The text is the event's first `message`
/// field (`tracing` puts the format string first; a field a call site names `message` after it
/// is left out like every other field).
struct MessageText(Option<String>);

impl Visit for MessageText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" && self.0.is_none() {
            self.0 = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" && self.0.is_none() {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use gridbook_core::Error as CoreError;

    use super::*;

    #[derive(Default)]
    struct Lines(Mutex<Vec<(LogLevel, String, String)>>);

    impl LogSink for Lines {
        fn log(&self, level: LogLevel, target: String, message: String) {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push((level, target, message));
        }
    }

    impl Lines {
        /// The lines logged so far, but for other tests' (threads of this process may log meanwhile
        /// from other modules).
        fn taken(&self) -> Vec<(LogLevel, String, String)> {
            let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
            let mine = |target: &str| {
                target == module_path!() || target == "gridbook_ffi::error" || !target.starts_with("gridbook_")
            };
            std::mem::take(&mut *all).into_iter().filter(|(_, target, _)| mine(target)).collect()
        }
    }

    fn line(level: LogLevel, target: &str, message: &str) -> (LogLevel, String, String) {
        (level, target.to_string(), message.to_string())
    }

    // One test: the sink is process-wide.
    #[test]
    fn the_sink_gets_messages_at_its_level_without_their_fields_and_stops_when_removed() {
        let lines = Arc::new(Lines::default());
        install_log_sink(lines.clone(), LogLevel::Info).expect("no other subscriber in this test binary");
        tracing::error!(target: "hyper::client", "a library's own text");
        let household_id = "h-secret-1";
        tracing::info!(household_id, "archive saved");
        tracing::debug!("too detailed for info");
        tracing::warn!(code = "x", message = "a field named message", "the format string counts");
        tracing::error!(household_id);
        let mapped = GridbookError::from(CoreError::Corrupt("household h-secret-1: bad row".into()));
        assert!(matches!(&mapped, GridbookError::Other { detail } if detail.contains("h-secret-1")), "{mapped:?}");
        let here = module_path!();
        assert_eq!(
            lines.taken(),
            vec![
                line(LogLevel::Info, here, "archive saved"),
                line(LogLevel::Warn, here, "the format string counts"),
                line(LogLevel::Error, "gridbook_ffi::error", "unexpected corrupt error, reported to the app as Other"),
            ]
        );

        install_log_sink(lines.clone(), LogLevel::Debug).expect("a second install replaces the first");
        tracing::debug!("now detailed enough");
        assert_eq!(lines.taken(), vec![line(LogLevel::Debug, here, "now detailed enough")]);

        remove_log_sink();
        tracing::error!("nobody hears this");
        assert!(lines.taken().is_empty());
    }
}
