"""TensorBoard projector files and static figures of a projection."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from deepseek_viz.analysis.embeddings import TokenPaths
from deepseek_viz.analysis.projection import project
from deepseek_viz.export.figures import scatter_figure, to_html, to_png, token_paths_figure
from deepseek_viz.export.projector import escape_cell, read_projector, unescape_cell, write_projector
from deepseek_viz.export.text import plot_text
from deepseek_viz.model import Token

AWKWARD = [
    "plain",
    "tab\there",
    "two\nlines\r\nand CR",
    "back\\slash \\t literal",
    " ",
    "\t",
    "",
    "<b>HTML</b> & ‮bidi‬",
    "你好，世界 🙂",
    "\\0",
]


def projector_parse(text: str) -> tuple[list[str], list[dict[str, str | None]]]:
    """The projector's own metadata parser (vz_projector parseMetadata), transcribed."""
    names, rows, first = ["label"], [], True
    for line in text.split("\n"):
        if not line.strip():
            continue
        if first:
            first = False
            if "\t" in line:
                names = line.split("\t")
                continue
        values = line.split("\t")
        rows.append(
            {
                name: (values[i] if i < len(values) and values[i] != "" else None)
                for i, name in enumerate(names)
            }
        )
    return names, rows


def test_escaping_round_trips() -> None:
    for value in AWKWARD:
        cell = escape_cell(value)
        assert "\t" not in cell and "\n" not in cell and "\r" not in cell
        assert cell == "" or cell.strip()
        assert unescape_cell(cell) == value


def test_single_column_has_no_header(tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).normal(size=(len(AWKWARD), 5)).astype(np.float32)
    folder = write_projector(tmp_path / "run", vectors, AWKWARD)
    tensors = (folder / "tensors.tsv").read_text(encoding="utf-8").splitlines()
    assert len(tensors) == len(AWKWARD) and all(len(line.split("\t")) == 5 for line in tensors)
    metadata = (folder / "metadata.tsv").read_text(encoding="utf-8")
    names, rows = projector_parse(metadata)
    assert names == ["label"] and len(rows) == len(AWKWARD)  # every point keeps its own row
    assert rows[1]["label"] == "tab\\there"

    back = read_projector(folder)
    np.testing.assert_allclose(back.vectors, vectors, rtol=1e-6, atol=1e-7)
    assert back.metadata == {"label": AWKWARD}
    assert back.tensor_name == "embeddings"


def test_several_columns_have_a_header_and_a_config(tmp_path: Path) -> None:
    vectors = np.arange(len(AWKWARD) * 3, dtype=np.float32).reshape(-1, 3) / 7
    columns = {"text": AWKWARD, "label": ["medical", "finance"] * 5, "index": range(len(AWKWARD))}
    folder = write_projector(tmp_path, vectors, columns, tensor_name='my "texts"')
    names, rows = projector_parse((folder / "metadata.tsv").read_text(encoding="utf-8"))
    assert names == ["text", "label", "index"] and len(rows) == len(AWKWARD)
    assert [row["index"] for row in rows] == [str(i) for i in range(len(AWKWARD))]
    assert rows[6]["text"] is None  # empty cell: the projector's "missing"

    config = (folder / "projector_config.pbtxt").read_text(encoding="utf-8")
    assert re.search(r'^\s*tensor_path: "tensors.tsv"$', config, re.MULTILINE)
    assert re.search(r'^\s*metadata_path: "metadata.tsv"$', config, re.MULTILINE)
    assert 'tensor_name: "my \\"texts\\""' in config
    assert config.count("tensor_shape:") == 2

    back = read_projector(folder)
    assert back.tensor_name == 'my "texts"'
    assert back.metadata["text"] == AWKWARD
    assert back.metadata["index"] == [str(i) for i in range(len(AWKWARD))]
    np.testing.assert_allclose(back.vectors, vectors, rtol=1e-6)


def test_blank_rows_and_no_metadata(tmp_path: Path) -> None:
    vectors = np.ones((2, 2), dtype=np.float32)
    folder = write_projector(tmp_path / "a", vectors, {"x": ["", "a"], "y": ["", "b"]})
    _, rows = projector_parse((folder / "metadata.tsv").read_text(encoding="utf-8"))
    assert len(rows) == 2
    assert read_projector(folder).metadata == {"x": ["", "a"], "y": ["", "b"]}

    bare = write_projector(tmp_path / "b", vectors)
    assert not (bare / "metadata.tsv").exists()
    assert "metadata_path" not in (bare / "projector_config.pbtxt").read_text(encoding="utf-8")
    assert read_projector(bare).metadata == {}


