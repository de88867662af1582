//! A Redis connection that counts round trips, so tests can assert that an operation costs
//! O(1) round trips whatever its batch size (a client-side count is exact even while other
//! tests share the server, which `INFO commandstats` is not).

use redis::aio::ConnectionLike;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone)]
pub struct CountingConnection<C> {
    inner: C,
    round_trips: Arc<AtomicUsize>,
    commands: Arc<AtomicUsize>,
}

impl<C> CountingConnection<C> {
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            round_trips: Arc::default(),
            commands: Arc::default(),
        }
    }

    /// Requests sent and answered (a pipeline is one).
    pub fn round_trips(&self) -> usize {
        self.round_trips.load(Ordering::SeqCst)
    }

    /// Commands sent (a pipeline counts each of its commands).
    pub fn commands(&self) -> usize {
        self.commands.load(Ordering::SeqCst)
    }

    pub fn reset(&self) {
        self.round_trips.store(0, Ordering::SeqCst);
        self.commands.store(0, Ordering::SeqCst);
    }
}

impl<C: ConnectionLike + Send> ConnectionLike for CountingConnection<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.round_trips.fetch_add(1, Ordering::SeqCst);
        self.commands.fetch_add(1, Ordering::SeqCst);
        self.inner.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.round_trips.fetch_add(1, Ordering::SeqCst);
        self.commands.fetch_add(cmd.len(), Ordering::SeqCst);
        self.inner.req_packed_commands(cmd, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}
