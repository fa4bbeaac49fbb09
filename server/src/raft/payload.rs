//! What a raft entry carries: a [`Command`], shared, with its JSON encoded at most once.
//!
//! An entry is encoded for the log file and again for each follower's append-entries call,
//! and a follower decodes it and encodes it again for its own log. The payload keeps the JSON
//! it was first encoded to (or decoded from) next to the command and writes those bytes
//! wherever it is encoded again, so the leader encodes each command once and a follower not
//! at all.
//!
//! Every server applies the command decoded from those bytes, the leader included: a command
//! handed to [`Payload::new`] is not applied as it is, because anything a JSON round trip
//! does not keep exactly would then make the leader's state differ from its followers'.
//!
//! The kept bytes are written with serde_json's raw-value support, so entries must only be
//! encoded and decoded with serde_json (the log files and the raft RPCs are).

use std::sync::{Arc, OnceLock};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::fsm::Command;

/// A replicated command; cloning shares it.
#[derive(Clone)]
pub struct Payload {
    cmd: Arc<Command>,
    json: Arc<OnceLock<Box<RawValue>>>,
    /// Whether `cmd` was decoded from `json`, and so is what every server applies.
    decoded: bool,
}

impl Payload {
    /// Wraps `cmd` for a raft write.
    pub fn new(cmd: Command) -> Self {
        Self {
            cmd: Arc::new(cmd),
            json: Arc::default(),
            decoded: false,
        }
    }

    /// The command to apply: the one decoded from the entry's JSON, as every server reads
    /// it. A decoded command is taken without a copy unless another holder still shares it;
    /// one given to [`Payload::new`] is decoded from its encoding here.
    pub fn into_command(self) -> serde_json::Result<Command> {
        if self.decoded {
            return Ok(Arc::unwrap_or_clone(self.cmd));
        }
        match self.encoded() {
            Some(raw) => serde_json::from_str(raw.get()),
            None => serde_json::to_value(&*self.cmd).and_then(serde_json::from_value),
        }
    }

    /// The command.
    pub fn command(&self) -> &Command {
        &self.cmd
    }

    /// The command's JSON, encoded on first use (`None` if it cannot be encoded, which a
    /// plain encode would then report).
    fn encoded(&self) -> Option<&RawValue> {
        if let Some(raw) = self.json.get() {
            return Some(raw);
        }
        let raw = serde_json::value::to_raw_value(&*self.cmd).ok()?;
        Some(self.json.get_or_init(|| raw))
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.cmd.fmt(f)
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.cmd == other.cmd
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.encoded() {
            Some(raw) => raw.serialize(s),
            None => self.cmd.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let cmd = serde_json::from_str(raw.get()).map_err(D::Error::custom)?;
        Ok(Self {
            cmd: Arc::new(cmd),
            json: Arc::new(OnceLock::from(raw)),
            decoded: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};

    use super::*;
    use crate::raft::TypeConfig;

    fn command() -> Command {
        Command::UpsertEvals {
            evals: vec![nomadish_proto::model::Evaluation {
                id: "e1".into(),
                namespace: "default".into(),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn encodes_as_the_bare_command_and_keeps_its_bytes() {
        let payload = Payload::new(command());
        let plain = serde_json::to_string(&command()).unwrap();
        assert_eq!(serde_json::to_string(&payload).unwrap(), plain);
        assert_eq!(payload.json.get().map(|r| r.get()), Some(plain.as_str()));
        // A clone shares the encoded bytes.
        assert!(payload.clone().json.get().is_some());
    }

    #[test]
    fn entries_round_trip_and_read_what_earlier_versions_wrote() {
        let entry = |payload| Entry::<TypeConfig> {
            log_id: LogId::new(CommittedLeaderId::new(3, 1), 7),
            payload: EntryPayload::Normal(payload),
        };
        // Entries written before payloads kept their bytes held the command itself.
        #[derive(Serialize)]
        struct Old {
            log_id: LogId<u64>,
            payload: EntryPayload<OldConfig>,
        }
        use std::io::Cursor;
        openraft::declare_raft_types!(OldConfig: D = Command, R = (), NodeId = u64);
        let old = serde_json::to_vec(&Old {
            log_id: LogId::new(CommittedLeaderId::new(3, 1), 7),
            payload: EntryPayload::Normal(command()),
        })
        .unwrap();
        let read: Entry<TypeConfig> = serde_json::from_slice(&old).unwrap();
        assert_eq!(read, entry(Payload::new(command())));

        let again = serde_json::to_vec(&read).unwrap();
        assert_eq!(again, old, "decoded bytes are written back unchanged");
        let EntryPayload::Normal(payload) = read.payload else {
            panic!("a normal entry");
        };
        assert_eq!(payload.into_command().unwrap(), command());
    }

    #[test]
    fn a_new_command_is_applied_as_its_json_reads_back() {
        // Stands for a command a JSON round trip does not keep exactly: its kept JSON reads
        // back as a different command, which is what the followers apply.
        let written = command();
        let Command::UpsertEvals { mut evals } = command() else {
            unreachable!()
        };
        evals[0].id = "e2".into();
        let read_back = Command::UpsertEvals { evals };
        let payload = Payload::new(written.clone());
        let json = serde_json::value::to_raw_value(&read_back).unwrap();
        payload.json.set(json).unwrap();

        let follower: Payload =
            serde_json::from_slice(&serde_json::to_vec(&payload).unwrap()).unwrap();
        assert_eq!(follower.into_command().unwrap(), read_back);
        assert_eq!(payload.into_command().unwrap(), read_back, "the leader too");
        // A command not yet encoded is encoded and read back.
        assert_eq!(
            Payload::new(written.clone()).into_command().unwrap(),
            written
        );
    }

    #[test]
    fn a_bad_command_is_refused() {
        let err = serde_json::from_str::<Payload>(r#"{"NoSuchCommand":{}}"#).unwrap_err();
        assert!(err.to_string().contains("NoSuchCommand"), "{err}");
    }
}
