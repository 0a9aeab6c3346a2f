# Shared by scripts/demo and scripts/test: create .venv with Python 3.11 (once) and install the
# pinned requirements into it (pip skips what is already installed, so re-runs are quick).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
python="${PYTHON:-python3.11}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
