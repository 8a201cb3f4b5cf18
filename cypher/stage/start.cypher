// A stage run begins: recorded before any work so a crash leaves a trace (status 'running');
// host and pid let a later run tell a killed one ('interrupted') from one still working.
CREATE (s:StageRun {id: $id, dataset: $dataset, stage: $stage, params: $params,
                    fingerprint: $fingerprint, status: 'running', started_at: datetime(),
                    code_version: $code_version, host: $host, pid: $pid})
