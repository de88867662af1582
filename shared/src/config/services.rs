//! One config struct per service, each built from the environment with v2.5's names and
//! defaults plus the variables mutt-rs adds (documented in
//! docs/configuration.md).

use super::reader::{ConfigError, Env};
use super::{
    DbConfig, DynamicConfigSwitch, RedisConfig, Replication, TelemetryConfig, WorkerIdentity,
};
use crate::tls::server::ServerTls;
use secrecy::SecretString;
use std::net::IpAddr;
use std::time::Duration;

fn listen_host(env: &Env) -> Result<IpAddr, ConfigError> {
    env.parse("LISTEN_HOST", IpAddr::from([0, 0, 0, 0]))
}

/// Size limits of an ingest request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IngestLimits {
    pub max_body_bytes: usize,
    pub max_event_bytes: usize,
    pub max_message_bytes: usize,
    pub max_batch_events: usize,
}

impl IngestLimits {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            max_body_bytes: env.int_at_least("INGEST_MAX_BODY_BYTES", 1024 * 1024, 1024)?,
            max_event_bytes: env.int_at_least("INGEST_MAX_EVENT_BYTES", 64 * 1024, 256)?,
            max_message_bytes: env.int_at_least("INGEST_MAX_MESSAGE_BYTES", 16 * 1024, 64)?,
            max_batch_events: env.int_at_least("INGEST_MAX_BATCH_EVENTS", 10_000, 1)?,
        })
    }
}

/// The ingestor.
#[derive(Clone, Debug)]
pub struct IngestorConfig {
    pub telemetry: TelemetryConfig,
    pub redis: RedisConfig,
    pub listen_host: IpAddr,
    pub http_port: u16,
    /// `None` (env value 0) disables the listener; `Some(0)` picks a free port (tests).
    pub syslog_udp_port: Option<u16>,
    /// `None` (env value 0) disables the listener; `Some(0)` picks a free port (tests).
    pub syslog_tcp_port: Option<u16>,
    pub syslog_max_line_bytes: usize,
    pub max_ingest_queue_size: u64,
    pub required_fields: Vec<String>,
    pub rate_limit_enabled: bool,
    pub ingest_max_rate: u64,
    pub ingest_rate_window: Duration,
    pub ingest_api_key: Option<SecretString>,
    pub limits: IngestLimits,
    pub dynamic_config: DynamicConfigSwitch,
    /// How many Redis replicas must hold a write before a sender is answered.
    pub replication: Replication,
    /// `INGEST_TLS_CERT_FILE` / `INGEST_TLS_KEY_FILE`: serve HTTPS instead of HTTP.
    pub tls: Option<ServerTls>,
    /// `SYSLOG_TLS_*`: syslog over TLS (RFC 5425) on its own port.
    pub syslog_tls: Option<SyslogTls>,
}

/// Syslog over TLS: where, with which certificate, and whose clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogTls {
    /// `SYSLOG_TLS_PORT` (6514, RFC 5425's).
    pub port: u16,
    /// `SYSLOG_TLS_CERT_FILE` / `SYSLOG_TLS_KEY_FILE`.
    pub server: ServerTls,
    /// `SYSLOG_TLS_CLIENT_CA_FILE`: when set, a sender must present a certificate this CA
    /// signed.
    pub client_ca: Option<std::path::PathBuf>,
}

