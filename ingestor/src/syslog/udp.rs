//! Syslog over UDP: each datagram is one message. Datagrams that arrive together are
//! parsed and written together in a task of their own, while the receive loop reads on.
//! When the queue is over its cap, datagrams are dropped and counted
//! (`mutt_ingest_syslog_dropped_total{reason="queue_full"}`): UDP has no way to push back.

use super::SyslogContext;
use crate::writer::WriteError;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Kernel receive buffer: room for bursts while a write is in flight.
const RECEIVE_BUFFER_BYTES: usize = 16 * 1024 * 1024;
const MAX_DATAGRAMS_PER_WRITE: usize = 512;
const WRITES_IN_FLIGHT: usize = 8;

pub(crate) fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // The kernel caps this at net.core.rmem_max; whatever it grants is better than the default.
    let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER_BYTES);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

pub(crate) async fn run_udp(socket: UdpSocket, ctx: SyslogContext, shutdown: CancellationToken) {
    let slots = Arc::new(Semaphore::new(WRITES_IN_FLIGHT));
    let mut buf = vec![0u8; ctx.max_line_bytes.max(1024)];
    let counter = ctx.metrics.syslog_messages.with_label_values(&["udp"]);
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => break,
            received = socket.recv_from(&mut buf) => received,
        };
        let Ok((n, peer)) = first else { continue };
        let mut batch: Vec<(Vec<u8>, SocketAddr)> = vec![(buf[..n].to_vec(), peer)];
        while batch.len() < MAX_DATAGRAMS_PER_WRITE {
            match socket.try_recv_from(&mut buf) {
                Ok((n, peer)) => batch.push((buf[..n].to_vec(), peer)),
                Err(_) => break,
            }
        }
        counter.inc_by(batch.len() as u64);
        if ctx.queue.over_cap().is_some() {
            ctx.metrics
                .syslog_dropped
                .with_label_values(&["queue_full"])
                .inc_by(batch.len() as u64);
            continue;
        }
        // Parse and write off the receive loop, so that it goes straight back to reading
        // and the kernel buffer drains as fast as datagrams arrive.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let payloads: Vec<String> = batch
                .iter()
                .flat_map(|(line, peer)| ctx.payloads(std::slice::from_ref(line), peer.ip()))
                .collect();
            let count = payloads.len() as u64;
            match ctx.writer.push(payloads).await {
                // Not confirmed by the replicas is still queued; UDP has nobody to tell.
                Ok(()) | Err(WriteError::NotReplicated { .. }) => {}
                Err(error) => {
                    ctx.metrics
                        .syslog_dropped
                        .with_label_values(&["redis"])
                        .inc_by(count);
                    tracing::warn!(error = %error, messages = count, "syslog datagrams lost: queue write failed");
                }
            }
            drop(slot);
        });
    }
    let _ = slots.acquire_many(WRITES_IN_FLIGHT as u32).await;
}
