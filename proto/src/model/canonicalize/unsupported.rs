//! Refuses Nomad features that need systems nomadish does not have (Vault, Consul, Connect,
//! CSI plugins, multiregion, workload identities, autoscaling policies, devices, ...).
//!
//! A jobspec refuses these blocks while decoding; a job that arrives as JSON carries them in
//! the model's `unsupported` fields (see [`crate::model::JobUnsupported`]) and is refused here,
//! with the same "not supported by nomadish: <block>" message the jobspec parser gives.

use super::{FieldPath, Problem};
use crate::model::{Job, NetworkResource, Resources, Service, TaskGroup, UnsupportedField};

/// The message for a refused block or attribute, named as Nomad's jobspec names it.
pub fn unsupported_message(block: &str) -> String {
    format!("not supported by nomadish: {block}")
}

/// Adds a problem for every field of the job that needs a system nomadish does not have.
pub(super) fn check_unsupported(job: &Job, out: &mut Vec<Problem>) {
    let root = FieldPath::root();
    refuse(job.unsupported.set_fields(), &root, out);
    for (i, group) in job.task_groups.iter().enumerate() {
        check_group(group, &root.field("TaskGroups").index(i), out);
    }
}

fn check_group(group: &TaskGroup, path: &FieldPath, out: &mut Vec<Problem>) {
    refuse(group.unsupported.set_fields(), path, out);
    if group.scaling.as_ref().is_some_and(|s| !s.policy.is_empty()) {
        out.push(Problem::new(
            path.field("Scaling").field("Policy"),
            unsupported_message("scaling policy"),
        ));
    }
    check_networks(&group.networks, &path.field("Networks"), out);
    check_services(&group.services, &path.field("Services"), out);
    for (j, task) in group.tasks.iter().enumerate() {
        let task_path = path.field("Tasks").index(j);
        refuse(task.unsupported.set_fields(), &task_path, out);
        check_resources(&task.resources, &task_path.field("Resources"), out);
        check_services(&task.services, &task_path.field("Services"), out);
    }
}

fn check_resources(resources: &Resources, path: &FieldPath, out: &mut Vec<Problem>) {
    refuse(resources.unsupported.set_fields(), path, out);
    if !resources.devices.is_empty() {
        out.push(Problem::new(
            path.field("Devices"),
            unsupported_message("device"),
        ));
    }
    check_networks(&resources.networks, &path.field("Networks"), out);
}

fn check_networks(networks: &[NetworkResource], path: &FieldPath, out: &mut Vec<Problem>) {
    for (i, network) in networks.iter().enumerate() {
        refuse(network.unsupported.set_fields(), &path.index(i), out);
    }
}

fn check_services(services: &[Service], path: &FieldPath, out: &mut Vec<Problem>) {
    for (i, service) in services.iter().enumerate() {
        refuse(service.unsupported.set_fields(), &path.index(i), out);
    }
}

fn refuse(fields: Vec<UnsupportedField>, path: &FieldPath, out: &mut Vec<Problem>) {
    out.extend(
        fields
            .into_iter()
            .map(|f| Problem::new(path.field(f.json_name), unsupported_message(f.block))),
    );
}

#[cfg(test)]
mod tests {
    use crate::model::{Job, strip_nulls};
    use serde_json::{Value, json};

    /// A job decoded the way the HTTP API decodes bodies (nulls stripped), canonicalized.
    fn job_from(mut value: Value) -> Job {
        strip_nulls(&mut value);
        let mut job: Job = serde_json::from_value(value).expect("decodes");
        job.canonicalize();
        job
    }

