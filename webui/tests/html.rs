//! The HTML UI over plain HTTP, without a browser: sign-in and its cookie, CSRF on every
//! form, scopes, pages readable without JavaScript, and refusals that change nothing.
//! (`browser.rs` clicks through the same pages in Chromium.)

mod support;

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, redirect};
use support::{ADMIN_KEY, Ui, answer};

/// A browser without JavaScript: keeps the session cookie, does not follow redirects.
struct Browser {
    http: Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(ui: &Ui) -> Self {
        Self {
            http: Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .expect("client"),
            base: ui.base.clone(),
            cookies: Vec::new(),
        }
    }

    fn keep_cookies(&mut self, response: &Response) {
        for header in response.headers().get_all(SET_COOKIE) {
            let text = header.to_str().expect("ascii cookie");
            let pair = text.split(';').next().expect("name=value");
            let (name, value) = pair.split_once('=').expect("name=value");
            self.cookies.retain(|(n, _)| n != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("get");
        self.keep_cookies(&response);
        (response.status().as_u16(), page_or_location(response).await)
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).expect("form"))
            .send()
            .await
            .expect("post");
        self.keep_cookies(&response);
        (response.status().as_u16(), page_or_location(response).await)
    }

    /// Signs in with `key`; returns the session's CSRF token.
    async fn sign_in(&mut self, key: &str) -> String {
        let (_, form) = self.get("/login").await;
        let token = hidden(&form, "csrf");
        let response = self
            .http
            .post(format!("{}/login", self.base))
            .header(COOKIE, self.cookie_header())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(
                serde_urlencoded::to_string([("csrf", token.as_str()), ("api_key", key)])
                    .expect("form"),
            )
            .send()
            .await
            .expect("post");
        let session = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|h| h.to_str().expect("ascii").to_owned())
            .find(|c| c.starts_with("mutt_session="))
            .expect("a session cookie");
        assert!(
            !session.contains("Secure"),
            "over plain HTTP the cookie cannot be Secure, or browsers would drop it: {session}"
        );
        self.keep_cookies(&response);
        let (status, location) = (response.status().as_u16(), page_or_location(response).await);
        assert_eq!((status, location.as_str()), (303, "/"), "signed in");
        let (status, dashboard) = self.get("/").await;
        assert_eq!(status, 200);
        hidden(&dashboard, "csrf")
    }
}

/// The body of a page, or the target of a redirect.
async fn page_or_location(response: Response) -> String {
    match response.headers().get(LOCATION) {
        Some(location) => location.to_str().expect("ascii").to_owned(),
        None => response.text().await.expect("body"),
    }
}

/// The value of the first hidden input called `name`.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').expect("closing quote")].to_owned()
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_and_only_read_or_admin_keys_may() {
    let ui = Ui::start().await;
    let mut browser = Browser::new(&ui);
    let (status, location) = browser.get("/rules").await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/login"),
        "anonymous → sign in"
    );

    let (_, form) = browser.get("/login").await;
    let mut token = hidden(&form, "csrf");
    for key in ["wrong", ui.ingest_key.as_str(), ""] {
        let (status, page) = browser
            .post("/login", &[("csrf", &token), ("api_key", key)])
            .await;
        assert_eq!(status, 401, "{key}: {page}");
        assert!(page.contains("not a valid key"), "{page}");
        token = hidden(&page, "csrf"); // each form carries a fresh token
    }
    let (status, _) = browser
        .post("/login", &[("csrf", "forged"), ("api_key", ADMIN_KEY)])
        .await;
    assert_eq!(status, 403, "the sign-in form's own token is checked");

    let (_, form) = browser.get("/login").await;
    let token = hidden(&form, "csrf");
    let response = browser
        .http
        .post(format!("{}/login", ui.base))
        .header(COOKIE, browser.cookie_header())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("X-Forwarded-Proto", "https")
        .body(
            serde_urlencoded::to_string([("csrf", token.as_str()), ("api_key", ADMIN_KEY)])
                .expect("form"),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 303);
    let session = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|h| h.to_str().expect("ascii").to_owned())
        .find(|c| c.starts_with("mutt_session="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(session.contains(flag), "{flag} missing: {session}");
    }
    let (status, page) = Browser::new(&ui).get("/").await;
    assert_eq!(
        (status, page.as_str()),
        (303, "/login"),
        "no cookie, no session"
    );
    ui.stop().await;
}

