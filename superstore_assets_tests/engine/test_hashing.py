"""Content hashes."""

import hashlib

from superstore_assets.engine import hashing as versioning
from superstore_assets_tests.conftest import BUNDLED


def test_file_and_bytes_hashes_agree():
    data = BUNDLED.read_bytes()
    assert versioning.sha256_file(BUNDLED) == versioning.sha256_bytes(data)
    assert versioning.sha256_bytes(data) == hashlib.sha256(data).hexdigest()
    assert versioning.short(versioning.sha256_bytes(data)) == hashlib.sha256(data).hexdigest()[:12]
