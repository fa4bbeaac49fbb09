//! nomadish-bench: benchmark scenarios against real agent processes.
//!
//! ```text
//! cargo build --release --bins
//! cargo run --release -p nomadish-tests --bin nomadish-bench -- <scenario> [options]
//!   start-latency [-runs 50]                    job run -> task running on the dev agent
//!   docker-start [-runs 20]                     job run of a Docker task vs docker run -d
//!   failover [-trials 10]                       kill -9 the leader of three -> first acked write
//!   throughput [-writers 1,16,64] [-seconds 10] job registrations/s on three TLS servers
//!   logs-throughput [-mb 256]                   alloc logs -f of a task printing flat out
//!   sim [-nodes 5000] [-jobs 100] [-allocs 1000] [-timeout 1800]
//!                                               simulated nodes: placements/s, reg -> placed
//! ```
//!
//! Each scenario starts its own processes, prints a markdown table and writes JSON to
//! `target/bench/<scenario>.json`.

mod cluster;
mod docker_start;
mod logs_throughput;
mod sim;
mod start_latency;

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
        "usage: nomadish-bench start-latency [-runs N] | docker-start [-runs N] | logs-throughput [-mb N] | failover [-trials N] | throughput [-writers 1,16,64] [-seconds S] | sim [-nodes N] [-jobs J] [-allocs A] [-timeout S]"
    );
    std::process::exit(2);
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a.trim_start_matches('-') == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
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
        "failover" => cluster::failover(number(&args, "trials", 10)).await,
        "throughput" => {
            let writers: Vec<usize> = flag(&args, "writers")
                .unwrap_or_else(|| "1,16,64".into())
                .split(',')
                .map(|w| w.trim().parse().unwrap_or_else(|_| usage()))
                .collect();
            cluster::throughput(&writers, number(&args, "seconds", 10)).await
        }
        "sim" => {
            let opts = sim::SimOptions {
                nodes: number(&args, "nodes", 5000),
                jobs: number(&args, "jobs", 100),
                allocs: number(&args, "allocs", 1000),
                timeout: std::time::Duration::from_secs(number(&args, "timeout", 1800)),
            };
            sim::run(opts).await
        }
        _ => usage(),
    };
    println!("{table}");
    write_json(&result);
}
