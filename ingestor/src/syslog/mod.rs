//! Syslog intake: RFC 3164 and RFC 5424 over UDP, and over TCP with
//! octet-counting or newline framing (RFC 6587). Each line becomes an event and goes
//! through the same validation and coalescing writer as HTTP events.

mod framing;
mod parse;
mod tcp;
mod udp;

pub use framing::Framer;
pub use parse::line_to_event;
pub(crate) use tcp::run_tcp;
pub(crate) use udp::{bind_udp, run_udp};

use crate::depth::QueueDepth;
use crate::intake;
use crate::metrics::IngestMetrics;
use crate::writer::Writer;
use shared::config::IngestLimits;
use std::net::IpAddr;
use std::sync::Arc;

/// What the listeners share.
#[derive(Clone)]
pub(crate) struct SyslogContext {
    pub writer: Writer,
    pub queue: Arc<QueueDepth>,
    pub limits: IngestLimits,
    pub metrics: IngestMetrics,
    pub max_line_bytes: usize,
}

impl SyslogContext {
    /// Turns raw lines into queue payloads. A line that cannot become a valid event (it
    /// always can: unparsable text is kept whole as the message) is counted and skipped.
    pub fn payloads(&self, lines: &[Vec<u8>], peer: IpAddr) -> Vec<String> {
        let now = chrono::Utc::now();
        lines
            .iter()
            .filter_map(|line| {
                let text = String::from_utf8_lossy(line);
                let event = line_to_event(&text, peer, now)?;
                let correlation_id = shared::event::correlation_id(None);
                match intake::validate(event, &[], &self.limits, &correlation_id) {
                    Ok(valid) => Some(valid.payload),
                    Err(e) => {
                        self.metrics
                            .syslog_dropped
                            .with_label_values(&["invalid"])
                            .inc();
                        tracing::debug!(error = %e, "syslog line refused");
                        None
                    }
                }
            })
            .collect()
    }
}
