fn parse_step_id(raw: &str) -> ApiResult<String> {
    let valid = !raw.is_empty()
        && raw.len() <= 50
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::invalid_field(
            "step_id",
            "must be a step definition id such as `ideate` (see ListStepDefinitions)",
        ))
    }
}
