//! Group membership deltas (spec §1.4): members added and removed as `Add`/`Remove` operations
//! on `members`, split to the target's per-request limit.

use serde_json::{json, Value};

/// PatchOp operations adding `added` and removing `removed` (target ids), at most
/// `max_per_request` members per operation (a limit of 0 counts as 1). Adds come first.
pub fn membership_deltas(
    added: &[String],
    removed: &[String],
    max_per_request: usize,
) -> Vec<Value> {
    let size = max_per_request.max(1);
    let chunks = |op: &'static str, ids: &[String]| -> Vec<Value> {
        ids.chunks(size)
            .map(|chunk| {
                let value: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
                json!({"op": op, "path": "members", "value": value})
            })
            .collect()
    };
    let mut ops = chunks("Add", added);
    ops.extend(chunks("Remove", removed));
    ops
}
