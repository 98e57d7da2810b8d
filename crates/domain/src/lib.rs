//! Scimitar's identity model: resources, schemas and their validation, PATCH, projection, and the
//! ports (`Store`, `Clock`) that adapters implement, with what every store adapter does alike
//! (`storage`). No HTTP, no SQL.

pub mod clock;
pub mod dynamic;
pub mod error;
pub mod inbound;
pub mod model;
pub mod patch;
pub mod project;
pub mod provisioning;
pub mod render;
pub mod schema;
pub mod secret;
pub mod storage;
pub mod store;
pub mod target;
pub mod transfer;

pub use clock::{Clock, SystemClock};
pub use error::{Error, Result};
pub use model::*;
pub use provisioning::*;
pub use store::{ShadowCounts, Store};
