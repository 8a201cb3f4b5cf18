"""The three enrichment commands end to end through the CLI: the --no-llm chain, and the
tiny model through --model."""
from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.fixtures_models import ingest, movie_catalogue, small_catalogue, tiny_vlm  # noqa: F401

pytestmark = pytest.mark.e2e


def test_cli_describe_profile_embed(store, neo4j_settings, settings, movie_catalogue, tiny_vlm, tmp_path):  # noqa: F811
    ingest(store, settings.dataset, small_catalogue(movie_catalogue, 8, 6))
    d = ["--dataset", settings.dataset]
    res = run_cli([*d, "describe-items", "--no-llm"], neo4j_settings)
    assert res.exit_code == 0, res.output
    assert "describe: 8 total, 0 generated" in res.output
    res = run_cli([*d, "describe-items", "--model", str(tiny_vlm), "--device", "cpu",
                   "--max-new-tokens", "4", "--batch-size", "3",
                   "--image-cache", str(tmp_path / "img")], neo4j_settings)
    assert res.exit_code == 0, res.output
    assert "8 generated" in res.output
    res = run_cli([*d, "profile-users", "--no-llm"], neo4j_settings)
    assert res.exit_code == 0 and "6 generated" in res.output, res.output
    res = run_cli([*d, "embed"], neo4j_settings)
    assert res.exit_code == 0 and "14 generated" in res.output, res.output
    res = run_cli([*d, "embed"], neo4j_settings)
    assert "0 generated" in res.output and "14 up to date" in res.output, res.output
    res = run_cli([*d, "profile-users", "--prompt-version", "v7", "--model", str(tiny_vlm)], neo4j_settings)
    assert res.exit_code != 0 and "profile_user.v1.txt" in str(res.exception or res.output)
