//! The connection every service holds: to one Redis (directly or through Sentinel), or to a
//! Redis Cluster. Code that talks to Redis is written once, against this type, and runs on
//! both.
//!
//! One difference needs care. On a cluster, the redis crate sends a whole pipeline to the
//! node of its first key and the node refuses it if another key lives elsewhere. Our
//! pipelines are batches of independent commands (counters, gauges, depths), so a
//! non-transactional pipeline is split here by slot: each slot's commands go to its node as
//! one pipeline, and the replies are put back in order. A keyless `WAIT` goes with the
//! commands before it, since it waits for that connection's writes. Transactions (`MULTI`)
//! and scripts are never split: their keys share a slot by design (see
//! [`crate::redis::keys::RedisKeys::laid_out`]).

use super::slots::slot;
use futures_util::FutureExt;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, SingleNodeRoutingInfo, SlotAddr};
use redis::{Arg, Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// A connection to one Redis or to a Redis Cluster. Cloning shares it.
#[derive(Clone)]
pub enum RedisConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl RedisConn {
    /// Sends `cmd` to the primary that holds `key`'s slot (on one Redis, to that Redis):
    /// for the commands that name no key but must reach a given shard, such as `SCAN`.
    pub async fn query_beside<T: redis::FromRedisValue>(
        &mut self,
        key: &str,
        cmd: &Cmd,
    ) -> RedisResult<T> {
        match self {
            RedisConn::Single(conn) => cmd.query_async(conn).await,
            RedisConn::Cluster(conn) => {
                let mut pipe = redis::pipe();
                pipe.add_command(cmd.clone());
                let mut values = conn
                    .route_pipeline(pipe, 0, 1, primary_of(slot(key.as_bytes())))
                    .await?;
                Ok(redis::from_redis_value(values.pop().unwrap_or(Value::Nil))?)
            }
        }
    }
}

fn primary_of(slot: u16) -> SingleNodeRoutingInfo {
    SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master))
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Single(conn) => conn.req_packed_command(cmd),
            RedisConn::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            RedisConn::Cluster(conn) => {
                if pipeline.is_transaction() {
                    conn.req_packed_commands(pipeline, offset, count)
                } else {
                    split_by_slot(conn, pipeline).boxed()
                }
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(conn) => conn.get_db(),
            RedisConn::Cluster(conn) => conn.get_db(),
        }
    }
}

/// Where one command of a pipeline goes on a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placement {
    /// To the node of this slot, with the pipeline's other commands for it.
    Slot(u16),
    /// With the command before it (`WAIT`, `PING`, `TIME`: no key).
    WithPrevious,
    /// On its own, as the cluster client routes it (a multi-key command across slots).
    Alone,
}

fn placement(cmd: &Cmd) -> Placement {
    let mut args = cmd.args_iter().filter_map(|arg| match arg {
        Arg::Simple(bytes) => Some(bytes),
        _ => None,
    });
    let Some(name) = args.next().map(<[u8]>::to_ascii_uppercase) else {
        return Placement::WithPrevious;
    };
    let args: Vec<&[u8]> = args.collect();
    let key = match name.as_slice() {
        b"WAIT" | b"WAITAOF" | b"PING" | b"TIME" | b"ECHO" => return Placement::WithPrevious,
        b"EVAL" | b"EVALSHA" | b"EVAL_RO" | b"EVALSHA_RO" | b"FCALL" => {
            match args
                .get(1)
                .and_then(|n| std::str::from_utf8(n).ok()?.parse::<u32>().ok())
            {
                Some(n) if n > 0 => args.get(2),
                _ => return Placement::WithPrevious,
            }
        }
        b"MGET" | b"DEL" | b"EXISTS" | b"UNLINK" | b"TOUCH" if args.len() > 1 => {
            let first = slot(args[0]);
            if args.iter().all(|k| slot(k) == first) {
                return Placement::Slot(first);
            }
            return Placement::Alone;
        }
        _ => args.first(),
    };
    key.map_or(Placement::WithPrevious, |key| Placement::Slot(slot(key)))
}

/// Sends each slot's commands as one pipeline to its node, all at once, and returns every
/// reply in the pipeline's order. Every group is sent even when another fails (a node
/// failing over must not keep the others' writes, such as heartbeats, from happening); the
/// first error is then returned.
async fn split_by_slot(
    conn: &mut ClusterConnection,
    pipeline: &Pipeline,
) -> RedisResult<Vec<Value>> {
    let commands: Vec<&Cmd> = pipeline.cmd_iter().collect();
    // Slot (none: any node) and the indices of the commands sent there.
    let mut groups: Vec<(Option<u16>, Vec<usize>)> = Vec::new();
    let mut alone = Vec::new();
    let mut previous: Option<usize> = None;
    let mut waiting_for_a_key = Vec::new();
    for (i, cmd) in commands.iter().enumerate() {
        match placement(cmd) {
            Placement::Slot(slot) => {
                let group = match groups.iter().position(|(s, _)| *s == Some(slot)) {
                    Some(g) => g,
                    None => {
                        groups.push((Some(slot), Vec::new()));
                        groups.len() - 1
                    }
                };
                groups[group].1.append(&mut waiting_for_a_key);
                groups[group].1.push(i);
                previous = Some(group);
            }
            Placement::WithPrevious => match previous {
                Some(group) => groups[group].1.push(i),
                None => waiting_for_a_key.push(i),
            },
            Placement::Alone => alone.push(i),
        }
    }
    if !waiting_for_a_key.is_empty() {
        groups.push((None, waiting_for_a_key));
    }
    let sent = groups.into_iter().map(|(slot, members)| {
        let mut conn = conn.clone();
        let mut sub = redis::pipe();
        for &i in &members {
            sub.add_command(commands[i].clone());
        }
        let route = slot.map_or(SingleNodeRoutingInfo::Random, primary_of);
        async move {
            let values = conn.route_pipeline(sub, 0, members.len(), route).await;
            (members, values)
        }
        .boxed()
    });
    let alone = alone.into_iter().map(|i| {
        let mut conn = conn.clone();
        let cmd = commands[i].clone();
        async move {
            (
                vec![i],
                conn.req_packed_command(&cmd).await.map(|v| vec![v]),
            )
        }
        .boxed()
    });
    let mut replies: Vec<Value> = vec![Value::Nil; commands.len()];
    let mut first_error = None;
    for (members, values) in futures_util::future::join_all(sent.chain(alone)).await {
        match values {
            Ok(values) => {
                for (i, value) in members.into_iter().zip(values) {
                    replies[i] = value;
                }
            }
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(replies),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_placed_by_their_key_and_keyless_ones_follow_the_previous() {
        let mut lpush = redis::cmd("LPUSH");
        lpush.arg("q:{s1.0}").arg("x");
        assert_eq!(placement(&lpush), Placement::Slot(slot(b"s1.0")));
        let mut wait = redis::cmd("WAIT");
        wait.arg(1).arg(100);
        assert_eq!(placement(&wait), Placement::WithPrevious);
        let mut script = redis::cmd("EVALSHA");
        script.arg("abc").arg(2).arg("a{t}").arg("b{t}").arg("v");
        assert_eq!(placement(&script), Placement::Slot(slot(b"t")));
        let mut mget = redis::cmd("MGET");
        mget.arg("a").arg("b");
        assert_eq!(placement(&mget), Placement::Alone);
        let mut together = redis::cmd("MGET");
        together.arg("{t}a").arg("{t}b");
        assert_eq!(placement(&together), Placement::Slot(slot(b"t")));
    }
}
