//! Where each part of the decoded job came from: a map from model field paths to source
//! offsets, so validation problems (which name a [`FieldPath`]) can point into the jobspec.

use std::collections::BTreeMap;

use nomadish_proto::model::canonicalize::FieldPath;

/// Source offsets of the job's fields and objects.
#[derive(Debug, Default)]
pub(crate) struct SpanMap {
    offsets: BTreeMap<FieldPath, usize>,
}

impl SpanMap {
    /// Records where `path` was written (the first record wins).
    pub(crate) fn record(&mut self, path: FieldPath, offset: usize) {
        self.offsets.entry(path).or_insert(offset);
    }

    /// The offset of `path`, or of its nearest recorded ancestor (a missing `driver` points at
    /// its `task` block), or 0.
    pub(crate) fn locate(&self, path: &FieldPath) -> usize {
        let mut current = Some(path.clone());
        while let Some(p) = current {
            if let Some(offset) = self.offsets.get(&p) {
                return *offset;
            }
            current = p.parent();
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_falls_back_to_ancestors() {
        let mut spans = SpanMap::default();
        let task = FieldPath::root()
            .field("TaskGroups")
            .index(0)
            .field("Tasks")
            .index(1);
        spans.record(FieldPath::root(), 3);
        spans.record(task.clone(), 40);
        spans.record(task.field("Driver"), 50);
        spans.record(task.field("Driver"), 99);
        assert_eq!(spans.locate(&task.field("Driver")), 50);
        assert_eq!(spans.locate(&task.field("Resources").field("CPU")), 40);
        assert_eq!(spans.locate(&FieldPath::root().field("Type")), 3);
        assert_eq!(SpanMap::default().locate(&task), 0);
    }
}