impl IngestorConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            telemetry: TelemetryConfig::from_env(env)?,
            redis: RedisConfig::from_env(env, 20)?,
            listen_host: listen_host(env)?,
            http_port: env.port("SERVER_PORT_INGESTOR", 8080)?,
            syslog_udp_port: Some(env.port("SYSLOG_UDP_PORT", 5514)?).filter(|p| *p != 0),
            syslog_tcp_port: Some(env.port("SYSLOG_TCP_PORT", 5514)?).filter(|p| *p != 0),
            syslog_max_line_bytes: env.int_at_least("SYSLOG_MAX_LINE_BYTES", 64 * 1024, 480)?,
            max_ingest_queue_size: env.int_at_least("MAX_INGEST_QUEUE_SIZE", 1_000_000, 1000)?,
            required_fields: env.list("REQUIRED_FIELDS", "hostname,message,timestamp"),
            // Off by default (v2.5: on, 1,000 requests a minute for the whole site): see
            // docs/compatibility.md.
            rate_limit_enabled: env.bool("RATE_LIMIT_ENABLED", false)?,
            ingest_max_rate: env.int_at_least("INGEST_MAX_RATE", 1000, 1)?,
            ingest_rate_window: env.positive_seconds("INGEST_RATE_WINDOW", 60.0)?,
            ingest_api_key: env.secret("INGEST_API_KEY")?,
            limits: IngestLimits::from_env(env)?,
            dynamic_config: DynamicConfigSwitch::from_env(env)?,
            replication: Replication::from_env(env)?,
            tls: server_tls(env, "INGEST")?,
            syslog_tls: syslog_tls(env)?,
        })
    }
}

/// `SYSLOG_TLS_*`: all read, so that a client CA without a certificate is refused.
fn syslog_tls(env: &Env) -> Result<Option<SyslogTls>, ConfigError> {
    let port = env.port("SYSLOG_TLS_PORT", 6514)?;
    let client_ca = env.path("SYSLOG_TLS_CLIENT_CA_FILE");
    match server_tls(env, "SYSLOG")? {
        Some(server) => Ok(Some(SyslogTls {
            port,
            server,
            client_ca,
        })),
        None if client_ca.is_some() => Err(ConfigError::new(
            "SYSLOG_TLS_CLIENT_CA_FILE",
            "",
            "set SYSLOG_TLS_CERT_FILE and SYSLOG_TLS_KEY_FILE too",
        )),
        None => Ok(None),
    }
}

/// `<prefix>_TLS_CERT_FILE` and `<prefix>_TLS_KEY_FILE`: both or neither.
fn server_tls(env: &Env, prefix: &str) -> Result<Option<ServerTls>, ConfigError> {
    let (cert_var, key_var) = (
        format!("{prefix}_TLS_CERT_FILE"),
        format!("{prefix}_TLS_KEY_FILE"),
    );
    match (env.path(&cert_var), env.path(&key_var)) {
        (None, None) => Ok(None),
        (Some(cert_file), Some(key_file)) => Ok(Some(ServerTls {
            cert_file,
            key_file,
        })),
        (Some(_), None) => Err(ConfigError::new(
            &key_var,
            "",
            format!("required with {cert_var}"),
        )),
        (None, Some(_)) => Err(ConfigError::new(
            &cert_var,
            "",
            format!("required with {key_var}"),
        )),
    }
}

/// The alerter.
#[derive(Clone, Debug)]
pub struct AlerterConfig {
    pub telemetry: TelemetryConfig,
    pub redis: RedisConfig,
    /// The replicas a dead letter pushed to another node waits for before its removal.
    pub replication: Replication,
    pub db: DbConfig,
    pub identity: WorkerIdentity,
    pub listen_host: IpAddr,
    pub metrics_port: u16,
    pub health_port: u16,
    pub heartbeat_interval: Duration,
    /// The heartbeat's TTL: a worker silent this long is presumed dead.
    pub janitor_timeout: Duration,
    pub max_retries: u32,
    pub pop_timeout: Duration,
    pub batch_size: usize,
    /// Batches in flight at once in one process, so that one batch's database write
    /// overlaps the next batch's decoding.
    pub concurrency: usize,
    pub cache_reload_interval: Duration,
    pub unhandled_threshold: u64,
    pub unhandled_expiry: Duration,
    pub unhandled_default_team: String,
    pub audit_unhandled: bool,
    /// Events kept in `mutt:backtest_sample` for the web UI's backtest; 0 keeps none.
    pub backtest_sample_size: usize,
    /// Alert-queue depth above which a warning is logged (dynamic `alerter_queue_warn_threshold`).
    pub queue_warn_threshold: u64,
    /// Alert-queue depth above which the alerter defers (dynamic `alerter_queue_shed_threshold`).
    pub queue_shed_threshold: u64,
    /// How long one deferral waits (dynamic `alerter_defer_sleep_ms`).
    pub defer_sleep: Duration,
    /// Periodic replay of `mutt:dlq:alerter` (v2.5's remediation service).
    pub remediation: RemediationConfig,
    /// Partition upkeep and retention, run in-process every `retention.interval`.
    pub retention: RetentionConfig,
    pub dynamic_config: DynamicConfigSwitch,
}

