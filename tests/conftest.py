import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The sample generator (tests/generator) is test tooling, not part of the
# installed package; ``pipeline`` itself is imported from the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


@pytest.fixture(scope="session")
def samples(tmp_path_factory):
    """The generated sample bulletins (born-digital) with their truth, built once per session."""
    import generator as generate
    out = tmp_path_factory.mktemp("samples")
    truths = generate.write_samples(out / "raw", scans=False, truth_dir=out / "truth")
    return out, {t["id"]: t for t in truths}


# the good PDFs and preloaded archive of the hostile-input tests
from hostile_common import archive, good  # noqa: E402,F401
