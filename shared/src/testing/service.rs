//! `RunningService`: a service's `run_until` spawned in a test, stopped the way a signal
//! would stop it (and asserted to shut down cleanly), or aborted to simulate a crash.

use std::future::Future;
use tokio_util::sync::CancellationToken;

pub struct RunningService {
    stop: CancellationToken,
    /// Abort it to simulate a crash: no shutdown path runs.
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningService {
    /// Spawns `run(shutdown)`, e.g. `|stop| service.run_until(stop)`.
    pub fn spawn<F, Fut>(run: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(stop.clone()));
        Self { stop, task }
    }

    /// Requests shutdown and waits for a clean one.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.expect("join").expect("clean shutdown");
    }
}
