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
        retry_after: Some(7),
        ..Behaviour::default()
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
    assert_eq!(count, serde_json::json!({"received": 2, "requests": 2}));
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

    // A batch is one request and an arrival per event; a refused event refuses its batch.
    state.clear();
    state.set_behaviour(Behaviour {
        refuse_containing: Some("poison".into()),
        ..Behaviour::default()
    });
    let batch = |ids: &[&str]| {
        let events: Vec<_> = ids
            .iter()
            .map(|id| serde_json::json!({ "external_id": id }))
            .collect();
        client
            .post(format!("http://{addr}/api/v1/events"))
            .json(&serde_json::json!({ "events": events }))
            .send()
    };
    assert_eq!(
        batch(&["b1", "b2", "b3"]).await.expect("post").status(),
        200
    );
    assert_eq!(batch(&["b4", "poison"]).await.expect("post").status(), 400);
    let received = state.received();
    let ids: Vec<_> = received
        .iter()
        .map(|r| (r.body["external_id"].as_str().expect("id"), r.answered))
        .collect();
    assert_eq!(
        ids,
        [
            ("b1", 200),
            ("b2", 200),
            ("b3", 200),
            ("b4", 400),
            ("poison", 400)
        ]
    );
    assert_eq!((state.count(), state.requests()), (5, 2));
    stop.cancel();
    server.await.expect("join").expect("clean stop");
}
