//! The local webhook receiver records requests and answers as told.

use mutt_tools::receiver::{Behaviour, Receiver};
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn the_receiver_records_posts_and_answers_as_told() {
    let receiver = Receiver::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
    let (addr, state) = (receiver.addr, receiver.state.clone());
    let stop = CancellationToken::new();
    let server = tokio::spawn(receiver.run_until(stop.clone()));
    let client = reqwest::Client::new();
    let post = |external_id: &'static str| {
        client
            .post(format!("http://{addr}/api/v1/events"))
            .bearer_auth("k")
            .json(&serde_json::json!({ "external_id": external_id }))
            .send()
    };

    assert_eq!(post("e1").await.expect("post").status(), 200);
    state.set_behaviour(Behaviour {
        status: 429,
        delay_ms: 0,
        retry_after: Some(7),
    });
    let throttled = post("e2").await.expect("post");
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "7");

    let received = state.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].path, "/api/v1/events");
    assert_eq!(received[0].authorization.as_deref(), Some("Bearer k"));
    assert_eq!(received[0].body["external_id"], "e1");
    assert_eq!((received[0].answered, received[1].answered), (200, 429));

    let listed: Vec<serde_json::Value> = client
        .get(format!("http://{addr}/_mock/received"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(listed.len(), 2);
    let count: serde_json::Value = client
        .get(format!("http://{addr}/_mock/count"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(count, serde_json::json!({"received": 2}));
    let not_json = client
        .post(format!("http://{addr}/x"))
        .body("plain text")
        .send()
        .await
        .expect("post");
    assert_eq!(not_json.status(), 429, "still answering as last told");
    assert_eq!(
        state.received()[2].body,
        serde_json::json!({"unparsed": "plain text"})
    );
    stop.cancel();
    server.await.expect("join").expect("clean stop");
}