impl AlerterConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            telemetry: TelemetryConfig::from_env(env)?,
            redis: RedisConfig::from_env(env, 20)?,
            replication: Replication::from_env(env)?,
            db: DbConfig::from_env(env)?,
            identity: WorkerIdentity::from_env(env, "alerter"),
            listen_host: listen_host(env)?,
            metrics_port: env.port("METRICS_PORT_ALERTER", 8081)?,
            health_port: env.port("HEALTH_PORT_ALERTER", 8082)?,
            heartbeat_interval: env.positive_seconds("ALERTER_HEARTBEAT_INTERVAL", 10.0)?,
            janitor_timeout: env.positive_seconds("ALERTER_JANITOR_TIMEOUT", 30.0)?,
            max_retries: env.parse("ALERTER_MAX_RETRIES", 3)?,
            pop_timeout: env.positive_seconds("BRPOPLPUSH_TIMEOUT", 5.0)?,
            batch_size: env.int_at_least("ALERTER_BATCH_SIZE", 500, 1)?,
            concurrency: env.int_at_least("ALERTER_CONCURRENCY", 2, 1)?,
            cache_reload_interval: env.positive_seconds("CACHE_RELOAD_INTERVAL", 300.0)?,
            unhandled_threshold: env.int_at_least("UNHANDLED_THRESHOLD", 100, 1)?,
            unhandled_expiry: env.positive_seconds("UNHANDLED_EXPIRY_SECONDS", 86_400.0)?,
            unhandled_default_team: env.string("UNHANDLED_DEFAULT_TEAM", "NETO"),
            audit_unhandled: env.bool("AUDIT_UNHANDLED", false)?,
            backtest_sample_size: env.parse("BACKTEST_SAMPLE_SIZE", 50_000)?,
            queue_warn_threshold: env.parse("ALERTER_QUEUE_WARN_THRESHOLD", 1000)?,
            queue_shed_threshold: env.parse("ALERTER_QUEUE_SHED_THRESHOLD", 2000)?,
            defer_sleep: Duration::from_millis(env.parse("ALERTER_DEFER_SLEEP_MS", 250)?),
            remediation: RemediationConfig::from_env(env)?,
            retention: RetentionConfig::from_env(env)?,
            dynamic_config: DynamicConfigSwitch::from_env(env)?,
        })
    }
}

/// DLQ replay (v2.5's remediation service, now a mode of an existing service).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemediationConfig {
    pub enabled: bool,
    pub interval: Duration,
    pub batch_size: usize,
    pub max_poison_retries: u32,
}

impl RemediationConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            enabled: env.bool("REMEDIATION_ENABLED", true)?,
            interval: env.positive_seconds("REMEDIATION_INTERVAL", 300.0)?,
            batch_size: env.int_at_least("REMEDIATION_BATCH_SIZE", 10, 1)?,
            max_poison_retries: env.parse("MAX_POISON_RETRIES", 3)?,
        })
    }
}

