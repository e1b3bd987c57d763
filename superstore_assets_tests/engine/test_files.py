"""Where a storage URL points: the one test of 'local folder or object store'."""

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
