//! What the planner needs of the engine's shadow of one (app, source user): the target's id,
//! what was last sent, and the account's state. The store keeps more (`domain::Shadow`:
//! escrow, due time); the runtime converts.

use serde_json::Value;

pub use domain::ShadowState;

#[derive(Debug, Clone, PartialEq)]
pub struct Shadow {
    /// The target's `id`, once created or matched.
    pub target_id: Option<String>,
    /// A JSON object: target attribute path (as the mapping writes it) → the value last sent.
    /// Keys starting with `$` are the engine's bookkeeping, never sent.
    pub last_sent: Value,
    pub state: ShadowState,
}

impl Shadow {
    /// The value last sent for `path`, if any.
    pub fn sent(&self, path: &str) -> Option<&Value> {
        self.last_sent.get(path).filter(|v| !v.is_null())
    }
}

impl From<&domain::Shadow> for Shadow {
    fn from(s: &domain::Shadow) -> Self {
        Shadow {
            target_id: s.target_id.clone(),
            last_sent: s.last_sent.clone(),
            state: s.state,
        }
    }
}
