use super::*;
use serde_json::json;

fn task(extra: serde_json::Value) -> DockerTaskConfig {
    let mut value = json!({"image": "nomadish-test/busybox:latest"});
    value
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    DockerTaskConfig::parse(&serde_json::from_value(value).unwrap()).unwrap()
}

fn env() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("NOMAD_JOB_ID".to_string(), "web".to_string()),
        ("NOMAD_NAMESPACE".to_string(), "default".to_string()),
        ("NOMAD_HOST_PORT_http".to_string(), "25000".to_string()),
        ("NOMAD_PORT_http".to_string(), "8080".to_string()),
        ("NOMAD_IP_http".to_string(), "127.0.0.1".to_string()),
        (
            "NOMAD_TASK_DIR".to_string(),
            "/data/alloc/a1/t/local".to_string(),
        ),
    ])
}

fn inputs<'a>(env: &'a BTreeMap<String, String>, user: &'a str) -> ContainerInputs<'a> {
    ContainerInputs {
        task_name: "t",
        alloc_id: "a1",
        node_id: "n1",
        user,
        memory_mb: 64,
        memory_max_mb: 0,
        cpu_mhz: 100,
        env,
        alloc_dir: Path::new("/data/alloc/a1"),
        task_dir: Path::new("/data/alloc/a1/t"),
        host_mounts: &[],
    }
}

#[test]
fn every_container_is_hardened() {
    let env = env();
    let body = build(
        &DockerPluginConfig::default(),
        &task(json!({})),
        &inputs(&env, ""),
    )
    .unwrap();
    let hc = body.host_config.unwrap();
    assert_eq!(hc.cap_drop.unwrap(), ["ALL"]);
    assert_eq!(hc.cap_add, None);
    assert_eq!(hc.readonly_rootfs, Some(true));
    assert!(hc.tmpfs.unwrap().contains_key("/tmp"));
    assert_eq!(hc.security_opt.unwrap(), ["no-new-privileges"]);
    assert_eq!(hc.init, Some(true));
    assert_eq!(hc.pids_limit, Some(1024));
    assert_eq!(hc.memory, Some(64 * MIB));
    assert_eq!(hc.memory_swap, Some(64 * MIB));
    assert_eq!(hc.cpu_shares, Some(100));
    assert_eq!(hc.privileged, Some(false));
    assert_eq!(
        hc.binds.unwrap(),
        [
            "/data/alloc/a1/alloc:/alloc",
            "/data/alloc/a1/t/local:/local",
            "/data/alloc/a1/t/secrets:/secrets"
        ]
    );
    assert_eq!(body.user.as_deref(), Some(NOBODY));
    let labels = body.labels.unwrap();
    assert_eq!(labels[LABEL_ALLOC_ID], "a1");
    assert_eq!(labels[LABEL_JOB_ID], "web");
    assert_eq!(labels[LABEL_TASK_NAME], "t");
    assert_eq!(labels[LABEL_NAMESPACE], "default");
    assert_eq!(labels[LABEL_NODE_ID], "n1");
    let env = body.env.unwrap();
    assert!(
        env.contains(&"NOMAD_TASK_DIR=/local".to_string()),
        "{env:?}"
    );
}

#[test]
fn memory_max_and_ports_and_command() {
    let env = env();
    let mut i = inputs(&env, "");
    i.memory_max_mb = 256;
    let t = task(json!({"ports": ["http"], "command": "sh", "args": ["-c", "true"]}));
    let body = build(&DockerPluginConfig::default(), &t, &i).unwrap();
    assert_eq!(body.cmd.unwrap(), ["sh", "-c", "true"]);
    let hc = body.host_config.unwrap();
    assert_eq!(hc.memory, Some(256 * MIB));
    assert_eq!(hc.memory_reservation, Some(64 * MIB));
    let b = &hc.port_bindings.unwrap()["8080/tcp"];
    let b = &b.as_ref().unwrap()[0];
    assert_eq!(b.host_port.as_deref(), Some("25000"));
    assert_eq!(b.host_ip.as_deref(), Some("127.0.0.1"));
    let err = build(
        &DockerPluginConfig::default(),
        &task(json!({"ports": ["nope"]})),
        &inputs(&env, ""),
    )
    .unwrap_err();
    assert!(err.to_string().contains("nope"));
}

