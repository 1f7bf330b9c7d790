# Helpers for the Python binding tests: a real sync server run as a child process (temp database,
# admin commands, port file), sample records and signatures, and the app's log sink.
import os
import pathlib
import subprocess
import threading
import time

import gridbook as gb

ROOT = pathlib.Path(__file__).resolve().parents[2]
GRID = "g1"
# what the test server prints on every receipt: its configuration and mgr-1's staff number (工号)
COMPANY = "中国电信 幸福里营业部"
STAFF_NO = "HN0731"
APP_VERSION = "py-test-1.0"
NOW_MS = 1_795_000_000_000  # 2026-11-18, a fixed business time
CHINA = 480

# The stores' key vault: one software vault for the whole run, so a store reopened by a test
# unwraps its data key (phones use the Keystore / Keychain vault of their app).
VAULT = gb.software_vault(None)


def open_store(path) -> gb.GridbookStore:
    """Opens (or creates) an encrypted phone store at `path` through the run's vault."""
    return gb.GridbookStore.open(str(path), VAULT)


class SyncServer:
    """gridbook-sync-server serving a temp database on 127.0.0.1 (port chosen by the OS)."""

    def __init__(self, workdir: pathlib.Path):
        self.binary = pathlib.Path(
            os.environ.get("GRIDBOOK_SYNC_SERVER", ROOT / "target" / "debug" / "gridbook-sync-server"))
        if not self.binary.exists():
            raise RuntimeError(f"{self.binary} does not exist: cargo build -p gridbook-sync-server")
        workdir.mkdir(parents=True, exist_ok=True)
        self.db = workdir / "server.db"
        self.port_file = workdir / "port"
        self.log = workdir / "server.log"
        self.proc = None
        self.url = None

    def admin(self, *args: str) -> str:
        out = subprocess.run([str(self.binary), "admin", "--db", str(self.db), *args],
                             capture_output=True, text=True, timeout=60,
                             env={**os.environ, "GRIDBOOK_LOG": "warn"})
        if out.returncode != 0:
            raise AssertionError(f"admin {' '.join(args)} failed ({out.returncode}): {out.stderr}")
        return out.stdout.strip()

    def enrol_code(self, manager: str = "mgr-1") -> str:
        return self.admin("enrol-code", "--manager", manager).splitlines()[-1].strip()

    def start(self, *serve_args: str, timeout_s: float = 30.0) -> None:
        """Serves the database; `serve_args` are more of `serve`'s options (--company-name …)."""
        self.port_file.unlink(missing_ok=True)
        log = open(self.log, "w")
        self.proc = subprocess.Popen(
            [str(self.binary), "serve", "--db", str(self.db), "--listen", "127.0.0.1:0",
             "--port-file", str(self.port_file), *serve_args],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "GRIDBOOK_LOG": "warn"})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.port_file.exists() and self.port_file.read_text().strip():
                self.url = "http://" + self.port_file.read_text().strip()
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}: {self.log.read_text()}")
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"server did not listen within {timeout_s} s: {self.log.read_text()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def resident_id(base17: str) -> str:
    """A resident ID number with its correct check digit (ISO 7064 MOD 11-2)."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(base17, weights))
    return base17 + "10X98765432"[total % 11]


def household(premises_id=None, **overrides) -> "gb.Household":
    fields = dict(
        grid_id=GRID, premises_id=premises_id, unit="2单元", floor=5, room="502",
        address="人民路88号幸福里小区3号楼2单元502", customer_name="王芳", mobile="13812345678",
        id_type=gb.IdType.RESIDENT_ID, id_number=resident_id("11010519800101002"),
        services=[gb.OwnService(product="broadband", service_number="0731-88886666", plan="融合套餐129元")],
        competitor_services=[gb.CompetitorService(operator="china_mobile", product="mobile")],
        area=gb.Area.URBAN, segment=gb.Segment.RESIDENT)
    fields.update(overrides)
    return gb.Household(**fields)


def building(name="3号楼") -> "gb.Premises":
    return gb.Premises(grid_id=GRID, premises_type=gb.PremisesType.BUILDING, name=name,
                       community="幸福里小区", street="人民路", floors=18)


def signature_pad(strokes: int = 2, points: int = 30, ms_per_point: int = 20) -> "gb.SignaturePad":
    """A plausible handwritten signature: several strokes, well over 300 ms, on a 600x200 pad."""
    out = []
    t = 0
    for s in range(strokes):
        pts = []
        for i in range(points):
            pts.append(gb.PadPoint(x=40.0 + s * 180 + i * 4.5, y=60.0 + (i % 7) * 9.0 + s * 5,
                                   t_ms=t, pressure=0.5))
            t += ms_per_point
        t += 150
        out.append(gb.PadStroke(points=pts))
    return gb.SignaturePad(width=600, height=200, strokes=out)


class LogLines(gb.LogSink):
    """The phone's log (Logcat, os.Logger) as the app gives it to the core: remembers every line."""

    def __init__(self):
        self.lines = []
        self.lock = threading.Lock()

    def log(self, level, target, message):
        with self.lock:
            self.lines.append((level, target, message))

    def taken(self):
        with self.lock:
            return list(self.lines)
