//! An ACL-enabled cluster for the authorization suites: one server with `acl { enabled }`,
//! one raw_exec client, namespaces `team-a` and `team-b` each running a job, and tokens that
//! read or write `team-a`.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::{Agent, AgentKind, Api, nomadish_bin, wait_until, write_file};

/// Time for the cluster to come up and jobs to run.
pub const ACL_TIMEOUT: Duration = Duration::from_secs(45);

/// `namespace "team-a" { policy = "read" }`.
pub const READ_A: &str = "namespace \"team-a\" {\n  policy = \"read\"\n}\n";
/// `namespace "team-a" { policy = "write" }`.
pub const WRITE_A: &str = "namespace \"team-a\" {\n  policy = \"write\"\n}\n";

/// A created token.
#[derive(Debug, Clone)]
pub struct Token {
    /// Accessor ID.
    pub accessor: String,
    /// Secret ID.
    pub secret: String,
}

/// The ACL cluster.
pub struct AclCluster {
    /// The server (ACLs on).
    pub server: Agent,
    /// The client.
    pub client: Agent,
    /// The bootstrap (management) token.
    pub management: Token,
    /// Reads team-a.
    pub read_a: Token,
    /// Writes team-a.
    pub write_a: Token,
}

/// A job in `ns` whose task prints `line` and then sleeps.
pub fn job_spec(id: &str, ns: &str, line: &str) -> String {
    format!(
        r#"job "{id}" {{
  namespace = "{ns}"
  group "g" {{
    update {{
      max_parallel     = 1
      min_healthy_time = "1s"
    }}
    task "web" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "echo {line}; while true; do sleep 0.2; done"]
      }}
      resources {{
        cpu    = 20
        memory = 16
      }}
    }}
  }}
}}
"#
    )
}

/// Runs the CLI against `agent` with `token` as `NOMAD_TOKEN`.
pub fn cli_as(agent: &Agent, token: &str, args: &[&str]) -> Output {
    Command::new(nomadish_bin())
        .args(args)
        .env("NOMAD_ADDR", &agent.http)
        .env("NOMAD_TOKEN", token)
        .env_remove("NOMAD_NAMESPACE")
        .stdin(Stdio::null())
        .output()
        .expect("run cli")
}

/// Runs the CLI and asserts success; returns stdout.
pub fn cli_ok(agent: &Agent, token: &str, args: &[&str]) -> String {
    let out = cli_as(agent, token, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Creates a policy and a client token holding it (TTL in seconds when given).
pub async fn token_with(api: &Api, policy: &str, rules: &str, ttl: Option<u64>) -> Token {
    let (code, body) = api
        .put_json(
            &format!("/v1/acl/policy/{policy}"),
            &json!({"Name": policy, "Rules": rules}),
        )
        .await;
    assert!(code.is_success(), "policy {policy}: {body}");
    let ttl_ns = ttl.map_or(0, |s| s * 1_000_000_000);
    let (code, token) = api
        .put_json(
            "/v1/acl/token",
            &json!({"Name": policy, "Type": "client", "Policies": [policy], "ExpirationTTL": ttl_ns}),
        )
        .await;
    assert!(code.is_success(), "token for {policy}: {token}");
    Token {
        accessor: token["AccessorID"].as_str().expect("accessor").to_string(),
        secret: token["SecretID"].as_str().expect("secret").to_string(),
    }
}

impl AclCluster {
    /// Starts the cluster, bootstraps it and runs `web-a` in team-a and `web-b` in team-b.
    pub async fn start(dir: &Path) -> AclCluster {
        let acl = "acl {\n  enabled = true\n}\n";
        let server = Agent::start(dir, "server", AgentKind::Server, acl).await;
        let client =
            Agent::start(dir, "c1", AgentKind::Client(vec![server.rpc.clone()]), acl).await;
        let boot = cli_ok(&server, "", &["acl", "bootstrap", "-json"]);
        let boot: Value = serde_json::from_str(&boot).expect("bootstrap JSON");
        let management = Token {
            accessor: boot["AccessorID"].as_str().expect("accessor").to_string(),
            secret: boot["SecretID"].as_str().expect("secret").to_string(),
        };
        let api = server.api().with_token(&management.secret);
        wait_until("the client's node is ready", ACL_TIMEOUT, async || {
            let nodes = api.get_ok("/v1/nodes").await;
            (nodes.as_array().map(Vec::len) == Some(1) && nodes[0]["Status"] == "ready")
                .then_some(())
        })
        .await;
        for ns in ["team-a", "team-b"] {
            let (code, body) = api
                .put_json(&format!("/v1/namespace/{ns}"), &json!({"Name": ns}))
                .await;
            assert!(code.is_success(), "namespace {ns}: {body}");
        }
        let read_a = token_with(&api, "a-read", READ_A, None).await;
        let write_a = token_with(&api, "a-write", WRITE_A, None).await;
        for (id, ns, line) in [
            ("web-a", "team-a", "hello-a"),
            ("web-b", "team-b", "hello-b"),
        ] {
            let spec = write_file(dir, &format!("{id}.hcl"), &job_spec(id, ns, line));
            cli_ok(
                &server,
                &management.secret,
                &["job", "run", "-detach", spec.to_str().expect("utf-8")],
            );
        }
        let cluster = AclCluster {
            server,
            client,
            management,
            read_a,
            write_a,
        };
        cluster.running_alloc("web-a", "team-a").await;
        cluster.running_alloc("web-b", "team-b").await;
        cluster
    }

    /// An API client with the management token.
    pub fn admin(&self) -> Api {
        self.server.api().with_token(&self.management.secret)
    }

    /// The running allocation of a job (waits for it).
    pub async fn running_alloc(&self, job: &str, ns: &str) -> Value {
        let api = self.admin();
        wait_until(&format!("{job} running"), ACL_TIMEOUT, async || {
            let allocs = api
                .get_ok(&format!("/v1/job/{job}/allocations?namespace={ns}"))
                .await;
            allocs
                .as_array()?
                .iter()
                .find(|a| a["ClientStatus"] == "running")
                .cloned()
        })
        .await
    }
}
