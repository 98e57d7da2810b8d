//! What the engine remembers per (app, source user): the target's id, what it last sent, and the
//! account's state. Updates send only what differs from `last_sent`.

use serde_json::Value;

/// The target account's state as the engine left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShadowState {
    Active,
    Disabled,
    Deleted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Shadow {
    /// The target's `id`, once created or matched.
    pub target_id: Option<String>,
    /// A JSON object: target attribute path (as the mapping writes it) → the value last sent.
    pub last_sent: Value,
    pub state: ShadowState,
}

impl Shadow {
    /// The value last sent for `path`, if any.
    pub fn sent(&self, path: &str) -> Option<&Value> {
        self.last_sent.get(path).filter(|v| !v.is_null())
    }
}
