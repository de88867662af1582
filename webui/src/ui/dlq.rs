//! `/dlq`: the dead-letter queues — depths, the items of one queue (oldest first), and
//! (for admins) replay and purge.

use super::session::Viewer;
use super::{Chrome, Notice, UiResult, field, json_of, ok, outcome, redirect_with, text};
use crate::api;
use crate::state::AppState;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dlq", web::get().to(show))
        .route("/dlq/replay", web::post().to(replay))
        .route("/dlq/purge", web::post().to(purge));
}

/// Items one page shows.
const PAGE: u64 = 25;

#[derive(Deserialize)]
struct Which {
    queue: Option<String>,
    #[serde(default)]
    offset: u64,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "dlq.html")]
struct DlqPage {
    chrome: Chrome,
    /// (name, depth)
    queues: Vec<(String, String)>,
    queue: String,
    depth: u64,
    offset: u64,
    items: Vec<String>,
    previous: Option<u64>,
    next: Option<u64>,
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    which: web::Query<Which>,
) -> UiResult {
    viewer.reading(&req);
    let depths = json_of(api::dlq::depths(req.clone(), state.clone()).await).await?;
    let queue = which.queue.clone().unwrap_or_else(|| "moog".into());
    let page = api::dlq::Page {
        offset: which.offset,
        limit: PAGE,
    };
    let listed = json_of(
        api::dlq::list(
            req.clone(),
            state,
            web::Path::from(queue.clone()),
            web::Query(page),
        )
        .await,
    )
    .await?;
    let depth = listed["depth"].as_u64().unwrap_or_default();
    let notice = Notice {
        notice: which.notice.clone(),
    };
    ok(&DlqPage {
        chrome: Chrome::new(&viewer, "dlq", &notice),
        queues: depths["dlqs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|q| (text(&q["name"]), text(&q["depth"])))
            .collect(),
        queue,
        depth,
        offset: which.offset,
        items: listed["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| serde_json::to_string_pretty(item).unwrap_or_default())
            .collect(),
        previous: (which.offset > 0).then(|| which.offset.saturating_sub(PAGE)),
        next: (which.offset + PAGE < depth).then_some(which.offset + PAGE),
    })
}

async fn replay(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: super::Form,
) -> UiResult {
    viewer.submitting(&req, &form)?;
    let queue = field(&form, "queue").to_owned();
    let mut body = Map::new();
    if form.contains_key("all") {
        body.insert("all".into(), true.into());
    } else {
        let count = field(&form, "count").trim();
        body.insert(
            "count".into(),
            count
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| count.into()),
        );
    }
    let answer = api::dlq::replay(
        req.clone(),
        state,
        web::Path::from(queue.clone()),
        web::Json(body),
    )
    .await;
    let notice = match outcome(answer).await? {
        Ok(done) => format!(
            "Replayed {} from the {queue} DLQ ({} moved to the dead letters after too many tries).",
            text(&done["replayed"]),
            text(&done["dead"])
        ),
        Err(message) => format!("Nothing replayed: {message}"),
    };
    Ok(redirect_with(
        "/dlq",
        &[("queue", &queue), ("notice", &notice)],
    ))
}

async fn purge(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: super::Form,
) -> UiResult {
    viewer.submitting(&req, &form)?;
    let queue = field(&form, "queue").to_owned();
    let answer = api::dlq::purge(req.clone(), state, web::Path::from(queue.clone())).await;
    let notice = match outcome(answer).await? {
        Ok(done) => format!(
            "Purged {} items from the {queue} DLQ.",
            text(&done["purged"])
        ),
        Err(message) => format!("Nothing purged: {message}"),
    };
    Ok(redirect_with(
        "/dlq",
        &[("queue", &queue), ("notice", &notice)],
    ))
}
