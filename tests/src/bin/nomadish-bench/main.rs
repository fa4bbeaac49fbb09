//! nomadish-bench: benchmark scenarios against real agent processes.
//!
//! ```text
//! cargo build --release --bins
//! cargo run --release -p nomadish-tests --bin nomadish-bench -- <scenario> [options]
//!   start-latency [-runs 50]                    job run -> task running on the dev agent
//!   docker-start [-runs 20]                     job run of a Docker task vs docker run -d
//!   failover [-trials 20]                       kill -9 the leader of three -> first acked write
//!   throughput [-writers 1,16,64] [-seconds 10] job registrations/s on three TLS servers
//!   consensus [-writers 1,16,64] [-seconds 10] [-trials 1] [-snapshot-threshold N]
//!                                               1 KiB writes, nomadish vs etcd, both under wrk
//!   heartbeats [-nodes 10000] [-seconds 120] [-ttl 10s]
//!                                               leader CPU with N heartbeating nodes
//!   footprint [-allocs 100000] [-nodes 250] [-runs 5]
//!                                               idle client RSS, loaded server RSS, binary
//!                                               size, dev agent cold start
//!   logs-throughput [-mb 256]                   alloc logs -f of a task printing flat out
//!   sim [-nodes 5000] [-jobs 100] [-allocs 1000] [-timeout 1800]
//!                                               simulated nodes: placements/s, reg -> placed
//!   c1m [-scale] [-nodes 5000] [-jobs 1000] [-allocs 1000] [-timeout S] [-snapshot-threshold N]
//!                                               sim against three TLS servers, until every
//!                                               allocation is acknowledged
//! ```
//!
//! Each scenario starts its own processes, prints a markdown table and writes JSON to
//! `target/bench/<scenario>.json`. Agents run from the `nomadish` binary next to this one
//! (`target/<profile>/nomadish`), or `$NOMADISH_BIN`.

mod c1m;
mod cluster;
mod consensus;
mod docker_start;
mod etcd;
mod footprint;
mod heartbeats;
mod logs_throughput;
mod procfs;
mod sim;
mod start_latency;
mod wrk;

use serde_json::Value;

/// The `p` quantile (0..=1) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The number of cores of this machine.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// Adds `extra`'s fields to the object `into`.
pub fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

fn write_json(result: &Value) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    if std::fs::create_dir_all(&dir).is_ok() {
        let name = result["scenario"].as_str().unwrap_or("bench");
        let file = dir.join(format!("{name}.json"));
        let _ = std::fs::write(&file, serde_json::to_vec_pretty(result).unwrap_or_default());
        println!("\nwritten to {}", file.display());
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: nomadish-bench <scenario> [options]\n  \
         start-latency [-runs N] | docker-start [-runs N] | logs-throughput [-mb N]\n  \
         failover [-trials N] | throughput [-writers 1,16,64] [-seconds S]\n  \
         consensus [-writers 1,16,64] [-seconds S] [-trials N] [-snapshot-threshold N]\n  \
         heartbeats [-nodes N] [-seconds S] [-ttl 10s]\n  \
         footprint [-allocs A] [-nodes N] [-runs N]\n  \
         sim [-nodes N] [-jobs J] [-allocs A] [-timeout S]\n  \
         c1m [-scale] [-nodes N] [-jobs J] [-allocs A] [-timeout S] [-snapshot-threshold N]"
    );
    std::process::exit(2);
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a.trim_start_matches('-') == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// The `-writers` list (default 1,16,64).
fn writers(args: &[String]) -> Vec<usize> {
    flag(args, "writers")
        .unwrap_or_else(|| "1,16,64".into())
        .split(',')
        .map(|w| w.trim().parse().unwrap_or_else(|_| usage()))
        .collect()
}

fn number<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    flag(args, name).map_or(default, |v| v.parse().unwrap_or_else(|_| usage()))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(scenario) = args.first() else {
        usage()
    };
    let (table, result) = match scenario.as_str() {
        "start-latency" => start_latency::run(number(&args, "runs", 50)).await,
        "logs-throughput" => logs_throughput::run(number(&args, "mb", 256)).await,
        "docker-start" => docker_start::run(number(&args, "runs", 20)).await,
        "failover" => cluster::failover(number(&args, "trials", 20)).await,
        "throughput" => cluster::throughput(&writers(&args), number(&args, "seconds", 10)).await,
        "consensus" => {
            let opts = consensus::ConsensusOptions {
                writers: writers(&args),
                seconds: number(&args, "seconds", 10),
                trials: number(&args, "trials", 1),
                snapshot_threshold: flag(&args, "snapshot-threshold")
                    .map(|v| v.parse().unwrap_or_else(|_| usage())),
            };
            consensus::run(opts).await
        }
        "heartbeats" => {
            let opts = heartbeats::HeartbeatOptions {
                nodes: number(&args, "nodes", 10_000),
                seconds: number(&args, "seconds", 120),
                ttl: flag(&args, "ttl").unwrap_or_else(|| "10s".into()),
            };
            heartbeats::run(opts).await
        }
        "footprint" => {
            let opts = footprint::FootprintOptions {
                allocs: number(&args, "allocs", 100_000),
                nodes: number(&args, "nodes", 250),
                runs: number(&args, "runs", 5),
            };
            footprint::run(opts).await
        }
        "c1m" => {
            let scale = args.iter().any(|a| a.trim_start_matches('-') == "scale");
            let d = c1m::options(scale);
            let opts = sim::SimOptions {
                nodes: number(&args, "nodes", d.nodes),
                jobs: number(&args, "jobs", d.jobs),
                allocs: number(&args, "allocs", d.allocs),
                timeout: std::time::Duration::from_secs(number(
                    &args,
                    "timeout",
                    d.timeout.as_secs(),
                )),
                snapshot_threshold: flag(&args, "snapshot-threshold")
                    .map(|v| v.parse().unwrap_or_else(|_| usage())),
            };
            c1m::run(opts).await
        }
        "sim" => {
            let opts = sim::SimOptions {
                nodes: number(&args, "nodes", 5000),
                jobs: number(&args, "jobs", 100),
                allocs: number(&args, "allocs", 1000),
                timeout: std::time::Duration::from_secs(number(&args, "timeout", 1800)),
                snapshot_threshold: None,
            };
            sim::run(opts).await
        }
        _ => usage(),
    };
    println!("{table}");
    write_json(&result);
}