def test_projector_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2 values for 3 vectors"):
        write_projector(tmp_path, np.zeros((3, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="NaN"):
        write_projector(tmp_path, np.array([[0.0, np.nan]]))
    with pytest.raises(TypeError, match="sequence of labels"):
        write_projector(tmp_path, np.zeros((1, 2)), "a")


@pytest.fixture(scope="module")
def scatter() -> tuple[go.Figure, list[str], list[str]]:
    data = np.random.default_rng(1).normal(size=(9, 6)).astype(np.float32)
    labels = ["medical", "finance", "<b>odd</b>"] * 3
    texts = [f"text {i} & <i>more</i>\nsecond line" for i in range(9)]
    return scatter_figure(project(data, "pca", 2), labels, texts, title="a & b"), labels, texts


def test_scatter_has_every_point_and_label(scatter: tuple[go.Figure, list[str], list[str]]) -> None:
    figure, labels, _texts = scatter
    assert [trace.name for trace in figure.data] == ["medical", "finance", "&lt;b&gt;odd&lt;/b&gt;"]
    assert sum(len(trace.x) for trace in figure.data) == 9
    indices = sorted(i for trace in figure.data for i in trace.customdata)
    assert indices == list(range(9))
    for trace in figure.data:
        assert trace.type == "scattergl" and trace.showlegend is not False
        assert len({trace.marker.color}) == 1
        assert all(trace.name == plot_text(labels[i]) for i in trace.customdata)
    assert len({trace.marker.color for trace in figure.data}) == 3
    hover = figure.data[0].hovertext[0]
    assert hover == "text 0 &amp; &lt;i&gt;more&lt;/i&gt;<br>second line"
    assert figure.layout.xaxis.title.text.startswith("PC1 (")


def test_three_d_and_unlabelled() -> None:
    coords = np.random.default_rng(2).normal(size=(5, 3))
    figure = scatter_figure(coords)
    assert len(figure.data) == 1 and figure.data[0].type == "scatter3d"
    assert figure.layout.showlegend is False
    with pytest.raises(ValueError, match="labels"):
        scatter_figure(coords, ["a"])
    with pytest.raises(ValueError, match=r"\[n, 2\]"):
        scatter_figure(np.zeros((3, 4)))


def test_token_paths_figure() -> None:
    tokens = [Token(i, text, 0, 0) for i, text in enumerate(["fever", " may", " <b>"])]
    vectors = np.random.default_rng(3).normal(size=(4, 3, 8)).astype(np.float32)
    paths = TokenPaths(text="fever may <b>", tokens=tokens, positions=np.arange(1, 4), vectors=vectors)
    figure = token_paths_figure(paths, project(paths.flat(), "pca", 2))
    lines, *points = figure.data
    assert lines.mode == "lines" and len(lines.x) == 3 * (4 + 1)  # a path per token, None between
    assert [trace.name for trace in points] == [f"layer {i}" for i in range(4)]
    assert sum(len(trace.x) for trace in points) == 12
    assert "&lt;b&gt;" in points[3].hovertext[2] and "layer 3" in points[3].hovertext[2]


def test_html_is_self_contained(tmp_path: Path, scatter: tuple[go.Figure, list[str], list[str]]) -> None:
    path = to_html(scatter[0], tmp_path / "scatter.html")
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page), "plotly.js must be embedded, not fetched"
    assert "Plotly.newPlot" in page and len(page) > 1_000_000
    assert "medical" in page and "finance" in page


def test_png_with_matplotlib(tmp_path: Path, scatter: tuple[go.Figure, list[str], list[str]]) -> None:
    path = tmp_path / "scatter.png"
    assert to_png(scatter[0], path, width=300, height=200, scale=1, engine="matplotlib") == "matplotlib"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    three_d = scatter_figure(np.random.default_rng(4).normal(size=(6, 3)), ["a", "b"] * 3)
    assert (
        to_png(three_d, tmp_path / "3d.png", width=300, height=200, scale=1, engine="matplotlib")
        == "matplotlib"
    )


def test_png_falls_back_when_kaleido_fails(
    tmp_path: Path, scatter: tuple[go.Figure, list[str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    figure = go.Figure(scatter[0])

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("no browser")

    monkeypatch.setattr(figure, "write_image", broken)
    with pytest.warns(UserWarning, match="no browser"):
        assert to_png(figure, tmp_path / "x.png", width=300, height=200, scale=1) == "matplotlib"
    with pytest.raises(RuntimeError):
        to_png(figure, tmp_path / "y.png", engine="kaleido")


@pytest.mark.slow
def test_png_with_kaleido(tmp_path: Path, scatter: tuple[go.Figure, list[str], list[str]]) -> None:
    pytest.importorskip("kaleido")
    path = tmp_path / "scatter.png"
    try:
        engine = to_png(scatter[0], path, width=300, height=200, scale=1, engine="kaleido")
    except Exception as error:  # no Chrome/Chromium on this machine
        pytest.skip(f"kaleido cannot render here: {error}")
    assert engine == "kaleido" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
