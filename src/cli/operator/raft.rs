//! `operator raft list-peers | remove-peer | transfer-leadership`.

use nomadish_proto::model::{RaftConfiguration, RaftServer};
use reqwest::Method;

use super::{RaftListPeersArgs, RaftPeerArgs, operator_client, stale_query};
use crate::cli::format::{format_list_with_spaces, pretty_json};
use crate::cli::{EXIT_ERROR, EXIT_OK};

/// `GET` the raft configuration.
pub const CONFIGURATION_PATH: &str = "/v1/operator/raft/configuration";
/// `DELETE` a peer.
pub const PEER_PATH: &str = "/v1/operator/raft/peer";
/// `PUT` to hand leadership over.
pub const TRANSFER_PATH: &str = "/v1/operator/raft/transfer-leadership";

/// The server a peer command names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerTarget {
    /// By raft ID (`-peer-id`).
    Id(String),
    /// By raft address (`-peer-address`).
    Address(String),
}

impl PeerTarget {
    /// The query parameter naming the peer.
    pub fn query(&self) -> (&'static str, String) {
        match self {
            PeerTarget::Id(id) => ("id", id.clone()),
            PeerTarget::Address(addr) => ("address", addr.clone()),
        }
    }

    /// `id "3"` or `address "10.0.0.1:4647"`, for messages.
    pub fn describe(&self) -> String {
        match self {
            PeerTarget::Id(id) => format!("id {id:?}"),
            PeerTarget::Address(addr) => format!("address {addr:?}"),
        }
    }
}

/// Misuse of `-peer-id` / `-peer-address`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerFlagError {
    /// Both flags were given.
    #[error("cannot give both -peer-id and -peer-address")]
    Both,
    /// Neither flag was given where one is required.
    #[error("missing peer: give -peer-id or -peer-address")]
    Missing,
}

/// The peer the flags name, `None` when neither is given; empty values count as not given.
pub fn peer_target(args: &RaftPeerArgs) -> Result<Option<PeerTarget>, PeerFlagError> {
    let given = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    match (given(&args.peer_id), given(&args.peer_address)) {
        (Some(_), Some(_)) => Err(PeerFlagError::Both),
        (Some(id), None) => Ok(Some(PeerTarget::Id(id))),
        (None, Some(addr)) => Ok(Some(PeerTarget::Address(addr))),
        (None, None) => Ok(None),
    }
}

/// `operator raft list-peers`.
pub async fn list_peers(args: RaftListPeersArgs) -> i32 {
    let Some(api) = operator_client(&args.api) else {
        return EXIT_ERROR;
    };
    let query = stale_query(args.stale);
    let mut config = match api
        .get::<RaftConfiguration>(CONFIGURATION_PATH, &query)
        .await
    {
        Ok(resp) => resp.body,
        Err(e) => {
            eprintln!("Failed to retrieve raft configuration: {e}");
            return EXIT_ERROR;
        }
    };
    config.servers.sort_by(|a, b| a.node.cmp(&b.node));
    if args.json {
        println!("{}", pretty_json(&config));
    } else {
        println!("{}", peers_table(&config.servers));
    }
    EXIT_OK
}

/// Nomad's list-peers table: `Node  ID  Address  State  Voter  RaftProtocol`.
pub fn peers_table(servers: &[RaftServer]) -> String {
    let header = ["Node", "ID", "Address", "State", "Voter", "RaftProtocol"];
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for s in servers {
        let state = if s.leader { "leader" } else { "follower" };
        rows.push(vec![
            s.node.clone(),
            s.id.clone(),
            s.address.clone(),
            state.to_string(),
            s.voter.to_string(),
            s.raft_protocol.clone(),
        ]);
    }
    format_list_with_spaces(&rows)
}

