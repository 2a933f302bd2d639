//! The `atelier.signals.v1.Signals` trait impl: each method only forwards
//! to its handler in [`super::rpc`].

use tonic::{Request, Response, Status};

use super::rpc::{links, members, projects, signals, workspaces};
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

    async fn create_signal(
        &self,
        request: Request<pb::CreateSignalRequest>,
    ) -> Result<Response<pb::CreateSignalResponse>, Status> {
        rpc::for_user(request, |user, req| signals::create(&self.state, user, req)).await
    }

    async fn batch_create_signals(
        &self,
        request: Request<pb::BatchCreateSignalsRequest>,
    ) -> Result<Response<pb::BatchCreateSignalsResponse>, Status> {
        rpc::for_user(request, |user, req| {
            signals::batch_create(&self.state, user, req)
        })
        .await
    }

    async fn get_signal(
        &self,
        request: Request<pb::GetSignalRequest>,
    ) -> Result<Response<pb::GetSignalResponse>, Status> {
        rpc::for_user(request, |user, req| signals::get(&self.state, user, req)).await
    }

    async fn list_signals(
        &self,
        request: Request<pb::ListSignalsRequest>,
    ) -> Result<Response<pb::ListSignalsResponse>, Status> {
        rpc::for_user(request, |user, req| signals::list(&self.state, user, req)).await
    }

    async fn update_signal(
        &self,
        request: Request<pb::UpdateSignalRequest>,
    ) -> Result<Response<pb::UpdateSignalResponse>, Status> {
        rpc::for_user(request, |user, req| signals::update(&self.state, user, req)).await
    }

    async fn delete_signal(
        &self,
        request: Request<pb::DeleteSignalRequest>,
    ) -> Result<Response<pb::DeleteSignalResponse>, Status> {
        rpc::for_user(request, |user, req| signals::delete(&self.state, user, req)).await
    }

    async fn link_signal_to_project(
        &self,
        request: Request<pb::LinkSignalToProjectRequest>,
    ) -> Result<Response<pb::LinkSignalToProjectResponse>, Status> {
        rpc::for_user(request, |user, req| {
            links::link_project(&self.state, user, req)
        })
        .await
    }

    async fn unlink_signal_from_project(
        &self,
        request: Request<pb::UnlinkSignalFromProjectRequest>,
    ) -> Result<Response<pb::UnlinkSignalFromProjectResponse>, Status> {
        rpc::for_user(request, |user, req| {
            links::unlink_project(&self.state, user, req)
        })
        .await
    }

    async fn link_signal_to_persona(
        &self,
        request: Request<pb::LinkSignalToPersonaRequest>,
    ) -> Result<Response<pb::LinkSignalToPersonaResponse>, Status> {
        rpc::for_user(request, |user, req| {
            links::link_persona(&self.state, user, req)
        })
        .await
    }

    async fn unlink_signal_from_persona(
        &self,
        request: Request<pb::UnlinkSignalFromPersonaRequest>,
    ) -> Result<Response<pb::UnlinkSignalFromPersonaResponse>, Status> {
        rpc::for_user(request, |user, req| {
            links::unlink_persona(&self.state, user, req)
        })
        .await
    }

    async fn list_signal_links(
        &self,
        request: Request<pb::ListSignalLinksRequest>,
    ) -> Result<Response<pb::ListSignalLinksResponse>, Status> {
        rpc::for_user(request, |user, req| {
            links::list_signal_links(&self.state, user, req)
        })
        .await
    }

    async fn list_project_signals(
        &self,
        request: Request<pb::ListProjectSignalsRequest>,
    ) -> Result<Response<pb::ListProjectSignalsResponse>, Status> {
        rpc::for_user(request, |user, req| {
            links::list_project_signals(&self.state, user, req)
        })
        .await
    }

    async fn list_persona_signals(
        &self,
        request: Request<pb::ListPersonaSignalsRequest>,
    ) -> Result<Response<pb::ListPersonaSignalsResponse>, Status> {
        rpc::for_user(request, |user, req| {
            links::list_persona_signals(&self.state, user, req)
        })
        .await
    }
}