/// The Moog forwarder.
#[derive(Clone, Debug)]
pub struct ForwarderConfig {
    pub telemetry: TelemetryConfig,
    pub redis: RedisConfig,
    /// The replicas a dead letter pushed to another node waits for before its removal.
    pub replication: Replication,
    pub identity: WorkerIdentity,
    pub listen_host: IpAddr,
    pub metrics_port: u16,
    pub health_port: u16,
    pub heartbeat_interval: Duration,
    pub janitor_timeout: Duration,
    pub pop_timeout: Duration,
    pub webhook_url: String,
    pub webhook_timeout: Duration,
    /// How a handled alert's Moog `signature` is built (`{hostname}`, `{rule_id}`, `{team}`).
    pub signature_template: String,
    pub moog_api_key: Option<SecretString>,
    pub rate_limit: u64,
    pub rate_period: Duration,
    /// `MOOG_RATE_LIMITER`: the token bucket, or v2.5's sliding log while v2.5 forwarders
    /// share the site.
    pub rate_limiter: crate::rate_limit::MoogLimiterKind,
    pub max_retries: u32,
    pub retry_base_delay: Duration,
    pub retry_max_delay: Duration,
    /// `MOOG_MAX_IN_FLIGHT`: POSTs at once.
    pub max_in_flight: usize,
    /// `MOOG_BATCH_SIZE`: alerts per POST, in the events-array form when more than one.
    pub batch_size: usize,
    /// `MOOG_COALESCE_WINDOW`: alerts of one signature waiting together within this span
    /// of their events' times are sent once (zero: never, v2.5's behaviour).
    pub coalesce_window: Duration,
    pub circuit_breaker_enabled: bool,
    pub circuit_breaker_threshold: u32,
    pub circuit_breaker_timeout: Duration,
    pub dynamic_config: DynamicConfigSwitch,
}

impl ForwarderConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let webhook_url = env.string(
            "MOOG_WEBHOOK_URL",
            "https://moogsoft.example.com/api/v1/events",
        );
        if !(webhook_url.starts_with("http://") || webhook_url.starts_with("https://")) {
            return Err(ConfigError::new(
                "MOOG_WEBHOOK_URL",
                webhook_url,
                "expected an http:// or https:// URL",
            ));
        }
        Ok(Self {
            telemetry: TelemetryConfig::from_env(env)?,
            redis: RedisConfig::from_env(env, 20)?,
            replication: Replication::from_env(env)?,
            identity: WorkerIdentity::from_env(env, "moog-forwarder"),
            listen_host: listen_host(env)?,
            metrics_port: env.port("METRICS_PORT_MOOG", 8083)?,
            health_port: env.port("HEALTH_PORT_MOOG", 8084)?,
            heartbeat_interval: env.positive_seconds("MOOG_HEARTBEAT_INTERVAL", 10.0)?,
            janitor_timeout: env.positive_seconds("MOOG_JANITOR_TIMEOUT", 30.0)?,
            pop_timeout: env.positive_seconds("BRPOPLPUSH_TIMEOUT", 5.0)?,
            webhook_url,
            webhook_timeout: env.positive_seconds("MOOG_WEBHOOK_TIMEOUT", 10.0)?,
            signature_template: env.string("MOOG_SIGNATURE_TEMPLATE", "{hostname}:{rule_id}"),
            moog_api_key: env.secret("MOOG_API_KEY")?,
            rate_limit: env.int_at_least("MOOG_RATE_LIMIT", 50, 1)?,
            rate_period: env.positive_seconds("MOOG_RATE_PERIOD", 1.0)?,
            rate_limiter: env.parse("MOOG_RATE_LIMITER", Default::default())?,
            max_retries: env.parse("MOOG_MAX_RETRIES", 5)?,
            retry_base_delay: env.seconds("MOOG_RETRY_BASE_DELAY", 1.0)?,
            retry_max_delay: env.seconds("MOOG_RETRY_MAX_DELAY", 60.0)?,
            max_in_flight: env.int_at_least("MOOG_MAX_IN_FLIGHT", 64, 1)?,
            batch_size: env.int_at_least("MOOG_BATCH_SIZE", 1, 1)?,
            coalesce_window: env.seconds("MOOG_COALESCE_WINDOW", 0.0)?,
            circuit_breaker_enabled: env.bool("CIRCUIT_BREAKER_ENABLED", true)?,
            circuit_breaker_threshold: env.int_at_least("CIRCUIT_BREAKER_THRESHOLD", 10, 1)?,
            circuit_breaker_timeout: env.positive_seconds("CIRCUIT_BREAKER_TIMEOUT", 300.0)?,
            dynamic_config: DynamicConfigSwitch::from_env(env)?,
        })
    }
}