#[tokio::test]
async fn v25_bookmarks_with_the_key_in_the_query_sign_in_and_drop_the_key() {
    let ui = Ui::start().await;
    for path in ["/", "/audit"] {
        let mut browser = Browser::new(&ui);
        let (status, location) = browser.get(&format!("{path}?api_key={ADMIN_KEY}")).await;
        assert_eq!(
            (status, location.as_str()),
            (303, path),
            "the key leaves the URL"
        );
        let (status, page) = browser.get(path).await;
        assert_eq!(status, 200, "signed in by the bookmark: {page}");
        assert!(page.contains("webui-api-key"));

        let mut stranger = Browser::new(&ui);
        let (status, location) = stranger.get(&format!("{path}?api_key=wrong")).await;
        assert_eq!((status, location.as_str()), (303, "/login"));
        let (status, location) = stranger
            .get(&format!("{path}?api_key={}", ui.ingest_key))
            .await;
        assert_eq!(
            (status, location.as_str()),
            (303, "/login"),
            "an ingest key cannot read"
        );
    }
    ui.stop().await;
}

#[tokio::test]
async fn every_page_reads_without_javascript_and_a_form_without_its_token_changes_nothing() {
    let ui = Ui::start().await;
    let mut browser = Browser::new(&ui);
    let csrf = browser.sign_in(ADMIN_KEY).await;
    for path in [
        "/",
        "/rules",
        "/rules/new",
        "/rules/test",
        "/hosts",
        "/silences",
        "/rules/file",
        "/audit-logs?silence_id=1",
        "/audit-logs",
        "/audit-logs?hostname=router1&rule_id=&page=1",
        "/audit",
        "/audit?operation=&table_name=alert_rules",
        "/config",
        "/dlq",
        "/dlq?queue=dead",
    ] {
        let (status, page) = browser.get(path).await;
        assert_eq!(status, 200, "{path}: {page}");
        assert!(!page.contains("<script"), "{path} needs no script");
        assert!(page.contains("</html>"), "{path} is a whole page");
    }
    let (status, page) = browser.get("/rules").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("v2.5 sample: CRITICAL"),
        "the sample rules are listed"
    );

    let rules_before = ui.count("SELECT count(*) FROM alert_rules").await;
    let audit_before = ui.count("SELECT count(*) FROM config_audit_log").await;
    let rule = [
        ("name", "no token"),
        ("match_type", "contains"),
        ("match_string", "X"),
        ("priority", "1"),
        ("prod_handling", "Ignore"),
        ("dev_handling", "Ignore"),
        ("team_assignment", "T"),
    ];
    for forged in ["", "forged"] {
        let mut form = rule.to_vec();
        form.push(("csrf", forged));
        let (status, page) = browser.post("/rules", &form).await;
        assert_eq!(status, 403, "{page}");
        assert!(
            page.contains("stale or did not come from this site"),
            "{page}"
        );
        let (status, _) = browser
            .post(
                "/hosts/dev",
                &[("csrf", forged), ("hostname", "forged-host")],
            )
            .await;
        assert_eq!(status, 403);
    }
    assert_eq!(
        ui.count("SELECT count(*) FROM alert_rules").await,
        rules_before
    );
    assert_eq!(
        ui.count("SELECT count(*) FROM config_audit_log").await,
        audit_before
    );

    // The same form with the token: created, audited as the signed-in key.
    let mut form = rule.to_vec();
    form.push(("csrf", &csrf));
    let (status, location) = browser.post("/rules", &form).await;
    assert_eq!(status, 303);
    assert!(location.starts_with("/rules?notice=Rule+"), "{location}");
    assert_eq!(
        ui.count("SELECT count(*) FROM alert_rules").await,
        rules_before + 1
    );
    assert_eq!(
        ui.count(
            "SELECT count(*) FROM config_audit_log WHERE changed_by = 'webui-api-key' \
             AND operation = 'CREATE' AND table_name = 'alert_rules'"
        )
        .await,
        1
    );

    // Signed out, the old cookie is worth nothing.
    let old = browser.cookie_header();
    let (status, _) = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(status, 303);
    let response = browser
        .http
        .get(format!("{}/rules", ui.base))
        .header(COOKIE, old)
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 303);
    ui.stop().await;
}

