"""The metric schema: validation of the file itself and a layout-independent hash."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from edgeward.errors import SchemaError
from edgeward.schema import load_schema, parse_schema

BUNDLED = resources.files("edgeward.schemas").joinpath("ran_kpi.toml").read_text("utf-8")


def test_bundled_schema_loads() -> None:
    schema = load_schema()
    assert schema.header.name == "ran-kpi"
    assert "prb_util_dl" in schema.feature_names
    assert schema.canonical_names["RRU.PrbTotDl"] == "prb_util_dl"
    assert schema.pii["imsi"] == "hash"


def test_hash_ignores_comments_and_layout_but_not_content() -> None:
    reformatted = "# a comment\n" + BUNDLED.replace(" = ", "=")
    assert parse_schema(reformatted, origin="a").content_hash == load_schema().content_hash
    changed = BUNDLED.replace("max = 150.0", "max = 151.0")
    assert parse_schema(changed, origin="b").content_hash != load_schema().content_hash


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("version = 1", "version = 0"), "'schema.version'"),
        (("min = -60.0", "min = 200.0"), "min 200.0 is above max 150.0"),
        (('unit = "%"', 'unit = "%"\ncolour = "red"'), "Extra inputs are not permitted"),
        (('aliases = ["RRC.ConnMean"]', 'aliases = ["RRU.PrbTotDl"]'), "used by both"),
        (('type = "int"', 'type = "complex"'), "'metrics.active_users.type'"),
        (('imsi = "hash"', 'imsi = "encrypt"'), "'pii.imsi'"),
        (("source_pattern = '", "source_pattern = '(["), "not a regular expression"),
    ],
)
def test_inconsistent_schemas_are_refused(edit: tuple[str, str], message: str) -> None:
    with pytest.raises(SchemaError, match="schema bad:") as caught:
        parse_schema(BUNDLED.replace(*edit, 1), origin="bad")
    assert message in str(caught.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="cannot be read"):
        load_schema(tmp_path / "nope.toml")
    (tmp_path / "x.toml").write_text("[schema")
    with pytest.raises(SchemaError, match="not valid TOML"):
        load_schema(tmp_path / "x.toml")
