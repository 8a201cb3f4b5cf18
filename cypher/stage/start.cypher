// A stage run begins: recorded before any work so a crash leaves a trace (status 'running').
CREATE (s:StageRun {id: $id, dataset: $dataset, stage: $stage, params: $params,
                    fingerprint: $fingerprint, status: 'running', started_at: datetime(),
                    code_version: $code_version})
