use super::*;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::time::Duration;

fn env(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
    pairs.iter().copied().collect()
}

#[test]
fn every_v25_variable_has_its_v25_default() {
    let empty = env(&[]);
    let e = Env::new(&empty);

    let i = IngestorConfig::from_env(&e).expect("defaults are valid");
    assert_eq!(i.http_port, 8080);
    assert_eq!(i.max_ingest_queue_size, 1_000_000);
    assert_eq!(i.required_fields, ["hostname", "message", "timestamp"]);
    assert!(!i.rate_limit_enabled, "off unless a site turns it on");
    assert_eq!(i.ingest_max_rate, 1000);
    assert_eq!(i.ingest_rate_window, Duration::from_secs(60));
    assert_eq!(
        (i.syslog_udp_port, i.syslog_tcp_port),
        (Some(5514), Some(5514))
    );
    assert_eq!(i.limits.max_body_bytes, 1 << 20);
    assert_eq!(i.limits.max_event_bytes, 64 << 10);
    assert_eq!(i.limits.max_message_bytes, 16 << 10);
    assert_eq!(i.limits.max_batch_events, 10_000);
    assert!(i.ingest_api_key.is_none());
    assert!(!i.dynamic_config.0);

    let r = &i.redis;
    assert_eq!((r.host.as_str(), r.port, r.db), ("localhost", 6379, 0));
    assert!(r.tls_enabled);
    assert_eq!(r.max_connections, 20);
    assert_eq!(r.keys, crate::redis::keys::RedisKeys::default());
    assert_eq!(
        i.telemetry,
        TelemetryConfig {
            log_level: "info".into(),
            log_json: false
        }
    );

    let a = AlerterConfig::from_env(&e).expect("defaults are valid");
    assert_eq!((a.metrics_port, a.health_port), (8081, 8082));
    assert_eq!(a.heartbeat_interval, Duration::from_secs(10));
    assert_eq!(a.janitor_timeout, Duration::from_secs(30));
    assert_eq!(a.max_retries, 3);
    assert_eq!(a.pop_timeout, Duration::from_secs(5));
    assert_eq!(a.cache_reload_interval, Duration::from_secs(300));
    assert_eq!(a.unhandled_threshold, 100);
    assert_eq!(a.unhandled_expiry, Duration::from_secs(86_400));
    assert_eq!(a.unhandled_default_team, "NETO");
    assert!(!a.audit_unhandled);
    assert_eq!(
        (a.queue_warn_threshold, a.queue_shed_threshold),
        (1000, 2000)
    );
    assert_eq!(a.defer_sleep, Duration::from_millis(250));
    assert!(a.identity.pod_name.starts_with("alerter-"));
    let d = &a.db;
    assert_eq!(
        (d.host.as_str(), d.port, d.name.as_str(), d.user.as_str()),
        ("localhost", 5432, "mutt_db", "mutt_user")
    );
    assert!(d.tls_enabled);
    assert_eq!((d.pool_min, d.pool_max), (2, 10));

    let f = ForwarderConfig::from_env(&e).expect("defaults are valid");
    assert_eq!((f.metrics_port, f.health_port), (8083, 8084));
    assert_eq!(f.webhook_url, "https://moogsoft.example.com/api/v1/events");
    assert_eq!(f.webhook_timeout, Duration::from_secs(10));
    assert_eq!(f.rate_limit, 50);
    assert_eq!(f.rate_period, Duration::from_secs(1));
    assert_eq!(f.max_retries, 5);
    assert_eq!(f.retry_base_delay, Duration::from_secs(1));
    assert_eq!(f.retry_max_delay, Duration::from_secs(60));
    assert!(f.circuit_breaker_enabled);
    assert_eq!(f.circuit_breaker_threshold, 10);
    assert_eq!(f.circuit_breaker_timeout, Duration::from_secs(300));
    assert_eq!(f.heartbeat_interval, Duration::from_secs(10));
    assert_eq!(f.janitor_timeout, Duration::from_secs(30));
    assert!(f.identity.pod_name.starts_with("moog-forwarder-"));
    assert_eq!(
        a.remediation,
        RemediationConfig {
            enabled: true,
            interval: Duration::from_secs(300),
            batch_size: 10,
            max_poison_retries: 3
        }
    );

    let w = WebuiConfig::from_env(&e).expect("defaults are valid");
    assert_eq!(w.port, 8090);
    assert_eq!(w.redis.max_connections, 10);
    assert_eq!(w.metrics_cache_ttl, Duration::from_secs(5));
    assert_eq!(w.audit_log_page_size, 50);
    let ret = w.retention;
    assert_eq!(ret.precreate_months, 3);
    assert_eq!(ret.event_retention_days, 90);
    assert_eq!(ret.archive_retention_years, 7);
    assert_eq!(ret.config_audit_retention_days, 365);
    assert_eq!(ret.dlq_retention_days, 30);
    assert!(ret.enforcement_enabled);
    assert!(!ret.dry_run);
    assert_eq!(ret.batch_size, 1000);
}