/// The web UI and management API.
#[derive(Clone, Debug)]
pub struct WebuiConfig {
    pub telemetry: TelemetryConfig,
    pub redis: RedisConfig,
    pub db: DbConfig,
    pub listen_host: IpAddr,
    pub port: u16,
    pub metrics_cache_ttl: Duration,
    /// `PROMETHEUS_URL`: where the SLO report's queries go (v2.5's default).
    pub prometheus_url: String,
    /// `WEBUI_TLS_CERT_FILE` / `WEBUI_TLS_KEY_FILE`: serve HTTPS instead of HTTP.
    pub tls: Option<ServerTls>,
    pub audit_log_page_size: u32,
    pub webui_api_key: Option<SecretString>,
    pub retention: RetentionConfig,
    /// `MAX_POISON_RETRIES` for DLQ replays started by an operator.
    pub remediation: RemediationConfig,
}

impl WebuiConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            telemetry: TelemetryConfig::from_env(env)?,
            redis: RedisConfig::from_env(env, 10)?,
            db: DbConfig::from_env(env)?,
            listen_host: listen_host(env)?,
            port: env.port("SERVER_PORT_WEBUI", 8090)?,
            metrics_cache_ttl: env.seconds("METRICS_CACHE_TTL", 5.0)?,
            prometheus_url: env.string("PROMETHEUS_URL", "http://localhost:9090"),
            tls: server_tls(env, "WEBUI")?,
            audit_log_page_size: env.int_at_least("AUDIT_LOG_PAGE_SIZE", 50, 1)?,
            webui_api_key: env.secret("WEBUI_API_KEY")?,
            retention: RetentionConfig::from_env(env)?,
            remediation: RemediationConfig::from_env(env)?,
        })
    }
}

/// Partition upkeep and retention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionConfig {
    pub precreate_months: u32,
    pub event_retention_days: u32,
    pub archive_retention_years: u32,
    pub config_audit_retention_days: u32,
    pub dlq_retention_days: u32,
    pub enforcement_enabled: bool,
    pub dry_run: bool,
    pub batch_size: u32,
    /// Archive retired audit months into `event_audit_log_archive` (else drop them).
    pub archive_enabled: bool,
    /// How often a service runs partition upkeep and retention in-process.
    pub interval: Duration,
}

impl RetentionConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            precreate_months: env.parse("RETENTION_PRECREATE_MONTHS", 3)?,
            event_retention_days: env.int_at_least("EVENT_RETENTION_DAYS", 90, 1)?,
            archive_retention_years: env.int_at_least("EVENT_ARCHIVE_RETENTION_YEARS", 7, 1)?,
            config_audit_retention_days: env.int_at_least("CONFIG_AUDIT_RETENTION_DAYS", 365, 1)?,
            dlq_retention_days: env.int_at_least("RETENTION_DLQ_DAYS", 30, 1)?,
            enforcement_enabled: env.bool("RETENTION_ENFORCEMENT_ENABLED", true)?,
            dry_run: env.bool("RETENTION_DRY_RUN", false)?,
            batch_size: env.int_at_least("RETENTION_BATCH_SIZE", 1000, 1)?,
            archive_enabled: env.bool("RETENTION_ARCHIVE_ENABLED", true)?,
            interval: env.positive_seconds("RETENTION_INTERVAL", 3600.0)?,
        })
    }
}
