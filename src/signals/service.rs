//! The `atelier.signals.v1.Signals` trait impl: each method only forwards
//! to its handler in [`super::rpc`]. Methods not written here answer
//! UNIMPLEMENTED (tonic's generated default).

use tonic::{Request, Response, Status};

use super::rpc::{members, projects, workspaces};
use crate::proto::signals as pb;
use crate::proto::signals::signals_server::Signals as SignalsRpc;
use crate::rpc;
use crate::state::AppState;

/// The Signals service.
#[derive(Debug, Clone)]
pub struct SignalsService {
    /// Database pool shared with the rest of the server.
    pub state: AppState,
}

#[tonic::async_trait]
impl SignalsRpc for SignalsService {
    async fn create_workspace(
        &self,
        request: Request<pb::CreateWorkspaceRequest>,
    ) -> Result<Response<pb::CreateWorkspaceResponse>, Status> {
        rpc::for_user(request, |user, req| {
            workspaces::create(&self.state, user, req)
        })
        .await
    }

    async fn get_workspace(
        &self,
        request: Request<pb::GetWorkspaceRequest>,
    ) -> Result<Response<pb::GetWorkspaceResponse>, Status> {
        rpc::for_user(request, |user, req| workspaces::get(&self.state, user, req)).await
    }

    async fn list_workspaces(
        &self,
        request: Request<pb::ListWorkspacesRequest>,
    ) -> Result<Response<pb::ListWorkspacesResponse>, Status> {
        rpc::for_user(request, |user, req| {
            workspaces::list(&self.state, user, req)
        })
        .await
    }

    async fn update_workspace(
        &self,
        request: Request<pb::UpdateWorkspaceRequest>,
    ) -> Result<Response<pb::UpdateWorkspaceResponse>, Status> {
        rpc::for_user(request, |user, req| {
            workspaces::update(&self.state, user, req)
        })
        .await
    }

    async fn delete_workspace(
        &self,
        request: Request<pb::DeleteWorkspaceRequest>,
    ) -> Result<Response<pb::DeleteWorkspaceResponse>, Status> {
        rpc::for_user(request, |user, req| {
            workspaces::delete(&self.state, user, req)
        })
        .await
    }

    async fn add_workspace_member(
        &self,
        request: Request<pb::AddWorkspaceMemberRequest>,
    ) -> Result<Response<pb::AddWorkspaceMemberResponse>, Status> {
        rpc::for_user(request, |user, req| members::add(&self.state, user, req)).await
    }

    async fn update_workspace_member(
        &self,
        request: Request<pb::UpdateWorkspaceMemberRequest>,
    ) -> Result<Response<pb::UpdateWorkspaceMemberResponse>, Status> {
        rpc::for_user(request, |user, req| members::update(&self.state, user, req)).await
    }

    async fn remove_workspace_member(
        &self,
        request: Request<pb::RemoveWorkspaceMemberRequest>,
    ) -> Result<Response<pb::RemoveWorkspaceMemberResponse>, Status> {
        rpc::for_user(request, |user, req| members::remove(&self.state, user, req)).await
    }

    async fn list_workspace_members(
        &self,
        request: Request<pb::ListWorkspaceMembersRequest>,
    ) -> Result<Response<pb::ListWorkspaceMembersResponse>, Status> {
        rpc::for_user(request, |user, req| members::list(&self.state, user, req)).await
    }

    async fn create_project(
        &self,
        request: Request<pb::CreateProjectRequest>,
    ) -> Result<Response<pb::CreateProjectResponse>, Status> {
        rpc::for_user(request, |user, req| {
            projects::create(&self.state, user, req)
        })
        .await
    }

    async fn get_project(
        &self,
        request: Request<pb::GetProjectRequest>,
    ) -> Result<Response<pb::GetProjectResponse>, Status> {
        rpc::for_user(request, |user, req| projects::get(&self.state, user, req)).await
    }

    async fn list_projects(
        &self,
        request: Request<pb::ListProjectsRequest>,
    ) -> Result<Response<pb::ListProjectsResponse>, Status> {
        rpc::for_user(request, |user, req| projects::list(&self.state, user, req)).await
    }

    async fn update_project(
        &self,
        request: Request<pb::UpdateProjectRequest>,
    ) -> Result<Response<pb::UpdateProjectResponse>, Status> {
        rpc::for_user(request, |user, req| {
            projects::update(&self.state, user, req)
        })
        .await
    }

    async fn delete_project(
        &self,
        request: Request<pb::DeleteProjectRequest>,
    ) -> Result<Response<pb::DeleteProjectResponse>, Status> {
        rpc::for_user(request, |user, req| {
            projects::delete(&self.state, user, req)
        })
        .await
    }
}
