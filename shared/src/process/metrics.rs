//! Prometheus plumbing shared by the services: one explicit `Registry` per service (never
//! the global default, so tests can build their own and assert exact counts) with the
//! process collector (`process_resident_memory_bytes`, …) on it.

use prometheus::{Encoder, Registry, TextEncoder};

/// A fresh registry with the process collector registered.
pub fn new_registry() -> Registry {
    let registry = Registry::new();
    // Fails only where /proc is missing; the service's own metrics still work then.
    let _ = registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ));
    registry
}

/// The registry in Prometheus' text format.
pub fn render(registry: &Registry) -> String {
    let mut buffer = Vec::new();
    let families = registry.gather();
    if let Err(error) = TextEncoder::new().encode(&families, &mut buffer) {
        tracing::warn!(error = %error, "cannot encode metrics");
    }
    String::from_utf8(buffer).unwrap_or_default()
}

/// Registers `collector`; metric names are constants, so a clash is a programming error.
pub fn register<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: &C,
) -> C {
    registry
        .register(Box::new(collector.clone()))
        .expect("metric names are unique within a service");
    collector.clone()
}
