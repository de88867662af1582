//! Syslog over TCP, and over TLS (RFC 5425: the same octet-counted frames inside a TLS
//! stream). Each connection is read, framed and written in turns: the next read waits
//! until Redis has acknowledged the previous batch, and while the queue is over its cap the
//! connection is not read at all, so the sender's buffers fill and it slows down
//! (backpressure instead of loss).

use super::{Framer, SyslogContext};
use shared::process::retry::{Backoff, until_ok};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

const READ_BUFFER_BYTES: usize = 64 * 1024;
const CAP_POLL: Duration = Duration::from_millis(100);
/// A TLS handshake that takes longer is given up (a client that connects and says nothing
/// must not hold a task forever).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `listener` until `shutdown`; with `tls`, every connection is a TLS stream.
pub(crate) async fn run_tcp(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    ctx: SyslogContext,
    shutdown: CancellationToken,
) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let (ctx, shutdown) = (ctx.clone(), shutdown.clone());
                let Some(acceptor) = tls.clone() else {
                    connections.spawn(connection(stream, peer, ctx, shutdown));
                    continue;
                };
                connections.spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection(stream, peer, ctx, shutdown).await,
                        Ok(Err(error)) => {
                            tracing::warn!(peer = %peer, error = %error, "syslog TLS handshake refused")
                        }
                        Err(_) => tracing::warn!(peer = %peer, "syslog TLS handshake timed out"),
                    }
                });
            }
            Err(error) => tracing::warn!(error = %error, "syslog tcp accept failed"),
        }
    }
    // Let every connection flush what it has read.
    while connections.join_next().await.is_some() {}
}

async fn connection<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    ctx: SyslogContext,
    shutdown: CancellationToken,
) {
    let mut framer = Framer::new(ctx.max_line_bytes);
    let mut buf = Vec::with_capacity(READ_BUFFER_BYTES);
    let mut chunk = vec![0u8; READ_BUFFER_BYTES];
    let counter = ctx.metrics.syslog_messages.with_label_values(&["tcp"]);
    loop {
        while ctx.queue.over_cap().is_some() {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(CAP_POLL) => {}
            }
        }
        let read = tokio::select! {
            _ = shutdown.cancelled() => 0,
            read = stream.read(&mut chunk) => read.unwrap_or(0),
        };
        let mut lines = if read == 0 {
            framer.finish(&mut buf).into_iter().collect()
        } else {
            buf.extend_from_slice(&chunk[..read]);
            framer.split(&mut buf)
        };
        lines.retain(|l| !l.is_empty());
        if !lines.is_empty() {
            counter.inc_by(lines.len() as u64);
            let payloads = ctx.payloads(&lines, peer.ip());
            if !write_until_acknowledged(&ctx, payloads, peer, &shutdown).await {
                return;
            }
        }
        if read == 0 {
            ctx.metrics.syslog_truncated.inc_by(framer.truncated());
            return;
        }
    }
}

/// Retries a failed write with backoff instead of dropping what was read: meanwhile the
/// connection is not read, so the sender is held back. A write the replicas did not
/// confirm (`INGEST_ACK_REPLICAS`) is written again too: queued twice at worst, never
/// lost. Gives up (counting the loss) only when the service is shutting down; returns
/// whether the connection should go on.
async fn write_until_acknowledged(
    ctx: &SyslogContext,
    payloads: Vec<String>,
    peer: SocketAddr,
    shutdown: &CancellationToken,
) -> bool {
    let backoff = Backoff::doubling(Duration::from_millis(100), Duration::from_secs(2));
    let written = until_ok("syslog write", backoff, shutdown, || {
        ctx.writer.push(payloads.clone())
    })
    .await;
    if written.is_none() {
        tracing::warn!(peer = %peer, messages = payloads.len(), "shutting down: syslog messages read but not written");
        ctx.metrics
            .syslog_dropped
            .with_label_values(&["redis"])
            .inc_by(payloads.len() as u64);
    }
    written.is_some()
}
