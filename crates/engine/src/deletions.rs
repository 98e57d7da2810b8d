//! The accidental-deletions threshold (spec §4.6): counted per cycle, user and group deletes
//! and disables together; past the threshold the cycle's deletions are held for an admin.

use crate::groups::{GroupOperation, GroupPlan};
use crate::plan::{Operation, UserPlan};

/// What the guard says about a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send everything.
    Proceed { deletions: usize },
    /// Hold the deletions (`TooManyDeletes`: quarantine, `StagedDelete` in the logs) until an
    /// admin allows them or fixes the cause.
    Hold { deletions: usize, threshold: usize },
}

/// Counts a cycle's planned deletes and disables against a threshold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeletionGuard {
    /// `None`: no threshold.
    pub threshold: Option<usize>,
    deletions: usize,
}

/// Whether `op` deletes or disables an account.
pub fn is_deletion(op: &Operation) -> bool {
    matches!(op, Operation::Delete { .. } | Operation::Disable { .. })
}

impl DeletionGuard {
    pub fn new(threshold: Option<usize>) -> Self {
        DeletionGuard {
            threshold,
            deletions: 0,
        }
    }

    /// Counts the deletions of one planned user.
    pub fn count_user(&mut self, plan: &UserPlan) {
        self.count(plan.operations.iter().filter(|op| is_deletion(op)).count());
    }

    /// Counts the deletions of one planned group.
    pub fn count_group(&mut self, plan: &GroupPlan) {
        let n = plan
            .operations
            .iter()
            .filter(|op| matches!(op, GroupOperation::Delete { .. }))
            .count();
        self.count(n);
    }

    /// Counts `n` deletions (group deletes, for instance).
    pub fn count(&mut self, n: usize) {
        self.deletions = self.deletions.saturating_add(n);
    }

    /// The verdict so far: held once the count exceeds the threshold.
    pub fn verdict(&self) -> Verdict {
        match self.threshold {
            Some(threshold) if self.deletions > threshold => Verdict::Hold {
                deletions: self.deletions,
                threshold,
            },
            _ => Verdict::Proceed {
                deletions: self.deletions,
            },
        }
    }

    /// A new cycle: the count starts again (the threshold is not cumulative).
    pub fn reset(&mut self) {
        self.deletions = 0;
    }
}
