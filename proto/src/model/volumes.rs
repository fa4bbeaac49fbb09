//! Host volumes: the operator's `client { host_volume "name" { path read_only } }` as the
//! node reports it, a group's `volume "label" { type source read_only }` request and a task's
//! `volume_mount { volume destination read_only propagation_mode }`, in Nomad's JSON shapes.

use serde::{Deserialize, Serialize};

/// Nomad's volume type for a volume on the client's own file system.
pub const VOLUME_TYPE_HOST: &str = "host";
/// Nomad's volume type for a CSI volume (refused by nomadish).
pub const VOLUME_TYPE_CSI: &str = "csi";

/// `Node.HostVolumes[name]`: a directory the operator offers to jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct ClientHostVolumeConfig {
    pub name: String,
    pub path: String,
    pub read_only: bool,
}

/// `TaskGroup.Volumes[label]`: a volume the group's tasks may mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeRequest {
    pub name: String,
    #[serde(rename = "Type")]
    pub volume_type: String,
    pub source: String,
    pub read_only: bool,
    pub access_mode: String,
    pub attachment_mode: String,
    pub per_alloc: bool,
}

/// `Task.VolumeMounts[i]`: where a group volume appears inside the task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeMount {
    pub volume: String,
    pub destination: String,
    pub read_only: bool,
    pub propagation_mode: String,
}