#[test]
fn refusals_name_the_client_option() {
    let env = env();
    let plugin = DockerPluginConfig::default();
    let cases = [
        (json!({"privileged": true}), "allow_privileged = true"),
        (json!({"network_mode": "host"}), "allow_host_network = true"),
        (json!({"pid_mode": "host"}), "allow_host_pid = true"),
        (json!({"ipc_mode": "host"}), "allow_host_ipc = true"),
        (json!({"uts_mode": "host"}), "allow_host_uts = true"),
        (json!({"userns_mode": "host"}), "allow_host_userns = true"),
        (
            json!({"devices": [{"host_path": "/dev/fuse"}]}),
            "allow_devices = true",
        ),
        (json!({"cap_add": ["net_admin"]}), "allow_caps"),
        (json!({"runtime": "runsc"}), "allow_runtimes"),
        (
            json!({"volumes": ["/etc:/host-etc"]}),
            "volumes { enabled = true }",
        ),
        (
            json!({"volumes": ["../../x:/x"]}),
            "volumes { enabled = true }",
        ),
    ];
    for (extra, option) in cases {
        let err = build(&plugin, &task(extra.clone()), &inputs(&env, ""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(option) && err.contains("refused"),
            "{extra}: {err}"
        );
        assert!(err.contains("plugin \"docker\""), "{err}");
    }
    let err = build(&plugin, &task(json!({})), &inputs(&env, "root"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("allow_user = true"), "{err}");
    // nobody is always fine; relative volumes inside the task dir too ...
    build(
        &plugin,
        &task(json!({"volumes": ["local/x:/x:ro"]})),
        &inputs(&env, "nobody"),
    )
    .unwrap();
    // ... or at least inside the alloc dir.
    let body = build(
        &plugin,
        &task(json!({"volumes": ["../alloc/data:/data"]})),
        &inputs(&env, ""),
    )
    .unwrap();
    let binds = body.host_config.unwrap().binds.unwrap();
    assert_eq!(binds[3], "/data/alloc/a1/alloc/data:/data");
}

#[test]
fn allowed_options_pass_through() {
    let env = env();
    let plugin = DockerPluginConfig {
        allow_privileged: true,
        allow_host_network: true,
        allow_caps: vec!["NET_BIND_SERVICE".into()],
        allow_user: true,
        ..DockerPluginConfig::default()
    };
    let t =
        task(json!({"privileged": true, "network_mode": "host", "cap_add": ["net_bind_service"]}));
    let body = build(&plugin, &t, &inputs(&env, "1000")).unwrap();
    let hc = body.host_config.unwrap();
    assert_eq!(hc.privileged, Some(true));
    assert_eq!(hc.network_mode.as_deref(), Some("host"));
    assert_eq!(hc.cap_add.unwrap(), ["NET_BIND_SERVICE"]);
    assert_eq!(body.user.as_deref(), Some("1000"));
}

#[test]
fn host_volumes_are_bind_mounted_without_the_volumes_option() {
    use crate::driver::mounts::HostMount;
    let env = env();
    let mounts = [
        HostMount {
            host_path: "/srv/pg".into(),
            destination: "/var/lib/pg".into(),
            read_only: false,
        },
        HostMount {
            host_path: "/etc/certs".into(),
            destination: "/certs".into(),
            read_only: true,
        },
    ];
    let mut with_mounts = inputs(&env, "");
    with_mounts.host_mounts = &mounts;
    let plugin = DockerPluginConfig::default();
    assert!(!plugin.volumes.enabled);
    let body = build(&plugin, &task(json!({})), &with_mounts).unwrap();
    let binds = body.host_config.unwrap().binds.unwrap();
    assert_eq!(binds[3..], ["/srv/pg:/var/lib/pg", "/etc/certs:/certs:ro"]);
    let relative = [HostMount {
        destination: "data".into(),
        ..mounts[0].clone()
    }];
    with_mounts.host_mounts = &relative;
    let err = build(&plugin, &task(json!({})), &with_mounts).unwrap_err();
    assert!(err.to_string().contains("must be absolute"), "{err}");
}
