//! [`Conn`]: a worker thread's connection, to one server or to a Cluster, and how a command is
//! sent on it (to the node a redirection names, if any).

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use deadpool_redis::redis::{self, Cmd, RedisError, Value};
use sessions_net::ThreadConnection;

/// A multiplexed connection: any number of commands in flight, batched into shared reads and
/// writes. Cloning gives another handle to it.
#[derive(Clone)]
pub(crate) enum Conn {
    /// To one server (standalone, or the primary Sentinel named).
    Single(MultiplexedConnection),
    /// To a Cluster: the client keeps one connection per node and routes by key slot.
    Cluster(ClusterConnection),
}

/// redis-rs gives no sign of a closed connection before a command fails on it, so a broken
/// connection is found by the failure, and discarded then.
impl ThreadConnection for Conn {}

/// Where a Cluster node said to send a command instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Redirect {
    /// `MOVED`: the slot lives on another node now.
    Moved(Node),
    /// `ASK`: the slot is migrating; ask the target node once, after `ASKING`.
    Ask(Node),
}

/// A Cluster node's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    host: String,
    port: u16,
}

impl Node {
    /// The node a `MOVED` or `ASK` error names.
    pub(crate) fn of(err: &RedisError) -> Option<Self> {
        let (address, _slot) = err.redirect_node()?;
        let (host, port) = address.rsplit_once(':')?;
        Some(Self {
            host: host.to_owned(),
            port: port.parse().ok()?,
        })
    }

    fn route(&self) -> SingleNodeRoutingInfo {
        SingleNodeRoutingInfo::ByAddress {
            host: self.host.clone(),
            port: self.port,
        }
    }
}

impl Conn {
    /// Sends `cmd` (to `redirect`'s node, on a Cluster) and returns its reply; a server error
    /// reply is an `Err`. Unbounded: the caller applies the response timeout.
    pub(crate) async fn send(
        &mut self,
        cmd: &Cmd,
        redirect: Option<&Redirect>,
    ) -> Result<Value, RedisError> {
        match (self, redirect) {
            (Self::Single(conn), _) => cmd.query_async(conn).await,
            (Self::Cluster(conn), None) => cmd.query_async(conn).await,
            (Self::Cluster(conn), Some(Redirect::Moved(node))) => conn
                .route_command(cmd.clone(), RoutingInfo::SingleNode(node.route()))
                .await?
                .extract_error(),
            (Self::Cluster(conn), Some(Redirect::Ask(node))) => {
                let mut asking = redis::pipe();
                asking.cmd("ASKING").add_command(cmd.clone());
                let replies = conn.route_pipeline(asking, 1, 1, node.route()).await?;
                replies
                    .into_iter()
                    .next()
                    .unwrap_or(Value::Nil)
                    .extract_error()
            }
        }
    }
}
