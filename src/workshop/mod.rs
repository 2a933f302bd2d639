//! `atelier.workshop.v1.Workshop`: workshops, members, steps, sessions and
//! build packs.
//!
//! The service is routed and authenticated; RPCs that are not implemented
//! yet answer UNIMPLEMENTED through the generated default methods.

use crate::app::AppState;
use crate::proto::workshop::workshop_server::Workshop;

/// The Workshop service.
#[derive(Debug, Clone)]
pub struct WorkshopService {
    /// Database pool and object store shared with the rest of the server.
    pub state: AppState,
}

#[tonic::async_trait]
impl Workshop for WorkshopService {}
