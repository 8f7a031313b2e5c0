"""``yiti attribution paths FILE.csv --json``: the contract other tools' path files rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

FILE = (
    "path,total_conversions,total_conversion_value,total_null\n"
    "sms > call,1,300,0\n"
    "sms,0,0,1\n"
    "call,1,100,0\n"
)


def run(tmp_path: Path, text: str, *args: str, capsys) -> tuple[int, str, str]:
    file = tmp_path / "paths.csv"
    file.write_text(text, encoding="utf-8")
    code = 0
    try:
        call_command("attribution", "paths", str(file), *args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_prints_every_model_per_channel_in_conversions_and_value(tmp_path, capsys):
    code, out, _err = run(tmp_path, FILE, "--json", capsys=capsys)
    assert code == 0
    models = json.loads(out)["models"]
    assert list(models) == [
        "first_touch",
        "last_touch",
        "linear",
        "position_based",
        "time_decay",
        "markov",
        "shapley",
    ]
    assert models["first_touch"] == {
        "sms": {"conversions": 1.0, "value": 300.0},
        "call": {"conversions": 1.0, "value": 100.0},
    }
    assert models["last_touch"]["call"] == {"conversions": 2.0, "value": 400.0}
    assert models["linear"]["sms"] == {"conversions": 0.5, "value": 150.0}
    # hand-computed in test_models_math.hand_book: removal effects 1/2 and 1
    assert models["markov"]["sms"]["conversions"] == pytest.approx(1 / 3, abs=1e-6)
    assert models["markov"]["call"]["value"] == pytest.approx(300.0, abs=1e-4)
    assert models["shapley"]["sms"]["conversions"] == pytest.approx(0.25, abs=1e-6)
    for name, channels in models.items():
        assert sum(c["conversions"] for c in channels.values()) == pytest.approx(2), name
        assert sum(c["value"] for c in channels.values()) == pytest.approx(400), name


def test_reads_semicolon_files_with_decimal_commas(tmp_path, capsys):
    text = "path;total_conversions;total_conversion_value;total_null\nsms > call;2;10,5;3\n"
    code, out, _err = run(tmp_path, text, "--json", capsys=capsys)
    assert code == 0
    linear = json.loads(out)["models"]["linear"]
    assert linear["sms"] == {"conversions": 1.0, "value": 5.25}


def test_writes_nothing_and_needs_no_database(tmp_path, capsys):
    # no django_db mark: pytest-django makes any database access here an error
    code, _out, _err = run(tmp_path, FILE, "--json", capsys=capsys)
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paths.csv"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("path,total_conversions,clicks\nsms,1,3\n", "line 1: unknown column “clicks”"),
        ("path,total_conversions\nsms,1\ncall,-2\n", "line 3: total_conversions is negative"),
        ("path,total_conversions,total_null\nsms,1,-1\n", "line 2: total_null is negative"),
        ("path,total_conversions\n,1\n", "line 2: the path is empty"),
        ("path,total_conversions\nsms >  > call,1\n", "line 2: the path has an empty step"),
        ("path,total_conversions\nsms,many\n", "line 2: total_conversions is not a number"),
        ("total_conversions\n1\n", "line 1: the column “path” is missing"),
        ("", "line 1: the file is empty"),
    ],
)
def test_refuses_bad_input_with_the_line_and_the_reason(tmp_path, capsys, text, message):
    code, out, err = run(tmp_path, text, "--json", capsys=capsys)
    assert code == 2
    assert out == ""
    assert message in err


def test_prints_a_table_without_json(tmp_path, capsys):
    code, out, _err = run(tmp_path, FILE, capsys=capsys)
    assert code == 0
    assert "shapley" in out.splitlines()[0]
    assert out.splitlines()[1].startswith("sms")
