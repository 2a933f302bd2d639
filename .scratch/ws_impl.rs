impl WorkshopService {
    async fn conn(&self) -> ApiResult<crate::db::PooledConnection> {
        Ok(self.state.pool.get().await?)
    }

    /// Build pack `id`, if `user` may read its workshop (NOT_FOUND for the
    /// pack otherwise, saying nothing about the workshop).
    async fn readable_pack(&self, id: Uuid, user: &UserId) -> ApiResult<build_packs::BuildPack> {
        let mut conn = self.conn().await?;
        let pack = build_packs::find(&mut conn, id).await?;
        match authorize(&mut conn, pack.workshop_id, user, Power::Read, false).await {
            Ok(_) => Ok(pack),
            Err(error) if error.code == tonic::Code::NotFound => {
                Err(ApiError::not_found("build pack", id))
            }
            Err(error) => Err(error),
        }
    }

    /// The checked change of an UpdateWorkshopStep request.
    fn step_change(&self, req: pb::UpdateWorkshopStepRequest) -> ApiResult<steps::StepChange> {
        let mut violations = Violations::new();
        let status = violations.check("status", fields::step_status_from_proto(req.status));
        let output = req.output.and_then(|output| {
            violations.check(
                "output",
                crate::proto::checked_struct_to_json(output).map(serde_json::Value::Object),
            )
        });
        if let Some(output) = &output {
            let size = serde_json::to_vec(output).map_or(usize::MAX, |b| b.len());
            let max = self.state.workshop.step_output_max_bytes;
            if size > max {
                violations.add(
                    "output",
                    format!("is {size} bytes of JSON; at most {max} allowed"),
                );
            }
        }
        if req.skip && !req.confirm_skip {
            violations.add(
                "confirm_skip",
                "must be true to skip a step (skipping completes it without output)",
            );
        }
        if req.skip && matches!(status, Some(Some(s)) if s != "complete") {
            violations.add("status", "must be unset or COMPLETE when skipping");
        }
        if !req.skip && matches!(status, Some(None)) && output.is_none() {
            violations.add("status", "nothing to change: set status, output or skip");
        }
        violations.finish()?;
        Ok(steps::StepChange {
            status: status.flatten(),
            skip: req.skip,
            output,
        })
    }
}