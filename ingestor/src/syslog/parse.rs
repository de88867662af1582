//! One syslog line → one event object: `hostname`, `timestamp`, `message`,
//! `syslog_severity`, `facility`, `app_name`, `source: "syslog"`, `source_ip`.

use chrono::{DateTime, Datelike, Utc};
use serde_json::{Map, Value};
use std::net::IpAddr;
use syslog_loose::{Protocol, Variant, parse_message_with_year_tz};

/// Facility names by number (RFC 5424 table 1, as syslog_loose names them).
const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clockd", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// `<PRI>rest` → (PRI, rest) when PRI is a valid priority (0–191).
fn split_pri(line: &str) -> Option<(Option<u8>, &str)> {
    let rest = line.strip_prefix('<')?;
    let end = rest.find('>')?;
    let pri: u8 = rest[..end].parse().ok().filter(|p| *p <= 191 && end <= 3)?;
    Some((Some(pri), &rest[end + 1..]))
}

/// The event for `line`, received from `peer` at `now`; `None` only for a blank line.
///
/// Whatever cannot be parsed is kept: syslog_loose returns the whole line as the message
/// when it recognises no header, the peer's address stands in for a missing hostname and
/// the receive time for a missing timestamp.
pub fn line_to_event(line: &str, peer: IpAddr, now: DateTime<Utc>) -> Option<Value> {
    let line = line.trim_end_matches(['\r', '\n', '\0']);
    if line.trim().is_empty() {
        return None;
    }
    // RFC 3164 dates have no year: take this year, or last year for a date in a later
    // month (a December message read in January).
    let year = |(month, ..): syslog_loose::IncompleteDate| {
        if month > now.month() {
            now.year() - 1
        } else {
            now.year()
        }
    };
    let parsed = parse_message_with_year_tz(line, year, Some(Utc), Variant::Either);
    let mut event = Map::new();
    if parsed.facility.is_none() {
        // No header was recognised; a bare `<PRI>text`, which some devices send, still
        // carries its severity and facility.
        let (pri, text) = split_pri(line).unwrap_or((None, line));
        event.insert("hostname".into(), peer.to_string().into());
        event.insert("timestamp".into(), now.to_rfc3339().into());
        event.insert(
            "message".into(),
            if text.trim().is_empty() {
                line.trim()
            } else {
                text.trim()
            }
            .into(),
        );
        if let Some(pri) = pri {
            event.insert("syslog_severity".into(), (pri % 8).into());
            if let Some(name) = FACILITIES.get(usize::from(pri / 8)) {
                event.insert("facility".into(), (*name).into());
            }
        }
    } else {
        let hostname = parsed
            .hostname
            .filter(|h| !h.trim().is_empty() && *h != "-")
            .map(str::to_owned);
        event.insert(
            "hostname".into(),
            hostname.unwrap_or_else(|| peer.to_string()).into(),
        );
        let timestamp = parsed
            .timestamp
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        event.insert("timestamp".into(), timestamp.to_rfc3339().into());
        let message = parsed.msg.trim();
        let message = if message.is_empty() {
            line.trim().to_owned()
        } else {
            message.to_owned()
        };
        let app = parsed.appname.filter(|a| *a != "-");
        // A Cisco mnemonic (`%LINK-3-UPDOWN`) sits where RFC 3164 puts the program name,
        // but it is what operators match rules on: keep it in the message.
        let message = match app {
            Some(tag) if parsed.protocol == Protocol::RFC3164 && tag.starts_with('%') => {
                format!("{tag}: {message}")
            }
            _ => message,
        };
        event.insert("message".into(), message.into());
        if let Some(severity) = parsed.severity {
            event.insert("syslog_severity".into(), (severity as u8).into());
        }
        if let Some(facility) = parsed.facility {
            event.insert("facility".into(), facility.as_str().into());
        }
        if let Some(app) = app {
            event.insert("app_name".into(), app.into());
        }
    }
    event.insert("source".into(), "syslog".into());
    event.insert("source_ip".into(), peer.to_string().into());
    Some(Value::Object(event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0)
            .single()
            .expect("valid")
    }

    fn peer() -> IpAddr {
        IpAddr::from([10, 1, 2, 3])
    }

    #[test]
    fn rfc3164_as_logger_and_cisco_send_it() {
        let e = line_to_event(
            "<189>Dec 31 23:59:58 core-rtr1 %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
            peer(),
            at(),
        )
        .expect("event");
        assert_eq!(e["hostname"], "core-rtr1");
        assert_eq!(e["syslog_severity"], 5);
        assert_eq!(e["facility"], "local7");
        assert_eq!(
            e["timestamp"], "2025-12-31T23:59:58+00:00",
            "December read in January is last year"
        );
        assert_eq!(
            e["message"], "%LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
            "mnemonic kept"
        );
        assert_eq!(e["source"], "syslog");
        assert_eq!(e["source_ip"], "10.1.2.3");
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let line = r#"<165>1 2026-01-05T11:59:00.123Z fw1.example.com sshd 4242 ID47 [exampleSDID@32473 iut="3"] Failed password for root"#;
        let e = line_to_event(line, peer(), at()).expect("event");
        assert_eq!(e["hostname"], "fw1.example.com");
        assert_eq!(e["app_name"], "sshd");
        assert_eq!(e["syslog_severity"], 5);
        assert_eq!(e["facility"], "local4");
        assert_eq!(e["timestamp"], "2026-01-05T11:59:00.123+00:00");
        assert_eq!(e["message"], "Failed password for root");
    }

    #[test]
    fn an_unparsable_line_is_kept_whole_with_the_peer_as_hostname() {
        let e = line_to_event("\u{1}\u{2} garbage ]]] <<", peer(), at()).expect("event");
        assert_eq!(e["message"], "\u{1}\u{2} garbage ]]] <<");
        assert_eq!(e["hostname"], "10.1.2.3");
        assert_eq!(e["timestamp"], at().to_rfc3339());
        assert_eq!(line_to_event(" \r\n", peer(), at()), None);
        assert_eq!(
            line_to_event("<13>", peer(), at()).map(|e| e["message"].clone()),
            Some(json!("<13>"))
        );
        let bare = line_to_event("<13>held back", peer(), at()).expect("event");
        assert_eq!(
            (
                bare["message"].clone(),
                bare["syslog_severity"].clone(),
                bare["facility"].clone()
            ),
            (json!("held back"), json!(5), json!("user"))
        );
        assert_eq!(
            line_to_event("<999>x", peer(), at()).map(|e| e["message"].clone()),
            Some(json!("<999>x"))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_an_event_with_a_message_never_a_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let text = String::from_utf8_lossy(&bytes);
            if let Some(event) = line_to_event(&text, peer(), at()) {
                proptest::prop_assert!(event["message"].as_str().is_some_and(|m| !m.trim().is_empty()));
                proptest::prop_assert!(event["hostname"].as_str().is_some_and(|h| !h.is_empty()));
            }
        }
    }
}
