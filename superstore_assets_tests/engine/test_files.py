"""Files: where a storage URL points (the one test of 'local folder or object store'), and the
temporary files a killed writer leaves."""

from pathlib import Path

import pytest

from superstore_assets.engine.files import is_local, local_path, protocol


@pytest.mark.parametrize(
    ("url", "local", "folder"),
    [
        ("/srv/storage", True, Path("/srv/storage")),
        ("storage", True, Path("storage")),
        ("file:///srv/storage", True, Path("/srv/storage")),
        ("local:///srv/storage", True, Path("/srv/storage")),
        ("s3://bucket/prefix", False, None),
        ("memory://bucket", False, None),
    ],
)
def test_a_storage_url_is_a_local_folder_or_an_object_store(url, local, folder):
    assert is_local(url) is local
    if local:
        assert local_path(url) == folder
    else:
        assert protocol(url) == url.split("://")[0]


def test_a_copy_on_an_object_store_is_made_by_the_store_not_through_this_process(
    tmp_path, monkeypatch
):
    from superstore_assets.engine.files import copy_atomic, open_root, write_atomic

    root = open_root(f"memory://copies-{tmp_path.name}")
    source, target = root / "versions" / "a" / "v.parquet", root / "a.parquet"
    write_atomic(source, b"stored bytes")
    write_atomic(target, b"an older version")

    def downloaded(self):
        raise AssertionError(f"{self} was read into this process")

    monkeypatch.setattr(type(source), "read_bytes", downloaded)
    copy_atomic(source, target)
    monkeypatch.undo()
    assert target.read_bytes() == b"stored bytes"
    assert sorted(p.name for p in root.iterdir()) == ["a.parquet", "versions"]  # no temporary
    # A local file is copied whole under a temporary name and renamed into place.
    local = tmp_path / "v.parquet"
    local.write_bytes(b"local bytes")
    copy_atomic(local, tmp_path / "current" / "a.parquet")
    assert (tmp_path / "current" / "a.parquet").read_bytes() == b"local bytes"
    assert [p.name for p in (tmp_path / "current").iterdir()] == ["a.parquet"]


def test_only_temporaries_of_ended_processes_of_this_machine_are_removed(tmp_path):
    from superstore_assets.engine.files import remove_orphaned_temporaries, temporary_name
    from superstore_assets_tests.conftest import temporary_name_of_an_ended_process

    ended = temporary_name_of_an_ended_process("a.parquet")
    this_process = temporary_name("b.parquet")  # still writing
    elsewhere = ended.replace(ended.split(".")[3].rsplit("-", 2)[0], "another_host")
    names = [ended, this_process, elsewhere, ".c.parquet.0123.tmp", "d.parquet"]
    folder = tmp_path / "tables" / "versions" / "x"
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_bytes(b"x")
    assert remove_orphaned_temporaries(tmp_path) == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted(names[1:])
