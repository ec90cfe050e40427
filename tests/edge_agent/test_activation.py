"""Activating a delivered model: every refusal says why; the switch is atomic."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from certs import init_pki
from edge_agent.model_store import ActivationRefused, ModelStore, activate_bundle
from edge_agent.model_store.activation import smoke_test
from edgeward.bundles import read_bundle
from edgeward.schema import load_schema
from tests.support.models import archive_of, model_bundle

SCHEMA = load_schema().content_hash


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The control plane's signing key pair, and another authority's private key."""
    ours = init_pki(tmp_path_factory.mktemp("pki"), control_plane_address="tcp://127.0.0.1:7")
    theirs = init_pki(tmp_path_factory.mktemp("other"), control_plane_address="tcp://1.2.3.4:7")
    return ours.signing.private_key, ours.signing.public_key, theirs.signing.private_key


def delivered(tmp_path: Path, name: str, key: Path, **kw: object) -> Path:
    bundle = model_bundle(tmp_path / name, signing_key=key, **kw)  # type: ignore[arg-type]
    return archive_of(bundle, tmp_path / f"{name}.tar")


def test_a_good_model_is_activated_and_the_old_one_kept(
    tmp_path: Path, keys: tuple[Path, Path, Path]
) -> None:
    private, public, _ = keys
    store = ModelStore(tmp_path / "agent")
    activate_bundle(
        store,
        delivered(tmp_path, "v1", private, seed=1),
        version=1,
        signing_key=public,
        schema_hash=SCHEMA,
    )
    result = activate_bundle(
        store,
        delivered(tmp_path, "v2", private, seed=2),
        version=2,
        signing_key=public,
        schema_hash=SCHEMA,
    )
    assert (result.version, result.previous) == (2, 1)
    assert store.state() == {"active": 2, "previous": 1}
    assert store.roll_back() == 1
    assert store.state() == {"active": 1, "previous": 2}


def test_refusals_name_their_reason(tmp_path: Path, keys: tuple[Path, Path, Path]) -> None:
    private, public, stranger = keys
    store = ModelStore(tmp_path / "agent")
    activate_bundle(
        store,
        delivered(tmp_path, "v5", private, seed=5),
        version=5,
        signing_key=public,
        schema_hash=SCHEMA,
    )

    tampered = tmp_path / "tampered.tar"
    original = delivered(tmp_path, "v6", private, seed=6)
    with tarfile.open(original) as archive:
        weights_at = archive.getmember("weights.safetensors").offset_data
    data = bytearray(original.read_bytes())
    data[weights_at + 1000] ^= 0xFF  # a flipped byte inside the weights
    tampered.write_bytes(bytes(data))
    cases = {
        "tampered": (tampered, 6, "weights"),
        "foreign key": (delivered(tmp_path, "v7", stranger, seed=7), 7, "signature"),
        "older version": (delivered(tmp_path, "v4", private, seed=4), 4, "not newer"),
        "other schema": (
            delivered(tmp_path, "v8", private, seed=8, schema_hash="a" * 64),
            8,
            "trained on schema",
        ),
        "garbage": (tmp_path / "garbage.tar", 9, "cannot be read"),
    }
    (tmp_path / "garbage.tar").write_bytes(b"not a tar at all")
    for name, (archive, version, reason) in cases.items():
        with pytest.raises(ActivationRefused, match=reason):
            activate_bundle(store, archive, version=version, signing_key=public, schema_hash=SCHEMA)
        assert store.state()["active"] == 5, f"{name}: the active model did not change"
    older = activate_bundle(
        store,
        delivered(tmp_path, "v3", private, seed=3),
        version=3,
        signing_key=public,
        schema_hash=SCHEMA,
        allow_downgrade=True,
    )
    assert older.version == 3, "a signed rollback order may go back"


def test_a_model_with_non_finite_weights_is_refused_by_the_smoke_test(
    tmp_path: Path, keys: tuple[Path, Path, Path]
) -> None:
    private, public, _ = keys
    store = ModelStore(tmp_path / "agent")
    archive = delivered(tmp_path, "nan", private, seed=1, sabotage=float("inf"))
    with pytest.raises(ActivationRefused, match=r"cannot be loaded: .* is not finite"):
        activate_bundle(store, archive, version=1, signing_key=public, schema_hash=SCHEMA)
    assert store.state()["active"] is None


CHILD = """
import sys, time
from pathlib import Path
from edge_agent.model_store import ModelStore, activate_bundle
store = ModelStore(Path(sys.argv[1]))
print("ready", flush=True)
activate_bundle(store, Path(sys.argv[2]), version=int(sys.argv[3]),
                signing_key=Path(sys.argv[4]), schema_hash=sys.argv[5])
print("done", flush=True)
"""


@pytest.mark.integration
def test_killed_at_random_points_during_activation_it_always_has_a_working_model(
    tmp_path: Path, keys: tuple[Path, Path, Path]
) -> None:
    private, public, _ = keys
    data_dir = tmp_path / "agent"
    store = ModelStore(data_dir)
    activate_bundle(
        store,
        delivered(tmp_path, "v1", private, seed=1, hidden=512),
        version=1,
        signing_key=public,
        schema_hash=SCHEMA,
    )
    duration = _timed_activation(tmp_path, data_dir, private, public)
    # Kill moments spread evenly from "at once" to twice an undisturbed activation, in a
    # shuffled order: the early ones land before the switch and the late ones after it even
    # when a busy machine makes this activation slower or faster than the timed one.
    trials = 24
    delays = [2 * duration * i / (trials - 1) for i in range(trials)]
    random.Random(7).shuffle(delays)
    outcomes = []
    for trial, delay in enumerate(delays):
        version = trial + 2
        archive = delivered(tmp_path, f"v{version}", private, seed=version, hidden=512)
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(data_dir),
                str(archive),
                str(version),
                str(public),
                SCHEMA,
            ],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        recovered = ModelStore(data_dir)
        active = recovered.recover()
        assert active is not None, f"trial {trial}: no working model after the kill"
        smoke = smoke_test(read_bundle(recovered.version_dir(active)), None)
        assert smoke["windows"] == 1.0
        outcomes.append(active == version)
    state = json.loads((data_dir / "models" / "state.json").read_text())
    assert state["active"] is not None
    assert any(outcomes), "some kills landed after the switch"
    assert not all(outcomes), "some kills landed before the switch"


def _timed_activation(tmp_path: Path, data_dir: Path, private: Path, public: Path) -> float:
    """Activate once in a child, undisturbed; return how long activation itself took."""
    archive = delivered(tmp_path, "v100", private, seed=100, hidden=512)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), str(archive), "100", str(public), SCHEMA],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    started = time.monotonic()
    assert child.stdout.readline().strip() == "done"
    duration = time.monotonic() - started
    child.wait()
    ModelStore(data_dir).roll_back()  # back to version 1 for the trials
    return duration
