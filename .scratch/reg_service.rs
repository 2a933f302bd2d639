    async fn create_skill(
        &self,
        request: Request<pb::CreateSkillRequest>,
    ) -> Result<Response<pb::CreateSkillResponse>, Status> {
        rpc::for_user(request, |user, req| skills::create(&self.state, user, req)).await
    }

    async fn get_skill(
        &self,
        request: Request<pb::GetSkillRequest>,
    ) -> Result<Response<pb::GetSkillResponse>, Status> {
        rpc::for_caller(request, |req| skills::get(&self.state, req)).await
    }

    async fn list_skills(
        &self,
        request: Request<pb::ListSkillsRequest>,
    ) -> Result<Response<pb::ListSkillsResponse>, Status> {
        rpc::for_caller(request, |req| skills::list(&self.state, req)).await
    }

    async fn update_skill(
        &self,
        request: Request<pb::UpdateSkillRequest>,
    ) -> Result<Response<pb::UpdateSkillResponse>, Status> {
        rpc::for_user(request, |user, req| skills::update(&self.state, user, req)).await
    }

    async fn delete_skill(
        &self,
        request: Request<pb::DeleteSkillRequest>,
    ) -> Result<Response<pb::DeleteSkillResponse>, Status> {
        rpc::for_user(request, |user, req| skills::delete(&self.state, user, req)).await
    }

    async fn create_skill_version(
        &self,
        request: Request<pb::CreateSkillVersionRequest>,
    ) -> Result<Response<pb::CreateSkillVersionResponse>, Status> {
        rpc::for_user(request, |user, req| versions::create(&self.state, user, req)).await
    }

    async fn upload_skill_version(
        &self,
        request: Request<tonic::Streaming<pb::UploadSkillVersionRequest>>,
    ) -> Result<Response<pb::UploadSkillVersionResponse>, Status> {
        rpc::for_user(request, |user, req| versions::upload(&self.state, user, req)).await
    }

    async fn get_skill_version(
        &self,
        request: Request<pb::GetSkillVersionRequest>,
    ) -> Result<Response<pb::GetSkillVersionResponse>, Status> {
        rpc::for_caller(request, |req| versions::get(&self.state, req)).await
    }

    async fn list_skill_versions(
        &self,
        request: Request<pb::ListSkillVersionsRequest>,
    ) -> Result<Response<pb::ListSkillVersionsResponse>, Status> {
        rpc::for_caller(request, |req| versions::list(&self.state, req)).await
    }

    async fn read_skill_version_content(
        &self,
        request: Request<pb::ReadSkillVersionContentRequest>,
    ) -> Result<Response<tonic::codegen::BoxStream<pb::ReadSkillVersionContentResponse>>, Status> {
        rpc::for_caller(request, |req| versions::read_content(&self.state, req)).await
    }

    async fn publish_skill_version(
        &self,
        request: Request<pb::PublishSkillVersionRequest>,
    ) -> Result<Response<pb::PublishSkillVersionResponse>, Status> {
        rpc::for_user(request, |user, req| versions::publish(&self.state, user, req)).await
    }

    async fn rate_skill(
        &self,
        request: Request<pb::RateSkillRequest>,
    ) -> Result<Response<pb::RateSkillResponse>, Status> {
        rpc::for_user(request, |user, req| ratings::rate(&self.state, user, req)).await
    }

    async fn list_ratings(
        &self,
        request: Request<pb::ListRatingsRequest>,
    ) -> Result<Response<pb::ListRatingsResponse>, Status> {
        rpc::for_caller(request, |req| ratings::list(&self.state, req)).await
    }

    async fn record_usage(
        &self,
        request: Request<pb::RecordUsageRequest>,
    ) -> Result<Response<pb::RecordUsageResponse>, Status> {
        rpc::for_user(request, |user, req| usage::record(&self.state, user, req)).await
    }

    async fn batch_record_usage(
        &self,
        request: Request<pb::BatchRecordUsageRequest>,
    ) -> Result<Response<pb::BatchRecordUsageResponse>, Status> {
        rpc::for_user(request, |user, req| usage::record_batch(&self.state, user, req)).await
    }
