# pytest setup for the Python binding tests: puts the generated bindings (bindings/python, made by
# scripts/gen-bindings.sh: `gridbook` over gridbook_ffi and gridbook_core) on the path and
# provides the store and sync-server fixtures.
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINDINGS = pathlib.Path(os.environ.get("GRIDBOOK_BINDINGS_PY", ROOT / "bindings" / "python"))
if not (BINDINGS / "gridbook.py").exists():
    raise RuntimeError(f"no Python bindings in {BINDINGS}: run scripts/gen-bindings.sh first")
sys.path.insert(0, str(BINDINGS))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import gridbook as gb  # noqa: E402
from testkit import COMPANY, GRID, STAFF_NO, LogLines, SyncServer  # noqa: E402


@pytest.fixture
def store_path(tmp_path):
    return str(tmp_path / "phone.db")


@pytest.fixture
def server(tmp_path):
    """A real gridbook-sync-server on 127.0.0.1 with a fresh database: grid g1 (and g2, assigned to
    nobody), field manager mgr-1 assigned to g1 with staff number STAFF_NO, the receipts printed
    under COMPANY (the server's configuration, sent to the phones with every sync)."""
    srv = SyncServer(tmp_path / "server")
    srv.admin("create-grid", "--id", GRID, "--name", "幸福里网格")
    srv.admin("create-grid", "--id", "g2", "--name", "和平里网格")
    srv.admin("create-manager", "--id", "mgr-1", "--name", "李经理", "--role", "field")
    srv.admin("assign-grid", "--manager", "mgr-1", "--grid", GRID)
    srv.admin("set-staff-no", "--manager", "mgr-1", "--staff-no", STAFF_NO)
    srv.start("--company-name", COMPANY)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def log_lines():
    """The app's log sink, installed for the test at INFO (what the apps install) and removed after."""
    lines = LogLines()
    gb.install_log_sink(lines, gb.LogLevel.INFO)
    try:
        yield lines
    finally:
        gb.remove_log_sink()
