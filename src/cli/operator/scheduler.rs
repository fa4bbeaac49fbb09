//! `operator scheduler get-config | set-config`: the cluster's scheduler configuration.
//!
//! ```text
//! get-config                  GET /v1/operator/scheduler/configuration -> key = value
//! set-config -flag=value ...  GET (current) -> change the given fields
//!                             -> PUT /v1/operator/scheduler/configuration[?cas=N]
//! ```

use nomadish_proto::model::SchedulerConfiguration;
use serde::Deserialize;

use super::{SchedulerGetArgs, SchedulerSetArgs, operator_client, stale_query};
use crate::cli::format::{format_kv, pretty_json};
use crate::cli::{EXIT_ERROR, EXIT_OK};

/// `GET` and `PUT` the configuration.
pub const SCHEDULER_CONFIG_PATH: &str = "/v1/operator/scheduler/configuration";

/// `GET` response body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetResponse {
    scheduler_config: SchedulerConfiguration,
}

/// `PUT` response body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutResponse {
    updated: bool,
}

/// `operator scheduler get-config`.
pub async fn get_config(args: SchedulerGetArgs) -> i32 {
    let Some(api) = operator_client(&args.api) else {
        return EXIT_ERROR;
    };
    let query = stale_query(args.stale);
    let config = match api.get::<GetResponse>(SCHEDULER_CONFIG_PATH, &query).await {
        Ok(resp) => resp.body.scheduler_config,
        Err(e) => {
            eprintln!("Error querying scheduler configuration: {e}");
            return EXIT_ERROR;
        }
    };
    if args.json {
        println!("{}", pretty_json(&config));
    } else {
        println!("{}", render(&config));
    }
    EXIT_OK
}

/// Nomad's layout: the settings, then the preemption section.
pub fn render(c: &SchedulerConfiguration) -> String {
    let p = &c.preemption_config;
    let main = format_kv(&[
        ("Scheduler Algorithm", c.scheduler_algorithm.clone()),
        (
            "Memory Oversubscription",
            c.memory_oversubscription_enabled.to_string(),
        ),
    ]);
    let preemption = format_kv(&[
        ("System Scheduler", p.system_scheduler_enabled.to_string()),
        (
            "SysBatch Scheduler",
            p.sysbatch_scheduler_enabled.to_string(),
        ),
        ("Service Scheduler", p.service_scheduler_enabled.to_string()),
        ("Batch Scheduler", p.batch_scheduler_enabled.to_string()),
    ]);
    format!("{main}\n\nPreemption Scheduler Configuration\n{preemption}")
}

/// Applies the flags that were given to a configuration.
pub fn apply_flags(c: &mut SchedulerConfiguration, args: &SchedulerSetArgs) {
    if let Some(a) = &args.scheduler_algorithm {
        c.scheduler_algorithm.clone_from(a);
    }
    let p = &mut c.preemption_config;
    let flags = [
        (
            args.preempt_system_scheduler,
            &mut p.system_scheduler_enabled,
        ),
        (
            args.preempt_sysbatch_scheduler,
            &mut p.sysbatch_scheduler_enabled,
        ),
        (args.preempt_batch_scheduler, &mut p.batch_scheduler_enabled),
        (
            args.preempt_service_scheduler,
            &mut p.service_scheduler_enabled,
        ),
        (
            args.memory_oversubscription,
            &mut c.memory_oversubscription_enabled,
        ),
    ];
    for (flag, slot) in flags {
        if let Some(v) = flag {
            *slot = v;
        }
    }
}

/// `operator scheduler set-config`.
pub async fn set_config(args: SchedulerSetArgs) -> i32 {
    let Some(api) = operator_client(&args.api) else {
        return EXIT_ERROR;
    };
    let mut config = match api.get::<GetResponse>(SCHEDULER_CONFIG_PATH, &[]).await {
        Ok(resp) => resp.body.scheduler_config,
        Err(e) => {
            eprintln!("Error querying scheduler configuration: {e}");
            return EXIT_ERROR;
        }
    };
    apply_flags(&mut config, &args);
    if let Err(e) = config.validate() {
        eprintln!("Error setting scheduler configuration: {e}");
        return EXIT_ERROR;
    }
    let query: Vec<(&str, String)> = if args.check_index {
        vec![("cas", config.modify_index.to_string())]
    } else {
        Vec::new()
    };
    match api
        .put::<_, PutResponse>(SCHEDULER_CONFIG_PATH, &config, &query)
        .await
    {
        Ok(resp) if resp.body.updated => {
            println!("Scheduler configuration updated!");
            EXIT_OK
        }
        Ok(_) => {
            eprintln!("Scheduler configuration could not be atomically updated, please try again");
            EXIT_ERROR
        }
        Err(e) => {
            eprintln!("Error setting scheduler configuration: {e}");
            EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{Cli, Command};
    use crate::cli::argv::translate_args;
    use crate::cli::operator::{OperatorCommand, SchedulerCommand};
    use clap::Parser;

    #[test]
    fn get_config_renders_nomads_layout() {
        let text = render(&SchedulerConfiguration::default());
        let want = "Scheduler Algorithm     = binpack\n\
                    Memory Oversubscription = false\n\
                    \n\
                    Preemption Scheduler Configuration\n\
                    System Scheduler   = true\n\
                    SysBatch Scheduler = false\n\
                    Service Scheduler  = false\n\
                    Batch Scheduler    = false";
        assert_eq!(text, want);
    }

    #[test]
    fn set_config_flags_change_only_what_is_given() {
        let argv = [
            "nomadish",
            "operator",
            "scheduler",
            "set-config",
            "-scheduler-algorithm=spread",
            "-preempt-service-scheduler=true",
            "-check-index",
        ];
        let cli = Cli::try_parse_from(translate_args(argv)).expect("parses");
        let Command::Operator(OperatorCommand::Scheduler(SchedulerCommand::SetConfig(args))) =
            cli.command
        else {
            panic!("not set-config");
        };
        assert!(args.check_index);
        let mut c = SchedulerConfiguration::default();
        apply_flags(&mut c, &args);
        assert_eq!(c.scheduler_algorithm, "spread");
        assert!(c.preemption_config.service_scheduler_enabled);
        assert!(c.preemption_config.system_scheduler_enabled);
        assert!(!c.memory_oversubscription_enabled);
    }
}
