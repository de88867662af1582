//! MUTT v2.5's sample rules, development hosts and device teams, for the
//! local stack and demos. Seeding is idempotent and, like every configuration change,
//! audited in `config_audit_log` in the same transaction.

use deadpool_postgres::Pool;
use serde_json::json;

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

/// Inserts whatever of the sample data is missing.
pub async fn seed_v25_samples(pool: &Pool) -> Result<SeedReport, super::SchemaError> {
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    let audit = "INSERT INTO config_audit_log (changed_by, operation, table_name, record_id, new_values, reason) \
                 VALUES ($1, 'CREATE', $2, $3, $4, $5)";
    let mut report = SeedReport::default();
    for r in &RULES {
        let row = tx
            .query_opt(
                "INSERT INTO alert_rules (name, match_string, trap_oid, match_type, priority, prod_handling, dev_handling, team_assignment) \
                 SELECT $1::varchar, $2::varchar, $3::varchar, $4::varchar, $5::int, $6::varchar, $7::varchar, $8::varchar \
                 WHERE NOT EXISTS (SELECT 1 FROM alert_rules WHERE name = $1::varchar) \
                 RETURNING id",
                &[&r.name, &r.match_string, &r.trap_oid, &r.match_type, &r.priority, &r.prod_handling, &r.dev_handling, &r.team],
            )
            .await?;
        if let Some(row) = row {
            let id: i32 = row.get(0);
            let values = json!({"name": r.name, "match_string": r.match_string, "trap_oid": r.trap_oid,
                "match_type": r.match_type, "priority": r.priority, "prod_handling": r.prod_handling,
                "dev_handling": r.dev_handling, "team_assignment": r.team, "is_active": true});
            tx.execute(audit, &[&CHANGED_BY, &"alert_rules", &id, &values, &REASON])
                .await?;
            report.rules += 1;
        }
    }
    // Dev hosts and teams are keyed by hostname, not a number; their audit record_id is 0
    // and the hostname is in the values (see docs/compatibility.md).
    for host in DEV_HOSTS {
        let n = tx
            .execute(
                "INSERT INTO development_hosts (hostname) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&host],
            )
            .await?;
        if n == 1 {
            tx.execute(
                audit,
                &[
                    &CHANGED_BY,
                    &"development_hosts",
                    &0i32,
                    &json!({"hostname": host}),
                    &REASON,
                ],
            )
            .await?;
            report.dev_hosts += 1;
        }
    }
    for (host, team) in TEAMS {
        let n = tx
            .execute(
                "INSERT INTO device_teams (hostname, team_assignment) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&host, &team],
            )
            .await?;
        if n == 1 {
            let values = json!({"hostname": host, "team_assignment": team});
            tx.execute(
                audit,
                &[&CHANGED_BY, &"device_teams", &0i32, &values, &REASON],
            )
            .await?;
            report.teams += 1;
        }
    }
    tx.commit().await?;
    Ok(report)
}
