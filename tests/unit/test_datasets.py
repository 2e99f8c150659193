"""Tests of the shipped datasets and of ``datasets``."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mlsys_kit import datasets
from mlsys_kit.params import ParameterError

REPO_DATASETS = Path(__file__).resolve().parents[2] / "datasets"
MANIFEST = tomllib.loads((REPO_DATASETS / "manifest.toml").read_text(encoding="utf-8"))
NAMES = sorted(MANIFEST)


@pytest.fixture(autouse=True)
def _repo_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the repository's datasets folder, whatever the caller's env."""
    monkeypatch.setenv(datasets.ENV_VAR, str(REPO_DATASETS))


def _copy_data(tmp_path: Path, *files: str) -> Path:
    """Copy the manifest and the named files into a fresh data folder."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy2(REPO_DATASETS / "manifest.toml", folder / "manifest.toml")
    for name in files:
        shutil.copy2(REPO_DATASETS / name, folder / name)
    return folder


def test_manifest_lists_the_expected_datasets() -> None:
    assert NAMES == ["adult", "german_credit", "penguins"]
    assert datasets.available() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_dataset_loads_with_manifest_shape_and_target(name: str) -> None:
    entry = MANIFEST[name]
    df = datasets.load(name)
    assert df.shape == (entry["rows"], entry["columns"])
    assert entry["target"] in df.columns
    assert df[entry["target"]].notna().all()
    assert df.columns.is_unique


@pytest.mark.parametrize("name", NAMES)
def test_manifest_sha256_matches_file(name: str) -> None:
    entry = MANIFEST[name]
    digest = hashlib.sha256((REPO_DATASETS / entry["file"]).read_bytes()).hexdigest()
    assert digest == entry["sha256"]


@pytest.mark.parametrize("name", NAMES)
def test_info_mirrors_manifest(name: str) -> None:
    meta = datasets.info(name)
    entry = MANIFEST[name]
    for field in ("file", "title", "source", "license", "citation", "target", "sha256"):
        assert getattr(meta, field) == entry[field]
        assert getattr(meta, field).strip()
    assert (meta.rows, meta.columns) == (entry["rows"], entry["columns"])
    assert meta.name == name
    assert meta.path == REPO_DATASETS / entry["file"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.rows = 0  # type: ignore[misc]


def test_targets_and_key_dtypes() -> None:
    adult = datasets.load("adult")
    assert adult["income_gt_50k"].dtype == bool
    assert set(adult["split"]) == {"train", "test"}
    assert adult["split"].value_counts().to_dict() == {"train": 32561, "test": 16281}
    assert adult["workclass"].isna().sum() > 0  # '?' became missing, not the string '?'
    assert not adult.select_dtypes("str").isin(["?"]).any().any()

    german = datasets.load("german_credit")
    assert german["good_credit"].dtype == bool
    assert german["good_credit"].sum() == 700

    penguins = datasets.load("penguins")
    assert set(penguins["species"]) == {"Adelie", "Chinstrap", "Gentoo"}


def test_unknown_name_lists_available_names() -> None:
    with pytest.raises(datasets.UnknownDatasetError) as excinfo:
        datasets.load("no_such_dataset")
    err = excinfo.value
    assert isinstance(err, KeyError)
    assert isinstance(err, datasets.DatasetError)
    assert isinstance(err, ParameterError), "a bad argument, like every other in the kit"
    message = str(err)
    assert "no_such_dataset" in message
    for name in NAMES:
        assert name in message
    with pytest.raises(KeyError):
        datasets.info("no_such_dataset")


def test_corrupted_file_raises_checksum_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = MANIFEST["penguins"]["file"]
    folder = _copy_data(tmp_path, file)
    target = folder / file
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    monkeypatch.setenv(datasets.ENV_VAR, str(folder))

    with pytest.raises(datasets.ChecksumError) as excinfo:
        datasets.load("penguins")
    message = str(excinfo.value)
    assert str(target) in message
    assert MANIFEST["penguins"]["sha256"] in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message


def test_missing_file_names_full_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _copy_data(tmp_path)  # manifest only
    monkeypatch.setenv(datasets.ENV_VAR, str(folder))
    with pytest.raises(datasets.DatasetError) as excinfo:
        datasets.load("adult")
    assert not isinstance(excinfo.value, datasets.ChecksumError)
    assert str(folder / MANIFEST["adult"]["file"]) in str(excinfo.value)


def test_missing_manifest_names_its_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path))
    with pytest.raises(datasets.DatasetError) as excinfo:
        datasets.available()
    assert str(tmp_path / "manifest.toml") in str(excinfo.value)


def test_checksum_is_cached_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = MANIFEST["penguins"]["file"]
    folder = _copy_data(tmp_path, file)
    monkeypatch.setenv(datasets.ENV_VAR, str(folder))
    calls: list[Path] = []
    real_sha256 = datasets._sha256

    def counting_sha256(path: Path) -> str:
        calls.append(path)
        return real_sha256(path)

    monkeypatch.setattr(datasets, "_sha256", counting_sha256)
    datasets.load("penguins")
    datasets.load("penguins")
    assert len(calls) == 1

    # Same size, new content and mtime: the cache must not hide the change.
    target = folder / file
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(datasets.ChecksumError):
        datasets.load("penguins")
    assert len(calls) == 2


def test_verify_false_skips_hashing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _copy_data(tmp_path, MANIFEST["penguins"]["file"])
    monkeypatch.setenv(datasets.ENV_VAR, str(folder))

    def fail(path: Path) -> str:
        raise AssertionError("hashed although verify=False")

    monkeypatch.setattr(datasets, "_sha256", fail)
    assert len(datasets.load("penguins", verify=False)) == MANIFEST["penguins"]["rows"]


def test_data_dir_defaults_to_repo_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    folder = datasets.data_dir()
    assert (folder / "manifest.toml").is_file()
    assert folder.name in {"datasets", "_datasets"}


def test_readme_table_lists_every_dataset() -> None:
    readme = (REPO_DATASETS / "README.md").read_text(encoding="utf-8")
    for name, entry in MANIFEST.items():
        assert f"`{name}`" in readme
        assert entry["sha256"] in readme
        assert entry["license"] in readme


def test_importing_datasets_module_does_not_import_pandas() -> None:
    code = "import sys, mlsys_kit.datasets; sys.exit('pandas' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], check=False, timeout=60)
    assert result.returncode == 0
