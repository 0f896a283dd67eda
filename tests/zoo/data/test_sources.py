"""Every kind of source (folder, array, tfds name), the preprocessing, and every bad input:
each a one-line error or a counted warning, never a traceback."""

import os

import numpy as np
import pytest
from PIL import Image

from zoo import data
from zoo.data import folder
from zoo.errors import ZooError


def write(path, image: Image.Image, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)
    return path


def solid(colour, size=(40, 40), mode="RGB"):
    return Image.new(mode, size, colour)


@pytest.fixture
def tfds_dir(tmp_path, monkeypatch):
    """Prepared copies go to a fresh data dir, so no test reads another's."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    return tmp_path / "tfds"


def test_class_subfolders_are_labels_in_sorted_order(tmp_path, tfds_dir):
    for i in range(3):
        write(tmp_path / "pics" / "zebra" / f"{i}.png", solid((255, 0, 0)))
        write(tmp_path / "pics" / "apple" / "deeper" / f"{i}.jpg", solid((0, 0, 255)), quality=95)
    source = data.source(str(tmp_path / "pics"), data.Preprocessing(image_size=32))
    assert source.kind == "folder" and source.class_names == ("apple", "zebra")
    assert source.spec == data.DatasetSpec((32, 32, 3), 2, ("apple", "zebra"))
    images, labels = data.real_images(source, labels=True)
    blue = images[..., 2] > 0.9
    assert images.shape == (6, 32, 32, 3)
    assert all(blue[i].all() == (labels[i] == 0) for i in range(6))  # apple is blue, label 0
    source.require_labels("cgan")  # two classes, every image in one


def test_a_flat_folder_has_no_labels_and_keeps_its_own_size_and_gray(tmp_path, tfds_dir):
    for i in range(4):
        write(tmp_path / "flat" / f"{i}.png", solid(i * 60, (64, 64), "L"))
    source = data.source(str(tmp_path / "flat"))
    assert source.spec == data.DatasetSpec((64, 64, 1), None, ())
    with pytest.raises(ZooError, match=r"cgan needs class labels; .*flat .*has none"):
        source.require_labels("cgan")
    batch, labels = next(iter(data.load(source, batch_size=4, shuffle=False)))
    assert batch.shape == (4, 64, 64, 1) and set(labels.numpy()) == {0}
    np.testing.assert_allclose(sorted(batch.numpy()[:, 0, 0, 0]), [i * 60 / 127.5 - 1 for i in range(4)])


def test_one_class_folder_or_loose_images_are_refused_for_a_conditional_variant(tmp_path, tfds_dir):
    write(tmp_path / "one" / "cats" / "a.png", solid((1, 2, 3)))
    with pytest.raises(ZooError, match=r"at least two classes; .* has one \(cats\)"):
        data.source(str(tmp_path / "one")).require_labels("acgan")
    write(tmp_path / "one" / "dogs" / "b.png", solid((1, 2, 3)))
    write(tmp_path / "one" / "loose.png", solid((1, 2, 3)))
    with pytest.raises(ZooError, match=r"1 images of .* lie outside the class subfolders"):
        data.source(str(tmp_path / "one")).require_labels("acgan")


@pytest.mark.parametrize("make", ["missing", "empty", "no images"])
def test_a_folder_without_images_is_one_line(tmp_path, tfds_dir, make):
    root = tmp_path / "pics"
    if make != "missing":
        root.mkdir()
    if make == "no images":
        (root / "notes.txt").write_text("not a picture")
        (root / "sub").mkdir()
    with pytest.raises(ZooError) as error:
        data.source(str(root))
    assert "\n" not in str(error.value)
    assert ("is not a folder" if make == "missing" else "holds no images") in str(error.value)


def test_corrupt_and_truncated_files_are_skipped_counted_and_named(tmp_path, tfds_dir, capsys):
    root = tmp_path / "pics"
    for i in range(3):
        write(root / f"good{i}.png", solid((0, 255, 0)))
    (root / "garbage.jpg").write_bytes(b"this is not a jpeg at all")
    noise = np.random.default_rng(0).integers(0, 255, (40, 40, 3), np.uint8)
    whole = write(tmp_path / "whole.png", Image.fromarray(noise))
    (root / "truncated.png").write_bytes(whole.read_bytes()[:300])
    source = data.source(str(root))
    assert source.num_examples("train") == 3
    warning = capsys.readouterr().err
    assert "skipped 2 of 5 image files" in warning and "garbage.jpg" in warning and "truncated.png" in warning
    assert warning.count("\n") == 1
    for good in root.glob("good*"):
        good.unlink()
    with pytest.raises(ZooError, match="none of its 2 image files can"):
        data.source(str(root))


def test_mixed_sizes_and_modes_all_become_one_shape(tmp_path, tfds_dir, capsys):
    root = tmp_path / "mixed"
    palette = Image.new("P", (50, 30))
    palette.putpalette([255, 0, 0] * 256)
    palette.info["transparency"] = 0  # every pixel transparent: the background shows
    write(root / "palette.png", palette)
    write(root / "gray16.png", Image.fromarray(np.full((20, 20), 65535, np.uint16)))
    write(root / "cmyk.jpg", Image.new("CMYK", (80, 80), (0, 255, 255, 0)), quality=100)  # red
    write(root / "la.png", Image.new("LA", (32, 32), (0, 255)))
    write(root / "rgba.webp", Image.new("RGBA", (40, 60), (0, 0, 255, 255)), lossless=True)
    write(root / "bilevel.bmp", Image.new("1", (30, 30), 1))
    write(root / "anim.gif", Image.new("RGB", (33, 33), (0, 255, 0)))
    source = data.source(str(root), data.Preprocessing(image_size=28, background="black"))
    assert "images of 7 sizes" not in capsys.readouterr().err  # the size was given
    images = dict(zip(sorted(p.name for p in root.iterdir()), _in_file_order(source), strict=True))
    assert all(image.shape == (28, 28, 3) for image in images.values())
    np.testing.assert_allclose(images["palette.png"], -1.0, atol=1e-6)  # transparent on black
    np.testing.assert_allclose(images["gray16.png"], 1.0, atol=1e-6)  # 16-bit white stays white
    assert images["cmyk.jpg"][..., 0].min() > 0.9 and images["cmyk.jpg"][..., 1:].max() < -0.9
    np.testing.assert_allclose(images["la.png"], -1.0, atol=1e-6)
    assert images["rgba.webp"][..., 2].min() > 0.99 and images["rgba.webp"][..., :2].max() < -0.99
    np.testing.assert_allclose(images["bilevel.bmp"], 1.0, atol=1e-6)


def _in_file_order(source):
    return next(iter(data.load(source, batch_size=100, shuffle=False, drop_remainder=False)))[0].numpy()


def test_without_a_size_several_sizes_take_the_median_and_say_so(tmp_path, tfds_dir, capsys):
    for i, side in enumerate([40, 70, 100]):
        write(tmp_path / "sizes" / f"{i}.png", solid((9, 9, 9), (side, side + 10)))
    assert data.source(str(tmp_path / "sizes")).spec.image_shape == (64, 64, 3)
    assert "training at 64x64 (--image-size chooses)" in capsys.readouterr().err


def test_a_huge_image_is_skipped_unread(tmp_path, tfds_dir, capsys):
    write(tmp_path / "big" / "ok.png", solid((1, 1, 1)))
    write(tmp_path / "big" / "huge.png", Image.new("1", (20_000, 20_000)))
    write(tmp_path / "big" / "wide.png", Image.new("1", (20_000, 16), 1))  # a long strip is fine
    source = data.source(str(tmp_path / "big"), data.Preprocessing(image_size=32))
    assert source.num_examples("train") == 2
    assert "1 too large: huge.png" in capsys.readouterr().err


def test_a_symlink_loop_is_read_once(tmp_path, tfds_dir, capsys):
    root = tmp_path / "loop"
    write(root / "a" / "x.png", solid((5, 5, 5)))
    os.symlink(root, root / "a" / "back")
    os.symlink("self", root / "self")  # a link to itself (ELOOP)
    source = data.source(str(root))
    assert source.num_examples("train") == 1
    assert "symlinked folders lead back" in capsys.readouterr().err


def test_the_prepared_copy_is_reused_until_a_file_changes(tmp_path, tfds_dir, monkeypatch):
    root = tmp_path / "pics"
    write(root / "a.png", solid((10, 20, 30)))
    data.source(str(root))
    monkeypatch.setattr(folder, "_decode", lambda *a: pytest.fail("decoded again"))
    data.source(str(root))  # from the prepared copy
    assert len(list((tfds_dir / "ganzoo" / "folders").glob("*.npz"))) == 1
    monkeypatch.undo()
    write(root / "b.png", solid((10, 20, 30)))
    assert data.source(str(root)).num_examples("train") == 2


def test_arrays_npy_and_npz(tmp_path, tfds_dir):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (10, 32, 32, 3)).astype(np.float32)
    np.save(tmp_path / "a.npy", x)
    source = data.source(str(tmp_path / "a.npy"))
    assert source.spec == data.DatasetSpec((32, 32, 3), None, ())
    np.testing.assert_allclose(_in_file_order(source), x, atol=1 / 127.5)
    np.savez(tmp_path / "b.npz", x=(rng.uniform(0, 255, (12, 28, 28))).astype(np.uint8),
             y=np.arange(12) % 3, x_test=np.zeros((4, 28, 28), np.uint8),
             y_test=np.arange(4) % 3)  # fmt: skip
    source = data.source(str(tmp_path / "b.npz"))
    assert source.spec.num_classes == 3 and source.reference_split == "test"
    assert source.num_examples("test") == 4


@pytest.mark.parametrize(
    "content, message",
    [
        ({"pictures": np.zeros((2, 8, 8))}, r"no images under images, x, x_train \(it has: pictures\)"),
        ({"x": np.zeros((2, 8))}, "give images"),
        ({"x": np.zeros((3, 28, 28)), "y": np.zeros(2, int)}, "must be 3 integer labels"),
        ({"x": np.full((3, 28, 28), 300.0)}, "ranges over"),
    ],
)
def test_bad_arrays_are_one_line(tmp_path, tfds_dir, content, message):
    np.savez(tmp_path / "bad.npz", **content)
    with pytest.raises(ZooError, match=message):
        data.source(str(tmp_path / "bad.npz"))


def test_an_unknown_tfds_name_offline_is_one_line(monkeypatch, tfds_dir):
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    with pytest.raises(
        ZooError, match=r"unknown dataset 'imagenet42': not a folder, a \.npy/\.npz file or a tfds"
    ):
        data.source("imagenet42")
    with pytest.raises(ZooError, match="is not a folder"):
        data.source("./no-such-folder")


def test_rgba_composites_on_the_background_and_pad_uses_it(tfds_dir):
    image = np.zeros((20, 40, 4), np.uint8)
    image[..., 0] = 255
    image[..., 3] = 128  # half-transparent red
    options = data.Preprocessing(image_size=40, channels=3, fit="pad", background="#0000ff")
    out = data.transform_all(image[None], options)[0].astype(int)
    np.testing.assert_array_equal(out[0, 0], [0, 0, 255])  # padding
    np.testing.assert_allclose(out[20, 20], [128, 0, 127], atol=1)  # red over blue, half each
    gray = data.transform_all(image[None], data.Preprocessing(image_size=28, channels=1, background="white"))
    assert gray.shape == (1, 28, 28, 1)


def test_downscaling_is_anti_aliased():
    stripes = np.zeros((128, 128, 1), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes alias to solid black or white without a filter
    for method in ("bilinear", "bicubic", "area", "lanczos3"):
        small = data.transform_all(
            stripes[None], data.Preprocessing(image_size=32, channels=1, resize=method)
        )
        assert abs(small.astype(float).mean() - 127.5) < 3 and small.std() < 8, method


def test_preprocessing_options_are_checked():
    for bad, message in [({"image_size": 100}, "image_size must be one of 28, 32"),
                         ({"channels": 2}, "channels"),
                         ({"fit": "stretch"}, "fit"), ({"background": "teal"}, "background"),
                         ({"resize": "magic"}, "resize")]:  # fmt: skip
        with pytest.raises(ZooError, match=message):
            data.Preprocessing(**bad)
    assert {28, 32, 64, 128} <= set(data.supported_sizes())
