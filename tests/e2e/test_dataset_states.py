"""A dataset whose first ingest stopped before any interaction was written (status
'ingesting') is still a dataset: ``stats`` and ``status`` show it instead of failing."""
from __future__ import annotations

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.e2e


def test_stats_and_status_show_a_dataset_without_interactions(store, neo4j_settings, dataset_name):
    store.run("ingest/merge_dataset", dataset=dataset_name, domain="movies", source="x", format="csv",
              cold={})
    store.run_text("CREATE (:User {dataset: $d, id: 'u1'})", d=dataset_name)
    result = run_cli(["--dataset", dataset_name, "stats"], neo4j_settings)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "interactions  0" in result.output and "users         1" in result.output
    result = run_cli(["status"], neo4j_settings)  # every dataset, this one included
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert dataset_name in result.output
