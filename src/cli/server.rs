//! `server members`: the servers an agent knows (`GET /v1/agent/members`), with the leader of
//! each region found as Nomad finds it: `GET /v1/status/leader?region=R` returns the leader's
//! RPC address, compared with each member's `Addr` and `port` tag.

use std::collections::BTreeMap;

use nomadish_proto::model::{AgentMember, ServerMembers};

use super::api::ApiClient;
use super::args::ServerMembersArgs;
use super::format::{format_list_with_spaces, pretty_json};
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// Members that have left are not asked about.
const STATUS_LEFT: &str = "left";

/// `server members`.
pub async fn members(args: ServerMembersArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let mut members = match api.get::<ServerMembers>("/v1/agent/members", &[]).await {
        Ok(resp) => resp.body.members,
        Err(e) => {
            eprintln!("Error querying servers: {e}");
            return EXIT_ERROR;
        }
    };
    members.sort_by(|a, b| a.name.cmp(&b.name));
    let (leaders, leader_errors) = region_leaders(&api, &members).await;
    if args.json {
        for m in &mut members {
            let leader = is_leader(m, &leaders);
            m.tags.insert("Leader".to_string(), leader.to_string());
        }
        println!("{}", pretty_json(&members));
        return EXIT_OK;
    }
    println!("{}", members_table(&members, &leaders, args.verbose));
    if !leader_errors.is_empty() {
        eprintln!("\nError determining leaders: {}", leader_errors.join("; "));
        return EXIT_ERROR;
    }
    EXIT_OK
}

/// The leader's RPC address per region of the (non-left) members, and errors by region.
async fn region_leaders(
    api: &ApiClient,
    members: &[AgentMember],
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut leaders = BTreeMap::new();
    let mut errors = Vec::new();
    let mut regions: Vec<&str> = members
        .iter()
        .filter(|m| m.status != STATUS_LEFT)
        .map(|m| m.tags.get("region").map_or("", String::as_str))
        .collect();
    regions.sort_unstable();
    regions.dedup();
    for region in regions {
        let client = if region.is_empty() {
            api.clone()
        } else {
            api.with_region(region)
        };
        match client.get::<String>("/v1/status/leader", &[]).await {
            Ok(resp) => {
                leaders.insert(region.to_string(), resp.body);
            }
            Err(e) => errors.push(format!("Region {region:?}: {e}")),
        }
    }
    (leaders, errors)
}

/// Whether `member` is the leader of its region.
pub fn is_leader(member: &AgentMember, leaders: &BTreeMap<String, String>) -> bool {
    let region = member.tags.get("region").map_or("", String::as_str);
    let port = member.tags.get("port").map_or("", String::as_str);
    let addr = if member.addr.contains(':') {
        format!("[{}]:{port}", member.addr)
    } else {
        format!("{}:{port}", member.addr)
    };
    leaders.get(region).is_some_and(|leader| *leader == addr)
}

/// The members table, Nomad's columns.
pub fn members_table(
    members: &[AgentMember],
    leaders: &BTreeMap<String, String>,
    verbose: bool,
) -> String {
    let mut header = vec!["Name", "Address", "Port", "Status", "Leader"];
    if verbose {
        header.push("Protocol");
    }
    header.extend(["Raft Version", "Build", "Datacenter", "Region"]);
    if verbose {
        header.push("Tags");
    }
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    let tag = |m: &AgentMember, k: &str| m.tags.get(k).cloned().unwrap_or_default();
    for m in members {
        let mut row = vec![
            m.name.clone(),
            m.addr.clone(),
            m.port.to_string(),
            m.status.clone(),
            is_leader(m, leaders).to_string(),
        ];
        if verbose {
            row.push(m.protocol_cur.to_string());
        }
        row.extend([
            tag(m, "raft_vsn"),
            tag(m, "build"),
            tag(m, "dc"),
            tag(m, "region"),
        ]);
        if verbose {
            let tags: Vec<String> = m.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            row.push(tags.join(","));
        }
        rows.push(row);
    }
    format_list_with_spaces(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, addr: &str) -> AgentMember {
        let mut m = AgentMember {
            name: name.into(),
            addr: addr.into(),
            port: 4648,
            status: "alive".into(),
            ..Default::default()
        };
        for (k, v) in [
            ("region", "global"),
            ("dc", "dc1"),
            ("port", "4647"),
            ("build", "0.1.0"),
            ("raft_vsn", "3"),
            ("role", "nomad"),
        ] {
            m.tags.insert(k.into(), v.into());
        }
        m
    }

    #[test]
    fn members_layout_marks_the_leader() {
        let members = vec![
            member("server-1.global", "10.0.0.1"),
            member("server-2.global", "10.0.0.2"),
        ];
        let leaders = BTreeMap::from([("global".to_string(), "10.0.0.2:4647".to_string())]);
        let expected = "\
Name             Address   Port  Status  Leader  Raft Version  Build  Datacenter  Region
server-1.global  10.0.0.1  4648  alive   false   3             0.1.0  dc1         global
server-2.global  10.0.0.2  4648  alive   true    3             0.1.0  dc1         global";
        assert_eq!(members_table(&members, &leaders, false), expected);
    }

    #[test]
    fn no_leader_known() {
        let m = member("s1", "10.0.0.1");
        assert!(!is_leader(&m, &BTreeMap::new()));
    }

    #[test]
    fn verbose_adds_protocol_and_tags() {
        let members = vec![member("s1", "10.0.0.1")];
        let text = members_table(&members, &BTreeMap::new(), true);
        assert!(text.starts_with("Name  Address   Port  Status  Leader  Protocol  Raft Version"));
        assert!(text.contains("build=0.1.0,dc=dc1,port=4647,raft_vsn=3,region=global,role=nomad"));
    }
}
