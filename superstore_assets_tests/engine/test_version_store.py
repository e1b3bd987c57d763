"""The version store on an object store (moto's S3 server on loopback): what a check asks of the
store, and what it still catches. On this machine the same rules go by the file's stat
(test_io_manager.py::test_a_version_this_process_wrote_is_known_intact_without_reading_it_back).
"""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest

from superstore_assets.engine import files, version_store
from superstore_assets.engine.hashing import sha256_bytes
from superstore_assets.engine.version_store import ALTERED, GONE, INTACT, VersionStore

BUCKET = "versions"


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """An S3 endpoint with one bucket; every S3 file system of this process forgotten before and
    after, so none made for another endpoint is reused (fsspec keeps one per set of options)."""
    from s3fs import S3FileSystem

    from superstore_assets_tests.team_services import s3_server

    with s3_server() as endpoint, pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "superstore-test",
            "AWS_SECRET_ACCESS_KEY": "superstore-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        }.items():
            patch.setenv(name, value)
        S3FileSystem.clear_instance_cache()
        import boto3

        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield endpoint
        S3FileSystem.clear_instance_cache()


@pytest.fixture
def requests(monkeypatch) -> collections.Counter:
    """The S3 calls made from here on, by operation (head_object, get_object, ...)."""
    from s3fs import S3FileSystem

    made: collections.Counter = collections.Counter()
    call = S3FileSystem._call_s3

    async def counted(self, method, *args, **kwargs):
        made[method if isinstance(method, str) else method.__name__] += 1
        return await call(self, method, *args, **kwargs)

    monkeypatch.setattr(S3FileSystem, "_call_s3", counted)
    return made


def test_a_checked_version_is_answered_by_its_etag_and_vouches_for_its_copy(s3, requests):
    store = VersionStore(f"s3://{BUCKET}/{sha256_bytes(b's3')[:8]}/tables", "table")
    data = b"stored bytes of a table"
    version = sha256_bytes(data)
    files.write_atomic(store.version_path("t", version), data)
    assert [p.name for p in store.versions_folder("t").iterdir()] == [f"{version}.parquet"]
    assert files.copy_atomic(store.version_path("t", version), store.current_path("t"))

    requests.clear()
    assert store.state("t", version) == INTACT  # read once: the object's ETag is unknown
    assert requests["get_object"] == 1
    requests.clear()
    assert store.is_intact("t", version) and store.current_is_intact("t", version)
    assert requests == {"head_object": 2}, "one request each, nothing read back"

    # Replaced by hand, even by bytes of the same size: a new ETag, so it is read and refused.
    for path in (store.version_path("t", version), store.current_path("t")):
        path.fs.pipe_file(path.path, b"x" * len(data))
    assert store.state("t", version) == ALTERED
    assert not store.current_is_intact("t", version)
    with pytest.raises(version_store.StoredFileError, match="changed by hand"):
        store.verified("t", version)
    files.remove(store.version_path("t", version))
    files.remove(store.version_path("t", version))  # already gone: nothing to do
    assert store.state("t", version) == GONE
    assert files.size_of(store.version_path("t", version)) is None
    assert not files.copy_atomic(store.version_path("t", version), store.current_path("t"))
    with pytest.raises(version_store.StoredFileError, match="was deleted"):
        store.verified("t", version)


def test_a_store_without_etags_reads_every_check(tmp_path):
    store = VersionStore(f"memory://no-etags-{tmp_path.name}/tables", "table")
    data = b"bytes"
    version = sha256_bytes(data)
    files.write_atomic(store.version_path("t", version), data)
    assert store.is_intact("t", version)
    store.version_path("t", version).write_bytes(b"other")
    assert store.state("t", version) == ALTERED
