//! The `atelier.workshop.v1.Workshop` trait impl: each method only forwards
//! to its handler in [`super::rpc`].

use tonic::{Request, Response, Status};

use super::rpc::{build_packs, members, sessions, steps, workshops};
use crate::proto::workshop as pb;
use crate::proto::workshop::workshop_server::Workshop as WorkshopRpc;
use crate::rpc;
use crate::state::AppState;

/// The Workshop service.
#[derive(Debug, Clone)]
pub struct WorkshopService {
    /// Database pool and object store shared with the rest of the server.
    pub state: AppState,
}

#[tonic::async_trait]
impl WorkshopRpc for WorkshopService {
    async fn create_workshop(
        &self,
        request: Request<pb::CreateWorkshopRequest>,
    ) -> Result<Response<pb::CreateWorkshopResponse>, Status> {
        rpc::for_user_with_caller(request, |caller, user, req| {
            workshops::create(&self.state, caller, user, req)
        })
        .await
    }

    async fn get_workshop(
        &self,
        request: Request<pb::GetWorkshopRequest>,
    ) -> Result<Response<pb::GetWorkshopResponse>, Status> {
        rpc::for_user(request, |user, req| workshops::get(&self.state, user, req)).await
    }

    async fn list_workshops(
        &self,
        request: Request<pb::ListWorkshopsRequest>,
    ) -> Result<Response<pb::ListWorkshopsResponse>, Status> {
        rpc::for_user(request, |user, req| workshops::list(&self.state, user, req)).await
    }

    async fn update_workshop(
        &self,
        request: Request<pb::UpdateWorkshopRequest>,
    ) -> Result<Response<pb::UpdateWorkshopResponse>, Status> {
        rpc::for_user(request, |user, req| {
            workshops::update(&self.state, user, req)
        })
        .await
    }

    async fn delete_workshop(
        &self,
        request: Request<pb::DeleteWorkshopRequest>,
    ) -> Result<Response<pb::DeleteWorkshopResponse>, Status> {
        rpc::for_user(request, |user, req| {
            workshops::delete(&self.state, user, req)
        })
        .await
    }

    async fn share_workshop(
        &self,
        request: Request<pb::ShareWorkshopRequest>,
    ) -> Result<Response<pb::ShareWorkshopResponse>, Status> {
        rpc::for_user(request, |user, req| {
            workshops::share(&self.state, user, req)
        })
        .await
    }

    async fn get_shared_workshop(
        &self,
        request: Request<pb::GetSharedWorkshopRequest>,
    ) -> Result<Response<pb::GetSharedWorkshopResponse>, Status> {
        rpc::for_caller(request, |req| workshops::get_shared(&self.state, req)).await
    }

    async fn add_member(
        &self,
        request: Request<pb::AddMemberRequest>,
    ) -> Result<Response<pb::AddMemberResponse>, Status> {
        rpc::for_user(request, |user, req| members::add(&self.state, user, req)).await
    }

    async fn update_member(
        &self,
        request: Request<pb::UpdateMemberRequest>,
    ) -> Result<Response<pb::UpdateMemberResponse>, Status> {
        rpc::for_user(request, |user, req| members::update(&self.state, user, req)).await
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::RemoveMemberResponse>, Status> {
        rpc::for_user(request, |user, req| members::remove(&self.state, user, req)).await
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        rpc::for_user(request, |user, req| members::list(&self.state, user, req)).await
    }

    async fn list_step_definitions(
        &self,
        request: Request<pb::ListStepDefinitionsRequest>,
    ) -> Result<Response<pb::ListStepDefinitionsResponse>, Status> {
        rpc::for_caller(request, |req| steps::list_definitions(&self.state, req)).await
    }

    async fn get_workshop_step(
        &self,
        request: Request<pb::GetWorkshopStepRequest>,
    ) -> Result<Response<pb::GetWorkshopStepResponse>, Status> {
        rpc::for_user(request, |user, req| steps::get(&self.state, user, req)).await
    }

    async fn get_step_context(
        &self,
        request: Request<pb::GetStepContextRequest>,
    ) -> Result<Response<pb::GetStepContextResponse>, Status> {
        rpc::for_user(request, |user, req| steps::context(&self.state, user, req)).await
    }

    async fn list_workshop_steps(
        &self,
        request: Request<pb::ListWorkshopStepsRequest>,
    ) -> Result<Response<pb::ListWorkshopStepsResponse>, Status> {
        rpc::for_user(request, |user, req| steps::list(&self.state, user, req)).await
    }

    async fn update_workshop_step(
        &self,
        request: Request<pb::UpdateWorkshopStepRequest>,
    ) -> Result<Response<pb::UpdateWorkshopStepResponse>, Status> {
        rpc::for_user(request, |user, req| steps::update(&self.state, user, req)).await
    }

    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        rpc::for_user(request, |user, req| sessions::list(&self.state, user, req)).await
    }

    async fn end_session(
        &self,
        request: Request<pb::EndSessionRequest>,
    ) -> Result<Response<pb::EndSessionResponse>, Status> {
        rpc::for_user(request, |user, req| sessions::end(&self.state, user, req)).await
    }

    async fn create_build_pack(
        &self,
        request: Request<pb::CreateBuildPackRequest>,
    ) -> Result<Response<pb::CreateBuildPackResponse>, Status> {
        rpc::for_user(request, |user, req| {
            build_packs::create(&self.state, user, req)
        })
        .await
    }

    async fn get_build_pack(
        &self,
        request: Request<pb::GetBuildPackRequest>,
    ) -> Result<Response<pb::GetBuildPackResponse>, Status> {
        rpc::for_user(request, |user, req| {
            build_packs::get(&self.state, user, req)
        })
        .await
    }

    async fn list_build_packs(
        &self,
        request: Request<pb::ListBuildPacksRequest>,
    ) -> Result<Response<pb::ListBuildPacksResponse>, Status> {
        rpc::for_user(request, |user, req| {
            build_packs::list(&self.state, user, req)
        })
        .await
    }

    async fn read_build_pack_content(
        &self,
        request: Request<pb::ReadBuildPackContentRequest>,
    ) -> Result<Response<tonic::codegen::BoxStream<pb::ReadBuildPackContentResponse>>, Status> {
        rpc::for_user(request, |user, req| {
            build_packs::read_content(&self.state, user, req)
        })
        .await
    }
}