#[tokio::test]
async fn refused_input_shows_the_reason_and_stores_nothing() {
    let ui = Ui::start().await;
    let mut browser = Browser::new(&ui);
    let csrf = browser.sign_in(ADMIN_KEY).await;
    let rules_before = ui.count("SELECT count(*) FROM alert_rules").await;
    let base = [
        ("csrf", csrf.as_str()),
        ("name", "bad"),
        ("prod_handling", "Ignore"),
        ("dev_handling", "Ignore"),
        ("team_assignment", "T"),
    ];
    for (extra, says) in [
        (
            vec![
                ("match_type", "regex"),
                ("match_string", "a(b"),
                ("priority", "1"),
            ],
            "regex",
        ),
        (
            vec![
                ("match_type", "contains"),
                ("match_string", "x"),
                ("priority", "soon"),
            ],
            "priority",
        ),
        (
            vec![
                ("match_type", "glob"),
                ("match_string", "x"),
                ("priority", "1"),
            ],
            "match_type",
        ),
        (
            vec![("match_type", "contains"), ("priority", "1")],
            "match_string or trap_oid",
        ),
    ] {
        let mut form = base.to_vec();
        form.extend(extra);
        let (status, page) = browser.post("/rules", &form).await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains(says), "the page names {says}: {page}");
        assert!(page.contains("value=\"bad\""), "what was typed is kept");
    }
    assert_eq!(
        ui.count("SELECT count(*) FROM alert_rules").await,
        rules_before
    );

    let (status, page) = browser
        .post("/rules/test", &[("csrf", &csrf), ("event", "{not json")])
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("not valid JSON"), "{page}");
    let (status, location) = browser
        .post(
            "/config",
            &[("csrf", &csrf), ("key", "NOPE"), ("value", "1")],
        )
        .await;
    assert_eq!(status, 303);
    assert!(location.contains("unknown+configuration+key"), "{location}");
    let (status, page) = browser.get("/rules/999999").await;
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("Rule not found"));
    ui.stop().await;
}

