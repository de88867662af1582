//! MUTT v2.5's sample rules, development hosts and device teams, for the
//! local stack and demos. Seeding is idempotent and, like every configuration change,
//! audited in `config_audit_log` in the same transaction.

use super::config_audit::{self, ConfigChange};
use super::hosts::{self, TeamMapping};
use super::rules::{self, RuleValues};
use deadpool_postgres::Pool;
use serde_json::{Value, json};

struct SampleRule {
    name: &'static str,
    match_string: Option<&'static str>,
    trap_oid: Option<&'static str>,
    match_type: &'static str,
    priority: i32,
    prod_handling: &'static str,
    dev_handling: &'static str,
    team: &'static str,
}

const fn text(
    name: &'static str,
    s: &'static str,
    priority: i32,
    prod: &'static str,
    dev: &'static str,
    team: &'static str,
) -> SampleRule {
    SampleRule {
        name,
        match_string: Some(s),
        trap_oid: None,
        match_type: "contains",
        priority,
        prod_handling: prod,
        dev_handling: dev,
        team,
    }
}

const RULES: [SampleRule; 5] = [
    text(
        "v2.5 sample: CRITICAL",
        "CRITICAL",
        10,
        "Page_and_ticket",
        "Ticket_only",
        "NETO",
    ),
    text(
        "v2.5 sample: ERROR",
        "ERROR",
        20,
        "Ticket_only",
        "Ignore",
        "NETO",
    ),
    text(
        "v2.5 sample: LINK-DOWN",
        "LINK-DOWN",
        5,
        "Page_and_ticket",
        "Ticket_only",
        "NetOps",
    ),
    text(
        "v2.5 sample: DOT1X-FIRMWARE-RUNNING",
        "DOT1X-FIRMWARE-RUNNING",
        50,
        "Ticket_only",
        "Ignore",
        "Security",
    ),
    SampleRule {
        name: "v2.5 sample: Cisco syslog trap",
        match_string: None,
        trap_oid: Some(".1.3.6.1.4.1.9.9.41.2"),
        match_type: "oid_prefix",
        priority: 15,
        prod_handling: "Page_and_ticket",
        dev_handling: "Ignore",
        team: "NetOps",
    },
];

const DEV_HOSTS: [&str; 3] = ["dev-router1", "test-switch1", "qa-firewall1"];

const TEAMS: [(&str, &str); 4] = [
    ("router1.prod.example.com", "NetOps"),
    ("switch1.prod.example.com", "NetOps"),
    ("firewall1.prod.example.com", "Security"),
    ("server1.prod.example.com", "SysAdmin"),
];

/// How many sample rows were new.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub rules: usize,
    pub dev_hosts: usize,
    pub teams: usize,
}

const CHANGED_BY: &str = "seed";
const REASON: &str = "MUTT v2.5 sample data";

impl SampleRule {
    fn values(&self) -> RuleValues {
        RuleValues {
            name: Some(self.name.into()),
            description: None,
            match_string: self.match_string.map(Into::into),
            trap_oid: self.trap_oid.map(Into::into),
            syslog_severity: None,
            match_type: self.match_type.into(),
            priority: self.priority,
            prod_handling: self.prod_handling.into(),
            dev_handling: self.dev_handling.into(),
            team_assignment: self.team.into(),
            is_active: true,
        }
    }
}

/// The audit row of a sample inserted.
fn created(table_name: &'static str, record_id: i32, values: Value) -> ConfigChange<'static> {
    ConfigChange {
        changed_by: CHANGED_BY,
        operation: "CREATE",
        table_name,
        record_id,
        old_values: None,
        new_values: Some(values),
        reason: Some(REASON),
        correlation_id: None,
    }
}

/// Inserts whatever of the sample data is missing.
pub async fn seed_v25_samples(pool: &Pool) -> Result<SeedReport, super::SchemaError> {
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    let mut report = SeedReport::default();
    for r in &RULES {
        if let Some(id) = rules::insert_unless_named(&tx, &r.values()).await? {
            let values = json!({"name": r.name, "match_string": r.match_string, "trap_oid": r.trap_oid,
                "match_type": r.match_type, "priority": r.priority, "prod_handling": r.prod_handling,
                "dev_handling": r.dev_handling, "team_assignment": r.team, "is_active": true});
            config_audit::record(&tx, &created("alert_rules", id, values)).await?;
            report.rules += 1;
        }
    }
    // Dev hosts and teams are keyed by hostname, not a number; their audit record_id is 0
    // and the hostname is in the values (see docs/compatibility.md).
    for host in DEV_HOSTS {
        if hosts::add_dev_host(&tx, host).await? {
            let values = json!({"hostname": host});
            config_audit::record(&tx, &created("development_hosts", 0, values)).await?;
            report.dev_hosts += 1;
        }
    }
    for (host, team) in TEAMS {
        let mapping = TeamMapping {
            hostname: host.into(),
            team_assignment: team.into(),
        };
        if hosts::add_team(&tx, &mapping).await? {
            let values = json!({"hostname": host, "team_assignment": team});
            config_audit::record(&tx, &created("device_teams", 0, values)).await?;
            report.teams += 1;
        }
    }
    tx.commit().await?;
    Ok(report)
}
