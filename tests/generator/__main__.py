"""``python tests/generator OUT_DIR [--scans]``: write the sample bulletins."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generator.samples import main  # noqa: E402

raise SystemExit(main())
