//! Applying the scheduler configuration (`operator scheduler set-config`).

use std::sync::Arc;

use nomadish_proto::model::SchedulerConfiguration;

use super::ApplyError;
use crate::state::StateView;

/// Replaces the scheduler configuration. With `cas_index`, only if the current configuration's
/// `ModifyIndex` equals it (0 when none was ever set); a mismatch is `CasMismatch` and changes
/// nothing.
pub(super) fn apply_set_scheduler_config(
    view: &mut StateView,
    index: u64,
    mut config: SchedulerConfiguration,
    cas_index: Option<u64>,
) -> Result<(), ApplyError> {
    let current = view.scheduler_config.as_deref();
    let actual = current.map_or(0, |c| c.modify_index);
    if let Some(expected) = cas_index
        && expected != actual
    {
        return Err(ApplyError::CasMismatch { expected, actual });
    }
    config
        .validate()
        .map_err(|reason| ApplyError::Invalid { reason })?;
    config.create_index = current.map_or(index, |c| c.create_index);
    config.modify_index = index;
    view.scheduler_config = Some(Arc::new(config));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsm::{Command, apply};

    fn set(algorithm: &str, cas_index: Option<u64>) -> Command {
        Command::SetSchedulerConfig {
            config: SchedulerConfiguration {
                scheduler_algorithm: algorithm.into(),
                ..Default::default()
            },
            cas_index,
        }
    }

    #[test]
    fn set_with_and_without_cas() {
        let mut view = StateView::default();
        assert!(apply(&mut view, 5, set("spread", None)).error.is_none());
        let c = view.scheduler_config.clone().unwrap();
        assert_eq!((c.create_index, c.modify_index), (5, 5));
        assert!(c.spread_algorithm());
        let r = apply(&mut view, 6, set("binpack", Some(4)));
        assert_eq!(
            r.error,
            Some(ApplyError::CasMismatch {
                expected: 4,
                actual: 5
            })
        );
        assert!(view.scheduler_config.as_ref().unwrap().spread_algorithm());
        assert!(apply(&mut view, 7, set("binpack", Some(5))).error.is_none());
        let c = view.scheduler_config.clone().unwrap();
        assert_eq!((c.create_index, c.modify_index), (5, 7));
        assert!(matches!(
            apply(&mut view, 8, set("nope", None)).error,
            Some(ApplyError::Invalid { .. })
        ));
    }

    #[test]
    fn config_survives_snapshot_and_changes_the_digest() {
        let mut view = StateView::default();
        let before = crate::state::state_digest(&view);
        apply(&mut view, 3, set("spread", None));
        let bytes = crate::state::encode_snapshot(&view);
        let back = crate::state::decode_snapshot(&bytes).unwrap();
        assert_eq!(back.scheduler_config, view.scheduler_config);
        assert_ne!(crate::state::state_digest(&view), before);
        assert_eq!(
            crate::state::state_digest(&back),
            crate::state::state_digest(&view)
        );
    }
}