#[test]
fn v25_overrides_are_honoured() {
    let vars = env(&[
        ("REDIS_HOST", "redis.internal"),
        ("REDIS_TLS_ENABLED", "false"),
        ("INGEST_QUEUE_NAME", "site:ingest"),
        ("MOOG_RATE_LIMIT_KEY", "site:moog_rl"),
        ("REDIS_KEY_PREFIX", "site"),
        ("MOOG_RETRY_BASE_DELAY", "0.25"),
        ("POD_NAME", "alerter-0"),
        ("REQUIRED_FIELDS", " hostname , message "),
        ("LOG_JSON_ENABLED", "yes"),
        ("LOG_LEVEL", "DEBUG"),
        ("DB_PASS", "pw"),
        ("DB_PASS_NEXT", "pw2"),
    ]);
    let e = Env::new(&vars);
    let a = AlerterConfig::from_env(&e).expect("valid");
    assert_eq!(a.redis.host, "redis.internal");
    assert!(!a.redis.tls_enabled);
    assert_eq!(a.redis.keys.ingest_queue, "site:ingest");
    assert_eq!(a.redis.keys.alert_queue, "site:alert_queue");
    assert_eq!(a.redis.keys.moog_rate_limit, "site:moog_rl");
    assert_eq!(a.identity.pod_name, "alerter-0");
    assert_eq!(
        a.db.password.as_ref().map(|s| s.expose_secret().to_owned()),
        Some("pw".into())
    );
    assert_eq!(
        a.db.password_next
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        Some("pw2".into())
    );
    assert_eq!(
        a.telemetry,
        TelemetryConfig {
            log_level: "debug".into(),
            log_json: true
        }
    );
    let f = ForwarderConfig::from_env(&e).expect("valid");
    assert_eq!(f.retry_base_delay, Duration::from_millis(250));
    let i = IngestorConfig::from_env(&e).expect("valid");
    assert_eq!(i.required_fields, ["hostname", "message"]);
}

#[test]
fn a_bad_value_names_the_variable() {
    let cases: &[(&str, &str)] = &[
        ("SERVER_PORT_INGESTOR", "http"),
        ("SERVER_PORT_INGESTOR", "70000"),
        ("MAX_INGEST_QUEUE_SIZE", "10"),
        ("RATE_LIMIT_ENABLED", "treu"),
        ("INGEST_RATE_WINDOW", "-1"),
        ("INGEST_RATE_WINDOW", "0"),
        ("REDIS_PORT", "six"),
        ("LISTEN_HOST", "everywhere"),
        ("REDIS_SENTINEL_HOSTS", "s1:port"),
        ("REDIS_SENTINEL_HOSTS", " , "),
    ];
    for (var, value) in cases {
        let vars = env(&[(var, value)]);
        let err = IngestorConfig::from_env(&Env::new(&vars)).expect_err("must be refused");
        assert_eq!(err.var, *var, "{var}={value}");
        assert!(err.to_string().contains(var), "{err}");
    }
    let vars = env(&[("DB_POOL_MIN_CONN", "5"), ("DB_POOL_MAX_CONN", "2")]);
    let err = AlerterConfig::from_env(&Env::new(&vars)).expect_err("max below min");
    assert_eq!(err.var, "DB_POOL_MAX_CONN");
    let vars = env(&[("MOOG_WEBHOOK_URL", "moog.example.com")]);
    let err = ForwarderConfig::from_env(&Env::new(&vars)).expect_err("not a URL");
    assert_eq!(err.var, "MOOG_WEBHOOK_URL");
}

#[test]
fn secrets_come_from_the_variable_or_from_a_file() {
    let dir = std::env::temp_dir().join(format!("mutt-secret-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("moog");
    std::fs::write(&file, "s3cret\n").expect("write secret");
    let path = file.to_string_lossy().into_owned();
    let vars: HashMap<String, String> = [("MOOG_API_KEY_FILE".to_owned(), path)].into();
    let f = ForwarderConfig::from_env(&Env::new(&vars)).expect("valid");
    assert_eq!(
        f.moog_api_key.map(|s| s.expose_secret().to_owned()),
        Some("s3cret".into())
    );

    let vars: HashMap<String, String> =
        [("MOOG_API_KEY_FILE".to_owned(), "/nonexistent/x".to_owned())].into();
    let err = ForwarderConfig::from_env(&Env::new(&vars)).expect_err("missing file");
    assert_eq!(err.var, "MOOG_API_KEY_FILE");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn sentinels_are_a_list_of_host_port_with_the_sentinel_port_by_default() {
    let vars = env(&[
        ("REDIS_SENTINEL_HOSTS", "s1:26380, s2 ,[::1]:26381"),
        ("REDIS_SENTINEL_MASTER", "mutt-redis"),
    ]);
    let config = IngestorConfig::from_env(&Env::new(&vars)).expect("valid");
    let sentinel = config.redis.sentinel.expect("sentinel config");
    assert_eq!(
        sentinel.hosts,
        vec![
            ("s1".to_owned(), 26380),
            ("s2".to_owned(), 26379),
            ("::1".to_owned(), 26381)
        ]
    );
    assert_eq!(sentinel.master_name, "mutt-redis");
    let plain = IngestorConfig::from_env(&Env::new(&env(&[]))).expect("valid");
    assert!(plain.redis.sentinel.is_none());
}
