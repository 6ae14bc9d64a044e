"""Migration files are found in order, and misnamed or duplicated files are refused by name."""

from __future__ import annotations

import pytest

from revenue_os.warehouse.migrations import MigrationError, discover


def test_project_migrations_are_ordered_and_contiguous():
    migrations = discover()
    versions = [m.version for m in migrations]
    assert versions == list(range(1, len(versions) + 1))
    assert migrations[0].name == "warehouse_schemas"


def test_order_is_numeric_not_by_description(tmp_path):
    (tmp_path / "0002_alpha.sql").write_text("SELECT 2;")
    (tmp_path / "0001_zulu.sql").write_text("SELECT 1;")
    assert [m.name for m in discover(tmp_path)] == ["zulu", "alpha"]


def test_misnamed_file_is_refused(tmp_path):
    (tmp_path / "1_Create Tables.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"1_Create Tables.sql: migration files are named"):
        discover(tmp_path)


def test_duplicate_version_names_both_files(tmp_path):
    (tmp_path / "0001_one.sql").write_text("SELECT 1;")
    (tmp_path / "0001_other.sql").write_text("SELECT 1;")
    with pytest.raises(
        MigrationError, match=r"0001_other.sql: version 0001 is also used by .*0001_one.sql"
    ):
        discover(tmp_path)


def test_checksum_follows_content(tmp_path):
    path = tmp_path / "0001_one.sql"
    path.write_text("SELECT 1;")
    before = discover(tmp_path)[0].checksum
    path.write_text("SELECT 2;")
    assert discover(tmp_path)[0].checksum != before
