"""Content hashes, and the one Dagster internal the project leans on."""

import hashlib

from superstore_assets import versioning
from superstore_assets_tests.conftest import BUNDLED


def test_file_and_bytes_hashes_agree():
    data = BUNDLED.read_bytes()
    assert versioning.sha256_file(BUNDLED) == versioning.sha256_bytes(data)
    assert versioning.sha256_bytes(data) == hashlib.sha256(data).hexdigest()
    assert versioning.short(versioning.sha256_bytes(data)) == hashlib.sha256(data).hexdigest()[:12]


def test_data_version_tag_is_dagsters():
    # Dagster does not export this constant; if it moves or changes, this fails loudly.
    from dagster._core.definitions.data_version import DATA_VERSION_TAG

    assert versioning.DATA_VERSION_TAG == DATA_VERSION_TAG
