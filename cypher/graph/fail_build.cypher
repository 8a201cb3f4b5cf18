MATCH (b:GraphBuild {id: $id})
SET b.status = 'failed', b.finished_at = datetime(), b.error = $error