#[tokio::test]
async fn a_read_only_key_sees_no_write_controls_and_cannot_post_changes() {
    let ui = Ui::start().await;
    let mut browser = Browser::new(&ui);
    let csrf = browser.sign_in(&ui.read_key).await;
    for path in ["/rules", "/hosts", "/config", "/dlq"] {
        let (status, page) = browser.get(path).await;
        assert_eq!(status, 200);
        assert!(page.contains("(read only)"));
        for control in [
            "method=\"post\" action=\"/rules",
            "action=\"/hosts/",
            "action=\"/config\"",
            "action=\"/dlq/",
        ] {
            assert!(!page.contains(control), "{path} shows {control}");
        }
    }
    let hosts_before = ui.count("SELECT count(*) FROM development_hosts").await;
    let (status, page) = browser
        .post("/hosts/dev", &[("csrf", &csrf), ("hostname", "sneaky")])
        .await;
    assert_eq!(status, 303);
    assert!(page.contains("lacks+the+admin+scope"), "{page}");
    assert_eq!(
        ui.count("SELECT count(*) FROM development_hosts").await,
        hosts_before
    );
    let (status, page) = browser.post("/rules/1/delete", &[("csrf", &csrf)]).await;
    assert_eq!(status, 303);
    assert!(page.contains("lacks+the+admin+scope"), "{page}");
    assert_eq!(
        ui.count("SELECT count(*) FROM alert_rules WHERE id = 1")
            .await,
        1
    );
    // Testing an event only reads, so a read key may.
    let (status, page) = browser
        .post(
            "/rules/test",
            &[
                ("csrf", &csrf),
                (
                    "event",
                    r#"{"hostname": "h", "message": "LINK-DOWN on port 1"}"#,
                ),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Matches rule"), "{page}");
    ui.stop().await;
}

#[tokio::test]
async fn revoking_a_key_ends_its_sessions_and_the_keys_page_shows_a_new_key_once() {
    let ui = Ui::start().await;
    let mut admin = Browser::new(&ui);
    let csrf = admin.sign_in(ADMIN_KEY).await;
    let (status, made) = admin
        .post(
            "/keys/create",
            &[
                ("csrf", csrf.as_str()),
                ("name", "night-shift"),
                ("scopes", "read"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let key = made
        .split("<code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the new key on the page")
        .to_owned();
    assert!(key.starts_with("mutt_"), "{key}");
    let (_, listed) = admin.get("/keys").await;
    assert!(
        listed.contains("night-shift") && !listed.contains(&key),
        "shown once only"
    );

    // An operator signs in with it; once it is revoked, their next page asks to sign in.
    let mut operator = Browser::new(&ui);
    operator.sign_in(&key).await;
    assert_eq!(operator.get("/rules").await.0, 200);
    let (status, _) = admin
        .post(
            "/keys/revoke",
            &[("csrf", csrf.as_str()), ("name", "night-shift")],
        )
        .await;
    assert_eq!(status, 303);
    let (status, location) = operator.get("/rules").await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/login"),
        "the session ended"
    );
    ui.stop().await;
}

#[tokio::test]
async fn over_https_the_web_ui_answers_curl_and_its_cookies_are_secure() {
    let certs = shared::testing::TestCerts::make();
    let (cert, key) = (
        certs.server.cert_file.display().to_string(),
        certs.server.key_file.display().to_string(),
    );
    let ui = Ui::start_with(&[("WEBUI_TLS_CERT_FILE", &cert), ("WEBUI_TLS_KEY_FILE", &key)]).await;
    let https = ui.base.replace("http://", "https://");
    let curl = |args: &[&str]| {
        let output = std::process::Command::new("curl")
            .args(["-sS", "-i", "--max-time", "5", "--cacert"])
            .arg(&certs.ca_file)
            .args(args)
            .output()
            .expect("curl");
        assert!(output.status.success(), "curl {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let login = curl(&[&format!("{https}/login")]);
    assert!(
        login.starts_with("HTTP/1.1 200") || login.starts_with("HTTP/2 200"),
        "{login}"
    );
    let cookie = login
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: mutt_login_csrf=")
        })
        .expect("the sign-in form's cookie");
    assert!(
        cookie.contains("Secure"),
        "over HTTPS the cookie is Secure: {cookie}"
    );
    let version = curl(&[
        "-H",
        &format!("X-API-KEY: {ADMIN_KEY}"),
        &format!("{https}/api/v2/version"),
    ]);
    assert!(version.contains("200"), "{version}");
    ui.stop().await;
}

#[tokio::test]
async fn silences_are_made_extended_expired_and_deleted_from_the_page() {
    let ui = Ui::start().await;
    let mut browser = Browser::new(&ui);
    let csrf = browser.sign_in(ADMIN_KEY).await;
    let (status, location) = browser
        .post(
            "/silences/create",
            &[
                ("csrf", &csrf),
                ("hostname", "core-rtr-*"),
                ("team", ""),
                ("rule_id", ""),
                ("message_regex", ""),
                ("starts_at", ""),
                ("duration_minutes", "90"),
                ("reason", "CHG-7"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert!(location.contains("Silence+1+made"), "{location}");
    let (_, page) = browser.get("/silences").await;
    let active = page
        .split("id=\"silences-upcoming\"")
        .next()
        .expect("the active table comes first");
    assert!(
        active.contains("core-rtr-*") && active.contains("CHG-7"),
        "{page}"
    );

    // A refusal is said, nothing is stored.
    let (status, location) = browser
        .post(
            "/silences/create",
            &[("csrf", &csrf), ("duration_minutes", "x"), ("reason", "r")],
        )
        .await;
    assert_eq!(status, 303);
    assert!(location.contains("Not+made"), "{location}");
    assert_eq!(ui.count("SELECT count(*) FROM silences").await, 1);

    let (status, location) = browser
        .post(
            "/silences/1/extend",
            &[("csrf", &csrf), ("by_minutes", "30")],
        )
        .await;
    assert_eq!(status, 303);
    assert!(location.contains("now+ends"), "{location}");
    assert_eq!(
        ui.count(
            "SELECT extract(epoch FROM ends_at - starts_at)::bigint FROM silences WHERE id = 1"
        )
        .await,
        120 * 60
    );
    let (status, location) = browser.post("/silences/1/expire", &[("csrf", &csrf)]).await;
    assert_eq!(status, 303);
    assert!(location.contains("expired"), "{location}");
    let (_, page) = browser.get("/silences").await;
    let expired = page
        .split("id=\"silences-expired\"")
        .nth(1)
        .expect("the expired table");
    assert!(expired.contains("core-rtr-*"), "{page}");
    let (status, _) = browser.post("/silences/1/delete", &[("csrf", &csrf)]).await;
    assert_eq!(status, 303);
    assert_eq!(ui.count("SELECT count(*) FROM silences").await, 0);
    assert_eq!(
        ui.count("SELECT count(*) FROM config_audit_log WHERE table_name = 'silences'")
            .await,
        4
    );
    ui.stop().await;
}

#[tokio::test]
async fn the_rules_file_is_reviewed_backtested_and_applied_from_the_page() {
    let ui = Ui::start().await;
    let mut browser = Browser::new(&ui);
    let csrf = browser.sign_in(ADMIN_KEY).await;
    let (status, page) = browser.get("/rules/file").await;
    assert_eq!(status, 200);
    let file = page
        .split("spellcheck=\"false\">")
        .nth(1)
        .and_then(|rest| rest.split("</textarea>").next())
        .expect("the textarea")
        .replace("&quot;", "\"")
        .replace("&#x22;", "\"")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
        .replace("&#x27;", "'")
        .replace("&#39;", "'");
    assert!(file.contains("rules:"), "{file}");
    let edited = file.replacen("priority: 10\n", "priority: 11\n", 1);
    let (status, review) = browser
        .post(
            "/rules/file",
            &[("csrf", &csrf), ("file", &edited), ("action", "review")],
        )
        .await;
    assert_eq!(status, 200, "{review}");
    assert!(review.contains("id=\"review-result\""), "{review}");
    assert!(review.contains("priority: 10 → 11"), "{review}");
    let (status, tested) = browser
        .post(
            "/rules/file",
            &[("csrf", &csrf), ("file", &edited), ("action", "backtest")],
        )
        .await;
    assert_eq!(status, 200, "{tested}");
    assert!(tested.contains("id=\"backtest-result\""), "{tested}");
    let (status, refused) = browser
        .post(
            "/rules/file",
            &[
                ("csrf", &csrf),
                ("file", "rules:\n  - name: x\n"),
                ("action", "apply"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert!(refused.contains("line 2"), "{refused}");
    let before = ui
        .count("SELECT count(*) FROM config_audit_log WHERE changed_by <> 'seed'")
        .await;
    assert_eq!(before, 0);
    let (status, location) = browser
        .post(
            "/rules/file",
            &[
                ("csrf", &csrf),
                ("file", &edited),
                ("action", "apply"),
                ("reason", "from the page"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{location}");
    assert!(location.contains("1+changed"), "{location}");
    assert_eq!(
        ui.count(
            "SELECT count(*) FROM config_audit_log WHERE reason = 'from the page' \
             AND table_name = 'alert_rules'"
        )
        .await,
        1
    );
    ui.stop().await;
}

#[tokio::test]
async fn the_dashboard_draws_its_charts_and_shows_silences_and_storm_control() {
    let ui = Ui::start().await;
    let mut redis = ui.redis.conn().await;
    let minute = chrono::Utc::now() - chrono::Duration::minutes(2);
    for (kind, n) in [
        ("audited", 120),
        ("delivered", 90),
        ("coalesced", 7),
        ("rejected", 3),
    ] {
        let _: () = redis::cmd("SET")
            .arg(ui.redis.keys.activity(kind, minute))
            .arg(n)
            .query_async(&mut redis)
            .await
            .expect("SET");
    }
    let _: () = redis::cmd("SET")
        .arg(ui.redis.keys.dashboard_depths(minute))
        .arg(r#"{"ingest_queue":40,"alert_queue":5,"moog_retry":0,"dlq_alerter":1,"dlq_moog":2,"dlq_dead":0}"#)
        .query_async(&mut redis)
        .await
        .expect("SET");
    // The web UI samples this minute's depths itself, at start and every 20 s.
    let now_key = ui.redis.keys.dashboard_depths(chrono::Utc::now());
    let before_key = ui
        .redis
        .keys
        .dashboard_depths(chrono::Utc::now() - chrono::Duration::minutes(1));
    shared::testing::eventually(
        std::time::Duration::from_secs(5),
        "this minute's depths sampled",
        || async {
            let mut redis = ui.redis.conn().await;
            let found: i64 = redis::cmd("EXISTS")
                .arg(&now_key)
                .arg(&before_key)
                .query_async(&mut redis)
                .await
                .expect("EXISTS");
            (found > 0).then_some(())
        },
    )
    .await;
    let (status, made) = answer(
        ui.admin(reqwest::Method::POST, "/api/v2/silences")
            .json(&serde_json::json!({"hostname": "core-*", "duration_seconds": 600, "reason": "CHG-1"}))
            .send()
            .await
            .expect("silence"),
    )
    .await;
    assert_eq!(status, 201, "{made}");

    let mut browser = Browser::new(&ui);
    browser.sign_in(ADMIN_KEY).await;
    let (status, page) = browser.get("/").await;
    assert_eq!(status, 200);
    for id in ["chart-24h", "chart-depths", "chart-activity"] {
        assert!(
            page.contains(&format!("<svg class=\"chart\" id=\"{id}\"")),
            "{id}: {page}"
        );
    }
    assert_eq!(
        page.matches("<rect class=\"bar\"").count(),
        24,
        "one bar an hour"
    );
    assert!(page.matches("<polyline").count() >= 6, "{page}");
    // The axes end at round numbers above the largest value: 120 audited → 200, an
    // ingest queue of 40 → 50.
    let chart = |id: &str| {
        page.split(&format!("id=\"{id}\""))
            .nth(1)
            .and_then(|rest| rest.split("</svg>").next())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(chart("chart-activity").contains(">200</text>"), "{page}");
    assert!(chart("chart-depths").contains(">50</text>"), "{page}");
    assert!(page.contains("1 active, 0 upcoming"), "{page}");
    assert!(page.contains("host core-*"), "{page}");
    assert!(
        page.contains("Folded 7 alerts into others of their signature in the last 15 minutes, 7 in the last hour"),
        "{page}"
    );
    assert!(!page.contains("<script"));
    ui.stop().await;
}

#[tokio::test]
async fn an_uploaded_rules_file_is_reviewed_and_changes_nothing() {
    let ui = Ui::start().await;
    let mut browser = Browser::new(&ui);
    let csrf = browser.sign_in(ADMIN_KEY).await;
    let post = |token: String, file: &'static str| {
        let boundary = "mutt-test-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rules.yaml\"\r\n\
             Content-Type: application/yaml\r\n\r\n{file}\r\n--{boundary}--\r\n"
        );
        browser
            .http
            .post(format!("{}/rules/file/upload", ui.base))
            .header(COOKIE, browser.cookie_header())
            .header(
                CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
    };
    let rules = ui.count("SELECT count(*) FROM alert_rules").await;
    let response = post(
        csrf.clone(),
        "rules:\n  - name: uploaded\n    match_string: UP\n    prod_handling: P\n    dev_handling: D\n    team_assignment: T\n",
    )
    .await
    .expect("upload");
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("page");
    assert!(page.contains("An import would create 1"), "{page}");
    assert!(
        page.contains("match_string: UP"),
        "the file is in the editor: {page}"
    );
    let refused = post(csrf.clone(), "rules:\n  - name: x\n")
        .await
        .expect("upload");
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.expect("page").contains("line 2"));
    let forged = post("forged".into(), "rules: []\n").await.expect("upload");
    assert_eq!(forged.status(), 403);
    assert_eq!(ui.count("SELECT count(*) FROM alert_rules").await, rules);
    ui.stop().await;
}
