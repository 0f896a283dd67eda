"""A full disk or a read-only folder is one line; what was there before stays whole and
loadable, and no temporary file is left behind.

The faults are injected at the write call (the error the OS gives), except the read-only
folder, which is a real one where the tests do not run as root (root may write anywhere).
"""

import errno
import json
import os
import signal
import tempfile

import keras
import numpy as np
import onnx
import pytest

import recipes
from export import artifacts, manifest
from recipes.cli import main
from recipes.trainer import build_model
from tests import helpers
from zoo import data, files
from zoo.errors import ZooError
from zoo.training import backups


def full_disk(path="") -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganzoo: error: ") and "\n" not in err, err
    return err


def tree(path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def tiny_training(run_dir, *flags) -> list[str]:
    return ["train", "--epochs", "1", "--steps-per-epoch", "5", "--batch-size", "16", "--set", "g_width=8",
            "--set", "d_width=8", "--set", "judge=none", "--no-export", "--run-dir", str(run_dir),
            *flags]  # fmt: skip


def test_a_full_disk_during_a_backup_keeps_the_previous_one(tmp_path, fashion_mnist_dir, monkeypatch, capsys):
    monkeypatch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))
    save_weights, calls = keras.Model.save_weights, []

    def fills_the_disk_the_second_time(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # half a file, then the disk is full
            with open(path, "wb") as f:
                f.write(b"\x89HDF\r\n\x1a\n" + bytes(1000))
            raise full_disk(path)
        return save_weights(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", fills_the_disk_the_second_time)
    run = tmp_path / "run"
    handlers = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    assert main(tiny_training(run, "--backup-every", "2")) == 2
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == handlers  # given back
    err = one_line(capsys)
    assert "cannot write the backup of step 4 to " in err and "(No space left on device)" in err, err
    assert "the backup of step 2 is intact" in err
    backup = run / "backup"
    assert sorted(p.name for p in backup.iterdir()) == ["step_000000002.weights.h5", "training_metadata.json"]
    assert json.loads((backup / "training_metadata.json").read_text())["step"] == 2
    monkeypatch.undo()
    recipe = recipes.Recipe.from_dict(json.loads((run / "config.json").read_text()))
    model = build_model(recipe, data.spec(recipe.dataset))
    model.load_weights(backup / "step_000000002.weights.h5")  # whole and loadable
    assert int(model.g_optimizer.iterations) == 2


def test_a_full_disk_during_an_export_keeps_the_previous_one(tmp_path, monkeypatch):
    model = helpers.fit_briefly(helpers.tiny("dcgan"))
    out = tmp_path / "export"
    artifacts.export_model(model, out, onnx_only=True)
    before = tree(out)
    save = onnx.save

    def fills_the_disk(proto, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"\x08\x07")  # the first bytes, then the disk is full
        raise full_disk(path)

    monkeypatch.setattr(onnx, "save", fills_the_disk)
    with pytest.raises(ZooError) as raised:
        artifacts.export_model(model, out, replace=True, onnx_only=True)
    message = str(raised.value)
    assert message == f"cannot write {out} (No space left on device); the previous export is intact", message
    monkeypatch.setattr(onnx, "save", save)
    assert tree(out) == before and manifest.read(out)  # whole, and its files match their hashes
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no staging folder left


@pytest.mark.parametrize("existed", [True, False])
def test_a_full_disk_while_assembling_any_folder_keeps_what_was_there(tmp_path, existed):
    """Presets, exports and the gallery are assembled in `staged_folder`."""
    out = tmp_path / "preset"
    if existed:
        out.mkdir()
        (out / "card.json").write_text("{}")
    with pytest.raises(ZooError) as raised, files.staged_folder(out, replace=True) as staging:
        (staging / "generator.weights.h5").write_bytes(b"half")
        raise full_disk(staging / "discriminator.weights.h5")
    kept = "the previous preset is intact" if existed else "nothing was written"
    assert str(raised.value) == f"cannot write {out} (No space left on device); {kept}"
    assert [p.name for p in tmp_path.iterdir()] == (["preset"] if existed else [])
    if existed:
        assert tree(out) == {"card.json": b"{}"}


def test_a_full_disk_under_a_json_file_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    files.write_json(path, {"old": 1})

    def fills_the_disk(self, text, *args, **kwargs):
        raise full_disk(self)

    monkeypatch.setattr(type(path), "write_text", fills_the_disk)
    full = r"cannot write .*summary.json \(No space left on device\); the previous file is intact"
    with pytest.raises(ZooError, match=full):
        files.write_json(path, {"new": 2})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"old": 1} and [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """A folder that cannot be written in: made read-only, or, as root, refused at the write."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mkstemp = tempfile.mkstemp

    def refused(*args, dir=None, **kwargs):
        if dir is not None and os.path.realpath(dir).startswith(str(folder.resolve())):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
        return mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    yield folder


def test_a_read_only_run_directory_is_one_line(read_only, fashion_mnist_dir, monkeypatch, capsys):
    monkeypatch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))
    assert main(tiny_training(read_only)) == 2
    err = one_line(capsys)
    assert err.startswith(f"ganzoo: error: cannot write {read_only} (")
    assert "; choose another --run-dir, or make this one writable" in err
    assert any(reason in err for reason in ("Read-only file system", "Permission denied")), err
    assert list(read_only.iterdir()) == []


def test_a_read_only_backup_folder_is_one_line_naming_the_kept_backup(read_only):
    model = helpers.tiny("dcgan")
    backup = backups.BackupAndRestore(read_only / "backup")
    backup.set_model(model)
    backup.set_params({"steps": 3})
    real, _ = helpers.real_batch(model, n=48)
    with pytest.raises(ZooError) as raised:
        model.fit(real, batch_size=16, epochs=1, verbose=0, callbacks=[backup])
    assert str(raised.value).startswith(f"cannot write the backup of step 3 to {read_only / 'backup'} (")
    assert "none was kept" in str(raised.value)
    assert np.all(np.isfinite(model.weights[0].numpy()))
