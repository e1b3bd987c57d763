"""Run tags: the dataset and the git state."""

import subprocess

from superstore_assets.engine import provenance


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_git_state_reads_commit_and_dirtiness(tmp_path):
    assert provenance.git_state(tmp_path) == {"git_commit": "unknown", "git_dirty": "unknown"}
    git("init", "-q", cwd=tmp_path)
    (tmp_path / "a.txt").write_text("one")
    git("add", "a.txt", cwd=tmp_path)
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "one", cwd=tmp_path)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert provenance.git_state(tmp_path) == {"git_commit": head, "git_dirty": "false"}
    (tmp_path / "untracked.txt").write_text("not code under version control")
    assert provenance.git_state(tmp_path)["git_dirty"] == "false"
    (tmp_path / "a.txt").write_text("two")
    assert provenance.git_state(tmp_path) == {"git_commit": head, "git_dirty": "true"}


def test_run_tags_name_the_file_not_its_folder():
    tags = provenance.run_tags(
        "/data/x/Sample - Superstore.csv", "ab" * 32, 2277811, 9994, {"git_commit": "c"}
    )
    assert tags == {
        "superstore/dataset": "Sample - Superstore.csv",
        "superstore/dataset_sha256": "ab" * 32,
        "superstore/dataset_bytes": "2277811",
        "superstore/dataset_rows": "9994",
        "superstore/git_commit": "c",
    }
