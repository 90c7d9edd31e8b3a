//! Where storage work runs. Disk I/O (appends, fsyncs, rolls, index writes,
//! reads of segment files) must never hold up the async runtime's worker
//! threads: a slow disk would stall every connection those threads serve.
//! [`blocking`] runs such work so that it does not: on a worker thread of
//! the multi-threaded runtime, the worker first hands its other tasks to a
//! fresh thread (`tokio::task::block_in_place`), so only the request that
//! touches the disk waits for it. Requests on one connection are answered
//! in order, so a partition's appends from one producer stay in order; the
//! log's lock orders appends from different connections.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `f`, which may block on disk I/O, without blocking the runtime.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn other_tasks_run_while_one_blocks() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (tx, rx) = mpsc::channel::<()>();
            // With one worker, the second task can send only if the first,
            // blocked in `blocking`, gave the worker up.
            let blocked =
                tokio::spawn(async move { blocking(|| rx.recv_timeout(Duration::from_secs(10))) });
            tokio::spawn(async move { tx.send(()) });
            assert_eq!(blocked.await.unwrap(), Ok(()));
            // Nested calls just run.
            assert_eq!(blocking(|| blocking(|| 7)), 7);
        });
        assert_eq!(blocking(|| 3), 3);
    }
}
