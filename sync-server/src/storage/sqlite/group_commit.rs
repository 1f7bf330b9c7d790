//! Group commit for pushes: a push that arrives while another is being written waits in a queue,
//! and whichever push takes the writer next applies every waiting push in one transaction, so one
//! fsync acknowledges them all. Each push is still answered only after that commit (the protocol's
//! durability promise); the queue changes how many pushes share a commit, not when one is answered.
//! The gate beside it keeps the pushes being prepared from crowding the writer off the cores.

use std::sync::{Arc, Condvar, Mutex};

use super::lock;

/// One waiting piece of work and, once written, its answer.
pub(super) struct Job<W, A> {
    pub(super) work: W,
    answer: Mutex<Option<A>>,
}

impl<W, A> Job<W, A> {
    pub(super) fn answer(&self, answer: A) {
        *lock(&self.answer) = Some(answer);
    }
}

/// Jobs waiting for the writer.
pub(super) struct Queue<W, A> {
    waiting: Mutex<Vec<Arc<Job<W, A>>>>,
}

impl<W, A> Default for Queue<W, A> {
    fn default() -> Self {
        Self { waiting: Mutex::new(Vec::new()) }
    }
}

impl<W, A> Queue<W, A> {
    /// Queues `work` and returns its answer. `write` runs while holding the writer, with the jobs
    /// waiting at that moment (this one among them, or already answered by an earlier writer),
    /// oldest first, at most `size(job)` summing to `budget` (and always at least one job); it must
    /// answer every job it is given.
    pub(super) fn run<G>(
        &self,
        work: W,
        writer: &Mutex<G>,
        size: impl Fn(&W) -> usize,
        budget: usize,
        mut write: impl FnMut(&mut G, &[Arc<Job<W, A>>]),
    ) -> Option<A> {
        let job = Arc::new(Job { work, answer: Mutex::new(None) });
        lock(&self.waiting).push(job.clone());
        loop {
            let mut guard = lock(writer);
            // An earlier writer may have taken this job with its own: answered before it let go.
            if let Some(answer) = lock(&job.answer).take() {
                return Some(answer);
            }
            let batch: Vec<Arc<Job<W, A>>> = {
                let mut waiting = lock(&self.waiting);
                let mut total = 0;
                let n = waiting
                    .iter()
                    .take_while(|j| {
                        let first = total == 0;
                        total += size(&j.work).max(1);
                        first || total <= budget
                    })
                    .count();
                waiting.drain(..n).collect()
            };
            if batch.is_empty() {
                return None; // not queued and not answered: cannot happen
            }
            write(&mut guard, &batch);
            drop(guard);
        }
    }
}

/// At most `limit` threads inside at once; the others wait their turn.
pub(super) struct Gate {
    inside: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

/// A thread's turn inside the gate, until dropped.
pub(super) struct Turn<'a>(&'a Gate);

impl Gate {
    pub(super) fn new(limit: usize) -> Self {
        Self { inside: Mutex::new(0), freed: Condvar::new(), limit: limit.max(1) }
    }

    /// One fewer than the machine's cores (at least one).
    pub(super) fn for_all_cores_but_one() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1)))
    }

    pub(super) fn enter(&self) -> Turn<'_> {
        let mut inside = lock(&self.inside);
        while *inside >= self.limit {
            inside = self.freed.wait(inside).unwrap_or_else(|p| p.into_inner());
        }
        *inside += 1;
        Turn(self)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *lock(&self.0.inside) -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_is_answered_once_whoever_writes_it() {
        let queue: Arc<Queue<u32, u32>> = Arc::default();
        let writer = Arc::new(Mutex::new(Vec::<Vec<u32>>::new()));
        let threads: Vec<_> = (0..16u32)
            .map(|i| {
                let (queue, writer) = (queue.clone(), writer.clone());
                std::thread::spawn(move || {
                    queue.run(
                        i,
                        &writer,
                        |_| 1,
                        4,
                        |batches, jobs| {
                            batches.push(jobs.iter().map(|j| j.work).collect());
                            for j in jobs {
                                j.answer(j.work * 10);
                            }
                        },
                    )
                })
            })
            .collect();
        let answers: Vec<Option<u32>> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
        assert_eq!(answers, (0..16).map(|i| Some(i * 10)).collect::<Vec<_>>());
        let batches = lock(&writer);
        let mut written: Vec<u32> = batches.iter().flatten().copied().collect();
        written.sort();
        assert_eq!(written, (0..16).collect::<Vec<_>>(), "each job written exactly once");
        assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 4), "{batches:?}");
    }

    #[test]
    fn the_gate_lets_no_more_than_its_limit_in_at_once() {
        let gate = Arc::new(Gate::new(2));
        let inside = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gate, inside, most) = (gate.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    let _turn = gate.enter();
                    let now = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().expect("thread"));
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2, "two at once, never three");
        assert_eq!(*lock(&gate.inside), 0, "every turn given back");
    }
}
