//! docs/configuration.md cannot drift from the code: every variable any service's config
//! reads (recorded by asking `from_env` itself) is documented there, and every variable
//! documented there is read by some service. The Helm chart's `config:` keys are checked
//! against the same document by scripts/check-chart.

use shared::config::{
    AlerterConfig, Env, EnvSource, ForwarderConfig, IngestorConfig, RetentionConfig, WebuiConfig,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// An environment that answers from `values` and remembers every name it was asked for.
struct Recording {
    values: HashMap<&'static str, &'static str>,
    asked: Mutex<BTreeSet<String>>,
}

impl EnvSource for Recording {
    fn var(&self, name: &str) -> Option<String> {
        self.asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned());
        self.values.get(name).map(|v| (*v).to_owned())
    }
}

/// Every variable the four services read.
fn variables_read() -> BTreeSet<String> {
    let env = Recording {
        values: [
            ("MOOG_WEBHOOK_URL", "http://moog.example/api/v1/events"),
            ("MOOG_API_KEY", "k"),
            ("INGEST_API_KEY", "k"),
            ("WEBUI_API_KEY", "k"),
            // Variables read only when this one is set are asked for too.
            ("REDIS_SENTINEL_HOSTS", "s1:26379,s2:26379"),
        ]
        .into(),
        asked: Mutex::default(),
    };
    let read = Env::new(&env);
    IngestorConfig::from_env(&read).expect("ingestor config");
    AlerterConfig::from_env(&read).expect("alerter config");
    ForwarderConfig::from_env(&read).expect("forwarder config");
    WebuiConfig::from_env(&read).expect("webui config");
    RetentionConfig::from_env(&read).expect("retention config");
    env.asked.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// Every `NAME_LIKE_THIS` in backticks in docs/configuration.md (values such as `INFO`
/// have no underscore; every variable name has one).
fn variables_documented() -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
    let text = std::fs::read_to_string(path).expect("docs/configuration.md");
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            t.contains('_')
                && t.starts_with(|c: char| c.is_ascii_uppercase())
                && t.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_variable_a_service_reads_is_documented_and_every_documented_one_is_read() {
    let read = variables_read();
    let documented = variables_documented();
    assert!(read.len() > 50, "recorded only {read:?}");
    assert!(read.iter().all(|n| n.contains('_')), "{read:?}");
    let undocumented: Vec<&String> = read
        .iter()
        .filter(|name| {
            // `<NAME>_FILE` is documented once, as a rule for every secret.
            let base = name.strip_suffix("_FILE").unwrap_or(name);
            !documented.contains(*name) && !documented.contains(base)
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "read by a service but missing from docs/configuration.md: {undocumented:?}"
    );
    let unread: Vec<&String> = documented.iter().filter(|n| !read.contains(*n)).collect();
    assert!(
        unread.is_empty(),
        "documented in docs/configuration.md but read by no service: {unread:?}"
    );
}