    fn api_job(job_fields: Value, group_fields: Value, task_fields: Value) -> Value {
        let mut task = json!({"Name": "srv", "Driver": "raw_exec", "Config": {"command": "true"}});
        let mut group = json!({"Name": "app", "Count": 1});
        let mut job = json!({"ID": "web", "Name": "web", "Datacenters": ["dc1"]});
        for (target, extra) in [
            (&mut task, task_fields),
            (&mut group, group_fields),
            (&mut job, job_fields),
        ] {
            if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
                t.extend(e);
            }
        }
        group["Tasks"] = json!([task]);
        job["TaskGroups"] = json!([group]);
        job
    }

    fn refusals(job: &Job) -> Vec<(String, String)> {
        job.problems()
            .into_iter()
            .filter(|p| p.message.starts_with("not supported by nomadish"))
            .map(|p| (p.path.to_string(), p.message))
            .collect()
    }

    fn pair(path: &str, block: &str) -> (String, String) {
        (
            path.to_string(),
            format!("not supported by nomadish: {block}"),
        )
    }

    #[test]
    fn a_plain_job_is_valid() {
        let job = job_from(api_job(json!({}), json!({}), json!({})));
        assert_eq!(job.validate(), Ok(()));
    }

    #[test]
    fn job_level_fields_are_refused() {
        let job = job_from(api_job(
            json!({
                "Multiregion": {"Regions": [{"Name": "east", "Count": 1}]},
                "VaultToken": "s.abc",
                "ConsulToken": "c0ffee",
            }),
            json!({}),
            json!({}),
        ));
        assert_eq!(
            refusals(&job),
            vec![
                pair("Multiregion", "multiregion"),
                pair("ConsulToken", "consul_token"),
                pair("VaultToken", "vault_token"),
            ]
        );
    }

    #[test]
    fn group_and_task_fields_are_refused() {
        let job = job_from(api_job(
            json!({}),
            json!({
                "Consul": {"Namespace": "team"},
                "Scaling": {"Min": 1, "Max": 3, "Policy": {"cooldown": "1m"}},
                "Services": [{"Name": "web", "Provider": "nomad", "Connect": {"Native": true}}],
                "Networks": [{"Mode": "bridge", "DNS": {"Servers": ["1.1.1.1"]}}],
            }),
            json!({
                "Vault": {"Role": "db"},
                "Identities": [{"Name": "aws", "Audience": ["sts"]}],
                "CSIPluginConfig": {"ID": "ebs", "Type": "monolith"},
                "Resources": {"CPU": 100, "MemoryMB": 64,
                              "Devices": [{"Name": "nvidia/gpu", "Count": 1}]},
            }),
        ));
        let task = "TaskGroups[0].Tasks[0]";
        assert_eq!(
            refusals(&job),
            vec![
                pair("TaskGroups[0].Consul", "consul"),
                pair("TaskGroups[0].Scaling.Policy", "scaling policy"),
                pair("TaskGroups[0].Networks[0].DNS", "dns"),
                pair("TaskGroups[0].Services[0].Connect", "connect"),
                pair(&format!("{task}.Vault"), "vault"),
                pair(&format!("{task}.CSIPluginConfig"), "csi_plugin"),
                pair(&format!("{task}.Identities"), "identity"),
                pair(&format!("{task}.Resources.Devices"), "device"),
            ]
        );
    }

    #[test]
    fn nulls_and_empty_values_are_accepted() {
        let job = job_from(api_job(
            json!({"Multiregion": null, "VaultToken": "", "ConsulNamespace": "", "UI": null}),
            json!({"Consul": null, "Disconnect": null, "PreventRescheduleOnLost": false,
                   "Scaling": {"Min": 1, "Max": 2, "Policy": null},
                   "Services": [{"Name": "web", "Provider": "nomad", "Connect": null}]}),
            json!({"Vault": null, "Identity": null, "Identities": [], "Actions": null,
                   "CSIPluginConfig": null, "Resources": {"Devices": null, "NUMA": null}}),
        ));
        assert_eq!(refusals(&job), Vec::<(String, String)>::new());
        assert_eq!(job.validate(), Ok(()));
    }

    #[test]
    fn refused_fields_survive_a_round_trip() {
        let job = job_from(api_job(
            json!({}),
            json!({}),
            json!({"Vault": {"Role": "db"}}),
        ));
        let back: Job = serde_json::to_value(&job)
            .and_then(serde_json::from_value)
            .expect("round trip");
        assert_eq!(back, job);
        let plain = serde_json::to_value(job_from(api_job(json!({}), json!({}), json!({}))))
            .expect("encodes");
        assert!(plain["TaskGroups"][0]["Tasks"][0].get("Vault").is_none());
    }
}
