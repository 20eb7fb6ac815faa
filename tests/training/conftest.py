"""Tiny models and data for the training tests (CPU, a few ms per step)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset


class TinySegNet(nn.Module):
    """Two 3x3 convs -> per-pixel logits (B, num_classes, H, W)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width: int = 4):
        super().__init__()
        self.init_kwargs = {"in_channels": in_channels, "num_classes": num_classes, "width": width}
        self.body = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
                                  nn.Dropout2d(0.1), nn.Conv2d(width, num_classes, 3, padding=1))

    def forward(self, x):
        return self.body(x)


class TinyClassifier(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 2):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(4, num_classes)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def blob_segmentation(n: int, size: int = 12, seed: int = 0) -> TensorDataset:
    """Images with a bright square; the label is the square (class 1) on background (class 0)."""
    generator = torch.Generator().manual_seed(seed)
    images = 0.1 * torch.randn(n, 1, size, size, generator=generator)
    labels = torch.zeros(n, size, size, dtype=torch.long)
    for i in range(n):
        r, c = torch.randint(0, size - 5, (2,), generator=generator).tolist()
        labels[i, r:r + 5, c:c + 5] = 1
        images[i, 0, r:r + 5, c:c + 5] += 1.0
    return TensorDataset(images, labels)


def bright_or_dark(n: int, size: int = 8, seed: int = 0) -> TensorDataset:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    images = 0.3 * torch.randn(n, 1, size, size, generator=generator) + labels.view(-1, 1, 1, 1).float()
    return TensorDataset(images, labels)


@pytest.fixture
def seg_data():
    return blob_segmentation(16, seed=1), blob_segmentation(8, seed=2)


@pytest.fixture
def cls_data():
    return bright_or_dark(16, seed=1), bright_or_dark(8, seed=2)


@pytest.fixture
def make_seg_model():
    def make(seed: int = 0) -> TinySegNet:
        torch.manual_seed(seed)
        return TinySegNet()
    return make


@pytest.fixture
def make_classifier():
    def make(seed: int = 0) -> TinyClassifier:
        torch.manual_seed(seed)
        return TinyClassifier()
    return make


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster on a free localhost port; skips when PostgreSQL is not installed."""
    import glob
    import os
    import shutil
    import subprocess
    import tempfile

    pytest.importorskip("psycopg2")
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        pytest.skip("PostgreSQL not installed (no /usr/lib/postgresql/*/bin/initdb)")
    bin_dir = os.path.dirname(binaries[-1])
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    folder = tempfile.mkdtemp(prefix="medinterp-pg-")
    if as_postgres:
        shutil.chown(folder, user="postgres")
    data, port = os.path.join(folder, "data"), _free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"

    def pg(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True, timeout=120)

    try:
        pg(f"{bin_dir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        pg(f"{bin_dir}/pg_ctl", "-D", data, "-o", options, "-l", os.path.join(folder, "log"), "-w", "start")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"could not start a throwaway PostgreSQL: {error}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