/// `operator raft remove-peer -peer-id ID | -peer-address ADDR`.
pub async fn remove_peer(args: RaftPeerArgs) -> i32 {
    let target = match peer_target(&args) {
        Ok(Some(target)) => target,
        Ok(None) => {
            eprintln!("Error removing peer: {}", PeerFlagError::Missing);
            return EXIT_ERROR;
        }
        Err(e) => {
            eprintln!("Error removing peer: {e}");
            return EXIT_ERROR;
        }
    };
    let Some(api) = operator_client(&args.api) else {
        return EXIT_ERROR;
    };
    let query = [target.query()];
    match api.send_raw(Method::DELETE, PEER_PATH, &query, None).await {
        Ok(_) => {
            println!("Removed peer with {}", target.describe());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("Error removing peer: {e}");
            EXIT_ERROR
        }
    }
}

/// `operator raft transfer-leadership [-peer-id ID | -peer-address ADDR]`; with neither,
/// the servers pick any other voter.
pub async fn transfer_leadership(args: RaftPeerArgs) -> i32 {
    let target = match peer_target(&args) {
        Ok(target) => target,
        Err(e) => {
            eprintln!("Error transferring leadership to peer: {e}");
            return EXIT_ERROR;
        }
    };
    let Some(api) = operator_client(&args.api) else {
        return EXIT_ERROR;
    };
    let query: Vec<_> = target.iter().map(PeerTarget::query).collect();
    match api.send_raw(Method::PUT, TRANSFER_PATH, &query, None).await {
        Ok(_) => {
            match target {
                Some(t) => println!("Transferred leadership to peer with {}", t.describe()),
                None => println!("Transferred leadership to another voter"),
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("Error transferring leadership to peer: {e}");
            EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::ApiOpts;

    fn server(node: &str, id: &str, leader: bool, voter: bool) -> RaftServer {
        RaftServer {
            id: id.into(),
            node: node.into(),
            address: format!("10.0.0.{id}:4647"),
            leader,
            voter,
            raft_protocol: "3".into(),
        }
    }

    #[test]
    fn table_has_nomads_columns_and_states() {
        let text = peers_table(&[
            server("server-1.global", "1", true, true),
            server("server-2.global", "2", false, true),
            server("server-3.global", "3", false, false),
        ]);
        let expected = "\
Node             ID  Address        State     Voter  RaftProtocol
server-1.global  1   10.0.0.1:4647  leader    true   3
server-2.global  2   10.0.0.2:4647  follower  true   3
server-3.global  3   10.0.0.3:4647  follower  false  3";
        assert_eq!(text, expected);
    }

    fn peer_args(id: Option<&str>, address: Option<&str>) -> RaftPeerArgs {
        RaftPeerArgs {
            api: ApiOpts {
                address: "http://127.0.0.1:1".into(),
                token: None,
                namespace: None,
                region: None,
                ..ApiOpts::default()
            },
            peer_id: id.map(String::from),
            peer_address: address.map(String::from),
        }
    }

    #[test]
    fn peer_flags_name_at_most_one_peer() {
        assert_eq!(
            peer_target(&peer_args(Some("2"), None)),
            Ok(Some(PeerTarget::Id("2".into())))
        );
        assert_eq!(
            peer_target(&peer_args(None, Some("10.0.0.2:4647"))),
            Ok(Some(PeerTarget::Address("10.0.0.2:4647".into())))
        );
        assert_eq!(peer_target(&peer_args(None, None)), Ok(None));
        assert_eq!(peer_target(&peer_args(Some(""), Some(" "))), Ok(None));
        assert_eq!(
            peer_target(&peer_args(Some("2"), Some("10.0.0.2:4647"))),
            Err(PeerFlagError::Both)
        );
    }

    #[test]
    fn targets_render_as_query_and_message() {
        let t = PeerTarget::Address("10.0.0.2:4647".into());
        assert_eq!(t.query(), ("address", "10.0.0.2:4647".to_string()));
        assert_eq!(t.describe(), "address \"10.0.0.2:4647\"");
        assert_eq!(PeerTarget::Id("7".into()).describe(), "id \"7\"");
    }
}
