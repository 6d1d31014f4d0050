"""Security: no network at import or while planning, user data never unpickled, archives not unpacked."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl.errors import DataError
from automl.ingest import load_dataset


def test_importing_and_planning_make_no_network_call(tmp_path):
    """In a fresh process (this one has imported everything already), every way to open a
    connection raises; importing automl and planning a run must not try."""
    table = tmp_path / "t.csv"
    pd.DataFrame({"x": np.arange(30.0) % 7, "label": ["a", "b", "c"] * 10}).to_csv(table, index=False)
    script = textwrap.dedent(f"""
        import socket, sys
        def refuse(*args, **kwargs):
            raise SystemExit("network call attempted: " + repr(args)[:200])
        socket.socket.connect = socket.socket.connect_ex = refuse
        socket.create_connection = socket.getaddrinfo = refuse
        import automl, automl.cli, automl.pipeline
        code = automl.cli.main(["plan", {str(table)!r}])
        sys.exit(code)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "network call attempted" not in done.stdout + done.stderr


class _Payload:
    """Unpickling this would create a file: proof that pickled user data was executed."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def test_npz_with_a_pickled_payload_is_refused_and_never_run(tmp_path, config_for):
    marker = tmp_path / "pwned"
    x = np.empty(12, dtype=object)
    x[:] = [_Payload(marker)] * 12
    np.savez(tmp_path / "evil.npz", x=x, y=np.arange(12) % 2)
    assert pickle.dumps(x)  # the archive really holds a pickle
    with pytest.raises(DataError, match="object arrays, which would need unpickling"):
        load_dataset(config_for(tmp_path / "evil.npz"))
    assert not marker.exists()


def test_archives_are_not_unpacked(tmp_path, config_for):
    """An archive whose names climb out of its root (zip slip) must not write anywhere."""
    with zipfile.ZipFile(tmp_path / "data.zip", "w") as archive:
        archive.writestr("../../escaped.png", b"\x89PNG")
        archive.writestr("cats/1.png", b"\x89PNG")
    with pytest.raises(DataError, match="extension '.zip'"):
        load_dataset(config_for(tmp_path / "data.zip"))
    assert not (tmp_path.parent.parent / "escaped.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.zip"]
