//! `atelier.registry.v1.SkillRegistry`: skills, versions, ratings and usage.
//!
//! The service is routed and authenticated; RPCs that are not implemented
//! yet answer UNIMPLEMENTED through the generated default methods.

use crate::app::AppState;
use crate::proto::registry::skill_registry_server::SkillRegistry;

/// The SkillRegistry service.
#[derive(Debug, Clone)]
pub struct RegistryService {
    /// Database pool and object store shared with the rest of the server.
    pub state: AppState,
}

#[tonic::async_trait]
impl SkillRegistry for RegistryService {}
