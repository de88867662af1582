//! `/dlq`: the dead-letter queues — depths, the items of one queue (oldest first), and
//! (for admins) replay and purge.

use super::session::Viewer;
use super::{Chrome, Notice, UiResult, field, ok, outcome, redirect_with};
use crate::error::ApiError;
use crate::service::AppState;
use crate::service::dlq;
use crate::service::fields::Fields;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

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

async fn show(state: web::Data<AppState>, viewer: Viewer, which: web::Query<Which>) -> UiResult {
    let depths = dlq::depths(&state).await?;
    let queue = which.queue.clone().unwrap_or_else(|| "moog".into());
    let listing = dlq::items(&state, dlq::queue(&queue)?, which.offset, PAGE).await?;
    let notice = Notice {
        notice: which.notice.clone(),
    };
    ok(&DlqPage {
        chrome: Chrome::new(&viewer, "dlq", &notice),
        queues: depths
            .iter()
            .map(|q| (q.name.to_owned(), q.depth.to_string()))
            .collect(),
        queue,
        depth: listing.depth,
        offset: which.offset,
        items: listing
            .items
            .iter()
            .map(|item| serde_json::to_string_pretty(item).unwrap_or_default())
            .collect(),
        previous: (which.offset > 0).then(|| which.offset.saturating_sub(PAGE)),
        next: (which.offset + PAGE < listing.depth).then_some(which.offset + PAGE),
    })
}

/// The replay form as the service reads a replay request: `all`, or `count` (a number
/// where it parses, else the text, so that the service names what is wrong).
fn replay_fields(form: &std::collections::HashMap<String, String>) -> Result<Fields, ApiError> {
    let mut body = serde_json::Map::new();
    if form.contains_key("all") {
        body.insert("all".into(), true.into());
    } else {
        let count = field(form, "count").trim();
        body.insert(
            "count".into(),
            count
                .parse::<i64>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| count.into()),
        );
    }
    Fields::new(body, &["count", "all"])
}

async fn replay(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: super::Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let queue = field(&form, "queue").to_owned();
    let answer = async {
        dlq::replay(
            &state,
            &caller,
            dlq::queue(&queue)?,
            dlq::replay_count(&replay_fields(&form)?)?,
        )
        .await
    }
    .await;
    let notice = match outcome(answer)? {
        Ok(done) => format!(
            "Replayed {} from the {queue} DLQ ({} moved to the dead letters after too many tries).",
            done.replayed, done.dead
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
    let caller = viewer.submitting(&req, &form)?;
    let queue = field(&form, "queue").to_owned();
    let answer = async { dlq::purge(&state, &caller, dlq::queue(&queue)?).await }.await;
    let notice = match outcome(answer)? {
        Ok(purged) => format!("Purged {purged} items from the {queue} DLQ."),
        Err(message) => format!("Nothing purged: {message}"),
    };
    Ok(redirect_with(
        "/dlq",
        &[("queue", &queue), ("notice", &notice)],
    ))
}
