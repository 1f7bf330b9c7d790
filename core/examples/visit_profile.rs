//! Records N visits through the store API (`encrypted`: into a SQLCipher store), or N plain
//! inserts of the same row (`plain`), for instruction counts under callgrind: (run of 3N − run of
//! N) / 2N is the cost of one visit; `ratio`: batches of N visits into a plain and an encrypted
//! store in turn, timed in the thread's CPU time (docs/benchmarks.md, "The encrypted store").
use gridbook_core::testing::{household_n, visit};
use gridbook_core::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let mode = args.next();
    let plain = mode.as_deref() == Some("plain");
    if mode.as_deref() == Some("ratio") {
        // a third argument `openssl` seals with SQLCipher's own provider instead of Gridbook's
        if args.next().as_deref() == Some("openssl") {
            gridbook_core::testing::use_openssl_provider();
        }
        return ratio(n);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let store = if mode.as_deref() == Some("encrypted") {
        let key = store::encryption::DataKey::random().expect("key");
        Store::open_encrypted(dir.path().join("sealed.db"), key).expect("store")
    } else {
        Store::open(dir.path().join("bench.db")).expect("store")
    };
    let h = store.create_household(household_n("g1", 1)).expect("household");
    let template = visit("g1", &h.id);
    if !plain {
        for _ in 0..n {
            store.record_visit(template.clone()).expect("visit");
        }
        return;
    }
    let conn = gridbook_core::testing::plain_visits(&dir.path().join("plain.db")).expect("plain");
    for _ in 0..n {
        gridbook_core::testing::plain_insert_visit(&conn, &template).expect("insert");
    }
}

/// Interleaved timing: batches of `n` visits into a plain and an encrypted store in turn, the
/// fastest batch of each kept, so a loaded machine hurts both alike: in the thread's CPU time, and
/// in wall time (the fastest batch is the one the other processes disturbed least).
fn ratio(n: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = store::encryption::DataKey::random().expect("key");
    let sealed = Store::open_encrypted(dir.path().join("sealed.db"), key).expect("store");
    let plain = Store::open(dir.path().join("plain.db")).expect("store");
    let hp = plain.create_household(household_n("g1", 1)).expect("household");
    let hs = sealed.create_household(household_n("g1", 1)).expect("household");
    let (tp, ts) = (visit("g1", &hp.id), visit("g1", &hs.id));
    let (mut best_p, mut best_s) = (f64::MAX, f64::MAX);
    let (mut wall_p, mut wall_s) = (f64::MAX, f64::MAX);
    for _ in 0..30 {
        for (store, template, best, wall) in
            [(&plain, &tp, &mut best_p, &mut wall_p), (&sealed, &ts, &mut best_s, &mut wall_s)]
        {
            let (t, w) = (thread_cpu_us(), std::time::Instant::now());
            for _ in 0..n {
                store.record_visit(template.clone()).expect("visit");
            }
            *wall = wall.min(w.elapsed().as_secs_f64() * 1e6 / n as f64);
            *best = best.min((thread_cpu_us() - t) / n as f64);
        }
    }
    let provider: String = sealed.cipher_provider().unwrap_or_default();
    println!(
        "cpu: plain {best_p:.1} us  encrypted {best_s:.1} us  ratio {:.2}  |  wall: plain {wall_p:.1} us  encrypted {wall_s:.1} us  ratio {:.2}  ({provider})",
        best_s / best_p,
        wall_s / wall_p
    );
}

/// This thread's CPU time (user + system) in microseconds: what the work cost, not what the
/// other processes on a shared machine took from it.
fn thread_cpu_us() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into the valid, owned `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e6 + ts.tv_nsec as f64 / 1e3
}
