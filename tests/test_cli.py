"""The command line as a user runs it, on the demo catalog.

Most tests call ``shirtsim.cli.main`` in this process with the fake model (``fake_model``) or the
session's real model (``real_model_in_process``); a few run ``python -m shirtsim`` in a
subprocess where the process is what is tested (exit status, what reaches stderr).
"""

import errno
import json
import os
import re

import pytest
from helpers import DEMO, HOSTILE, make_hostile_catalog, run
from PIL import Image

from shirtsim.describe.projection import load_projection
from shirtsim.engine import Steering, get_mode
from shirtsim.store import catalog_key


@pytest.fixture
def indexed(demo_engine):
    demo_engine.index(get_mode("balanced").kind)  # shares the session cache with subprocesses
    return demo_engine


def test_index_reports_reuse_on_a_warm_cache(fake_indexed, cli):
    code, out, _ = cli("index")
    assert code == 0
    assert out.startswith(f"catalog {DEMO}: 200 image files; 0 embedded, 200 reused, 0 skipped")


def test_similar_json_matches_the_library_best_first_query_excluded(fake_indexed, cli):
    code, out, _ = cli("similar", "1001", "--json")
    got = json.loads(out)
    expected = fake_indexed.similar_to_id("1001", get_mode("balanced"), 10)
    assert code == 0 and [r["id"] for r in got] == [m.id for m in expected]
    assert [r["score"] for r in got] == [round(m.score, 6) for m in expected]
    assert len(got) == 10 and "1001" not in [r["id"] for r in got]
    assert [r["score"] for r in got] == sorted((r["score"] for r in got), reverse=True)


@pytest.mark.slow
def test_pattern_mode_finds_the_same_pattern_on_the_demo(real_model_in_process, indexed, cli):
    # 1009 is a vertical stripe shirt (labels.csv); the demo has 29 of them among 200 shirts.
    got = json.loads(cli("similar", "1009", "--mode", "pattern", "-k", "5", "--json")[1])
    labels = {r.split(",")[0]: r.split(",")[2] for r in (DEMO / "labels.csv").read_text().splitlines()[1:]}
    assert labels["1009"] == "stripe-vertical"
    assert [labels[r["id"]] for r in got] == ["stripe-vertical"] * 5


@pytest.mark.slow
def test_an_image_file_query_finds_its_own_catalog_twin(indexed, tmp_path):
    twin = tmp_path / "photo.png"
    Image.open(DEMO / "1002.jpg").save(twin)  # same pixels, other format and name
    out = run("similar", str(twin), "-k", "3", "--json")
    got = json.loads(out.stdout)
    assert got[0]["id"] == "1002" and got[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert out.stderr == ""  # TensorFlow's start-up chatter is held back


@pytest.mark.parametrize(
    "query, make, message",
    [
        ("no-such-shirt", None, "shirtsim: 'no-such-shirt' is neither a catalog id nor an image file."),
        ("notes.jpg", b"just some text", "shirtsim: notes.jpg: this is a text file, not a JPEG, PNG or WebP image."),
        ("empty.png", b"", "shirtsim: empty.png: the file is empty."),
    ],
)
def test_bad_queries_exit_2_with_one_line(fake_indexed, cli, tmp_path, query, make, message):
    if make is not None:
        (tmp_path / query).write_bytes(make)
        query = str(tmp_path / query)
    code, out, err = cli("similar", query)
    assert (code, out, err.splitlines()) == (2, "", [message])


def test_unknown_mode_and_missing_catalog_are_one_line_errors_with_status_2(tmp_path):
    out = run("similar", "1001", "--mode", "fuzzy")
    assert out.returncode == 2 and out.stderr.strip() == (
        "shirtsim: Unknown mode 'fuzzy': choose one of balanced, pattern, colour, seed."
    )
    out = run("index", "--catalog", str(tmp_path / "nope"))
    assert out.returncode == 2 and out.stderr.strip() == f"shirtsim: Catalog folder not found: {tmp_path / 'nope'}"


@pytest.mark.parametrize(
    "args, message",
    [
        (["similar", "1001", "-k", "0"], "similar: argument -k: 0 is out of range: use 1 to 100"),
        (["similar", "1001", "-k", "many"], "similar: argument -k: 'many' is not a whole number"),
        (["evaluate", "-k", "101"], "evaluate: argument -k: 101 is out of range: use 1 to 100"),
        (["bench", "--sizes", "1000,x"], "bench: argument --sizes: 'x' is not a whole number"),
        (["bench", "--sizes", "1"], "bench: argument --sizes: 1 is out of range: use 2 to 10,000,000"),
        (["bench", "--images", "-4"], "bench: argument --images: -4 is out of range: use 1 to 100,000"),
        (
            ["fit-texture-basis", "--every", "0"],
            "fit-texture-basis: argument --every: 0 is out of range: use 1 to 1,000,000",
        ),
        (
            ["make-demo-catalog", "d", "--count", "0"],
            "make-demo-catalog: argument --count: 0 is out of range: use 1 to 10,000",
        ),
        (
            ["download-seed-shirts", "d", "--timeout", "inf"],
            "download-seed-shirts: argument --timeout: inf is out of range: use more than 0 and at most 600 seconds",
        ),
        (
            ["frobnicate"],
            "argument COMMAND: invalid choice: 'frobnicate' (choose from 'index', 'similar', 'explain', 'export', "
            "'evaluate', 'duplicates', 'fit-texture-basis', 'fit-colour-directions', 'fit-projection', "
            "'make-demo-catalog', 'download-seed-shirts', 'app', 'bench')",
        ),
    ],
)
def test_every_argument_is_checked_with_one_line_and_status_2(cli, args, message):
    code, out, err = cli(*args)
    assert (code, out, err.splitlines()) == (2, "", [f"shirtsim: {message} (see --help)"])


def test_os_failures_name_the_file_and_what_to_do(fake_model, cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    os.environ["SHIRTSIM_CACHE_DIR"] = str(blocker / "cache")  # restored by fake_model's monkeypatch
    code, _, err = cli("index", "--catalog", DEMO)
    assert code == 2 and err.splitlines() == [
        f"shirtsim: {blocker / 'cache'}: part of that path is a file, not a folder. Fix the path."
    ]
    long_name = tmp_path / ("x" * 300)
    code, _, err = cli("index", "--catalog", long_name)
    assert (code, err.splitlines()) == (2, [f"shirtsim: {long_name}: a file or folder name is too long. Shorten it."])


def test_a_full_disk_leaves_the_cache_consistent_and_says_so(fake_model, cli, small_catalog, tmp_path, monkeypatch):
    import shirtsim.store

    monkeypatch.setenv("SHIRTSIM_CACHE_DIR", str(tmp_path / "cache"))
    real_fdopen, writes = os.fdopen, []

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def fileno(self):
            return self.f.fileno()

        def write(self, data):
            writes.append(len(data))
            if len(writes) > 15:  # 12 pictures (made while decoding) and 3 vectors land, then the disk is full
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(data)

    monkeypatch.setattr(shirtsim.store.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    code, _, err = cli("index", "--catalog", small_catalog)
    progress, error = err.splitlines()
    assert code == 2 and progress == "embedding: 0/6 images"
    assert error.startswith(f"shirtsim: {tmp_path / 'cache'}/v1/") and err.endswith(
        ": the disk is full. Free some space and run it again (the cache holds no half-written file).\n"
    )
    assert not [p for p in (tmp_path / "cache").rglob(".tmp-*")]
    monkeypatch.setattr(shirtsim.store.os, "fdopen", real_fdopen)  # space again
    code, out, _ = cli("index", "--catalog", small_catalog)
    assert code == 0 and "3 embedded, 3 reused, 0 skipped" in out  # what landed before is kept and sound


def test_evaluate_reports_bad_labels_in_one_line(fake_indexed, cli, tmp_path):
    code, _, err = cli("evaluate", "--labels", tmp_path / "missing.csv")
    assert code == 2 and err.strip() == f"shirtsim: No labels file: {tmp_path / 'missing.csv'} (pass --labels CSV)."
    code, _, err = cli("evaluate", "--columns", "pattern,sleeve")
    assert code == 2 and err.strip() == "shirtsim: labels.csv has no column 'sleeve'; it has style, pattern, colour."


@pytest.mark.slow
def test_evaluate_json_on_the_demo_catalog(real_model_in_process, indexed, cli):
    q = json.loads(cli("evaluate", "--columns", "pattern", "--mode", "pattern", "--json")[1])
    assert (q["k"], q["mode"], q["n"]) == (10, "pattern", 200)
    assert q["chance"] == {"pattern": 0.1386}
    assert q["precision"]["pattern"] == q["precision"]["mean"] > 0.7  # README: 0.750


def test_make_demo_catalog_is_deterministic_and_matches_the_committed_labels(cli, tmp_path):
    for out_dir in ("a", "b"):
        code, out, _ = cli("make-demo-catalog", tmp_path / out_dir, "--count", "4")
        assert code == 0 and out.strip() == f"drew 4 shirts into {tmp_path / out_dir}"
    for name in ("1001.jpg", "1004.jpg", "labels.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    committed = (DEMO / "labels.csv").read_text().splitlines()[:5]
    assert (tmp_path / "a" / "labels.csv").read_text().splitlines() == committed
    assert Image.open(tmp_path / "a" / "1001.jpg").size == (200, 250)


@pytest.mark.parametrize(
    "code, advice",
    [
        (errno.EROFS, "the file system is read-only. Point SHIRTSIM_CACHE_DIR at a writable folder"),
        (errno.EACCES, "permission denied. Check the owner and permissions, or point SHIRTSIM_CACHE_DIR elsewhere"),
        (
            errno.EDQUOT,
            "the disk quota is used up. Free some space and run it again (the cache holds no half-written file)",
        ),
    ],
)
def test_a_cache_that_cannot_be_written_is_one_line_that_says_what_to_do(
    fake_model, cli, small_catalog, tmp_path, monkeypatch, code, advice
):
    import shirtsim.store

    monkeypatch.setenv("SHIRTSIM_CACHE_DIR", str(tmp_path / "cache"))

    def refuse(src, dst):  # as root, chmod cannot make a folder unwritable: refuse the rename instead
        raise OSError(code, os.strerror(code), dst)

    monkeypatch.setattr(shirtsim.store.os, "replace", refuse)
    status, out, err = cli("index", "--catalog", small_catalog)
    assert status == 2 and out == "" and err.splitlines()[-1].endswith(f": {advice}.")
    assert err.splitlines()[-1].startswith(f"shirtsim: {tmp_path / 'cache'}/v1/")
    assert not list((tmp_path / "cache").rglob(".tmp-*"))  # nothing half-written left behind


def test_json_output_never_holds_nan_or_infinity():
    from shirtsim.cli.output import to_json

    assert (
        to_json({"a": [1.5, float("nan")], "b": float("-inf"), "c": "x"}) == '{"a": [1.5, null], "b": null, "c": "x"}'
    )


def test_printable_ids_work_in_the_cli_and_its_json(fake_model, cli, tmp_path):
    cat = make_hostile_catalog(tmp_path / "hostile")
    code, out, _ = cli("similar", "caf%E9", "--catalog", cat, "--json", "-k", "3")
    got = json.loads(out)
    assert code == 0 and len(got) == 3 and "caf%E9" not in [r["id"] for r in got]
    assert {r["id"] for r in got} <= set(HOSTILE)
    code, out, _ = cli("similar", "**bold**", "--catalog", cat, "-k", "7", "--json")
    assert code == 0 and "caf%E9" in [r["id"] for r in json.loads(out)]


def test_evaluate_says_which_label_rows_it_left_out(fake_model, cli, small_catalog):
    (small_catalog / "labels.csv").write_text(
        "id,pattern\n1001,solid\n1002,check\n1001,dots\n1003,solid,extra\n1004,check\n", encoding="utf-8"
    )
    code, out, err = cli("evaluate", "--catalog", small_catalog, "-k", "1")
    assert code == 0 and out.startswith("precision@1, mode balanced, 3 labelled shirts")
    assert err.splitlines()[-2:] == [
        "note: labels.csv: wrong number of columns on line 5 (the header has 2); ignored",
        "note: labels.csv: id repeated on line 4 (first kept); ignored",
    ]


def test_fit_projection_writes_a_projection_that_similar_and_evaluate_then_use(fake_indexed, cli, tmp_path):
    code, out, err = cli("fit-projection", "--columns", "pattern,colour")
    written = fake_indexed.cache_dir / "projections" / f"demo-catalog-{catalog_key(DEMO.resolve())[:12]}.npz"
    assert code == 0, err
    assert out.splitlines() == [
        f"fitted on 200 labelled photos of {DEMO.resolve()}: demo-catalog (200 labelled photos); "
        "learned pattern (texture, 7 labels), colour (colour, 16 labels)",
        f"wrote {written}; use it with SHIRTSIM_PROJECTION={written} (or --projection {written})",
    ]
    assert load_projection(written).layout.names[-2:] == ("texture_learned", "colour_learned")
    plain = json.loads(cli("similar", "1001", "--projection", "none", "--json")[1])
    code, out, err = cli("similar", "1001", "--projection", written, "--json")
    projected = json.loads(out)
    assert code == 0 and len(projected) == 10 and projected != plain
    q = json.loads(cli("evaluate", "--projection", written, "--json")[1])
    assert q["n"] == 200 and q["precision"]["colour"] > 0


def test_fit_projection_refuses_the_catalog_folder_and_unusable_labels(fake_indexed, cli, small_catalog, tmp_path):
    code, _, err = cli("fit-projection", "--out", DEMO / "p.npz")
    inside = "inside the catalog folder; the catalog is never written to. Choose another --out."
    assert code == 2 and err == f"shirtsim: {DEMO / 'p.npz'}: {inside}\n"
    assert not (DEMO / "p.npz").exists()
    code, _, err = cli("fit-projection", "--catalog", small_catalog)
    assert code == 2 and err == f"shirtsim: No labels file: {small_catalog / 'labels.csv'} (pass --labels CSV).\n"
    (small_catalog / "labels.csv").write_text("id,pattern\n1001,check\n1002,check\n1003,stripe\n", encoding="utf-8")
    code, _, err = cli("fit-projection", "--catalog", small_catalog, "--out", tmp_path / "p.npz")
    assert code == 2 and err == (
        "shirtsim: Cannot fit a projection: column 'pattern' has 0 label(s) with at least 8 photos; it needs 2.\n"
    )
    code, _, err = cli("fit-projection", "--columns", "sleeve", "--out", tmp_path / "p.npz")
    assert code == 2 and err == "shirtsim: No label column 'sleeve'; the labels have style, pattern, colour.\n"


def test_an_unusable_projection_setting_is_one_line_with_status_2(fake_model, cli, tmp_path, monkeypatch):
    (tmp_path / "p.npz").write_bytes(b"PK\x03\x04 not really")
    code, out, err = cli("similar", "1001", "--projection", tmp_path / "p.npz")
    assert (code, out) == (2, "") and err.startswith("shirtsim: p.npz: not a projection file (")
    monkeypatch.setenv("SHIRTSIM_PROJECTION", str(tmp_path / "missing.npz"))
    code, out, err = cli("similar", "1001")
    assert (code, out, err) == (2, "", "shirtsim: missing.npz: no such projection file.\n")


def test_explain_splits_the_similar_score_into_parts_that_add_up(fake_indexed, cli):
    top = json.loads(cli("similar", "1001", "--json")[1])[2]
    code, out, err = cli("explain", "1001", top["id"], "--json")
    got = json.loads(out)
    assert code == 0, err
    assert list(got) == ["score", "parts", "colours"] and list(got["parts"]) == ["texture", "colour"]
    assert got["score"] == pytest.approx(top["score"], abs=1e-4)
    assert sum(p["contribution"] for p in got["parts"].values()) == pytest.approx(top["score"], abs=1e-4)
    for p in got["parts"].values():
        assert p["contribution"] == pytest.approx(p["cosine"] * p["weight"], abs=1e-6)
    assert [p["weight"] for p in got["parts"].values()] == [0.65, 0.35]
    for swatches in got["colours"].values():
        assert swatches and all(re.fullmatch(r"#[0-9a-f]{6}", s["hex"]) for s in swatches)
        assert 0.5 < sum(s["share"] for s in swatches) <= 1.0001
    seed = json.loads(cli("explain", "1001", top["id"], "--mode", "seed", "--json")[1])
    assert list(seed["parts"]) == ["seed"] and seed["parts"]["seed"]["weight"] == 1.0
    code, out, _ = cli("explain", DEMO / "1001.jpg", "1002")
    assert code == 0 and out.splitlines()[0].startswith("score ") and "query colours" in out


def test_explain_refuses_what_is_not_a_catalog_shirt(fake_indexed, cli):
    code, out, err = cli("explain", "1001", "zzz")
    assert (code, out, err) == (2, "", "shirtsim: No shirt with id 'zzz' in this catalog.\n")


def test_like_and_unlike_steer_and_leave_the_marked_shirts_out(fake_indexed, cli):
    code, out, err = cli("similar", "1001", "--like", "1002", "--unlike", "1003", "--json")
    got = [r["id"] for r in json.loads(out)]
    expected = fake_indexed.steered(get_mode("balanced"), Steering(("1001", "1002"), ("1003",)))
    assert code == 0 and got == [m.id for m in expected] and len(got) == 10
    assert not {"1001", "1002", "1003"} & set(got)
    assert got != [r["id"] for r in json.loads(cli("similar", "1001", "--json")[1])]
    alone = json.loads(cli("similar", "--like", "1002", "--json")[1])  # QUERY is optional with --like
    assert [r["id"] for r in alone] == [m.id for m in fake_indexed.similar_to_id("1002", get_mode("balanced"), 10)]
    assert cli("similar")[2] == "shirtsim: Give a QUERY, or --like ID.\n"
    assert cli("similar", "1001", "--unlike", "nope")[2] == "shirtsim: No shirt with id 'nope' in this catalog.\n"


def test_this_pattern_in_that_colour(fake_indexed, cli):
    plain = [r["id"] for r in json.loads(cli("similar", "1001", "--json")[1])]
    code, out, err = cli("similar", "1001", "--colour", "#1f3a93", "--json")
    navy = [r["id"] for r in json.loads(out)]
    expected = fake_indexed.steered(get_mode("balanced"), Steering(("1001",), colour="#1f3a93"))
    assert code == 0 and navy == [m.id for m in expected] and navy != plain and "1001" not in navy
    assert err == ""  # demo shirts come near this blue
    code, out, err = cli("similar", "1001", "--colour", "#ff00ff")  # no demo shirt is magenta
    nearest = fake_indexed.nearest_in_colour("#ff00ff")
    assert code == 0 and len(out.splitlines()) == 10 and nearest < 0.3
    assert err == (
        f"note: no shirt in this catalog comes near #ff00ff (the nearest colours match {nearest:.2f}): "
        "the results follow the pattern more than the colour.\n"
    )
    code, out, _ = cli("similar", "1001", "--colour-of", "1005", "--json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == [
        m.id for m in fake_indexed.steered(get_mode("balanced"), Steering(("1001",), colour_of="1005"))
    ]
    for args, message in (
        (["--colour", "navy"], "--colour 'navy': write a colour as #rrggbb, for example '#1f3a93'."),
        (
            ["--colour", "#1f3a93", "--mode", "seed"],
            "Mode seed has no colour part to change: use balanced, pattern or colour.",
        ),
        (["--colour", "#1f3a93", "--colour-of", "1005"], "Give --colour or --colour-of, not both."),
        (["--colour-of", "nope"], "No shirt with id 'nope' in this catalog."),
    ):
        assert cli("similar", "1001", *args) == (2, "", f"shirtsim: {message}\n")


def test_a_photo_is_searched_in_its_box_and_the_json_keeps_its_shape(fake_indexed, cli, tmp_path):
    from shirtsim.catalog.crop import WHOLE

    scene = Image.new("RGB", (600, 500), (40, 140, 90))
    photo = Image.open(DEMO / "1002.jpg").convert("RGB")
    scene.paste(photo, (300, 150), Image.eval(photo.convert("L"), lambda v: 0 if v > 225 else 255))
    path = tmp_path / "on the bed.png"
    scene.save(path)
    mode, data = get_mode("balanced"), path.read_bytes()
    for flags, box in ((["--auto-box"], "auto"), (["--box", "0.45,0.25,0.9,0.8"], (0.45, 0.25, 0.9, 0.8)), ([], None)):
        code, out, err = cli("similar", path, "-k", "4", "--json", *flags)
        upload = fake_indexed.read_upload(data, path.name, mode.kind, box)
        expected = fake_indexed.similar_to_vector(upload.vector, mode, 4)
        assert code == 0 and err == ""
        assert json.loads(out) == [m.as_json() for m in expected]  # {id, score, pinned}
    auto = fake_indexed.read_upload(data, path.name, mode.kind, "auto")
    assert auto.box not in (None, WHOLE)  # the auto box is a box, not the whole photo


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["1001", "--auto-box"],
            "shirtsim: --box and --auto-box cut a photo: give an image file as QUERY, not a catalog id.",
        ),
        (
            ["--like", "1001", "--box", "0,0,1,1"],
            "shirtsim: --box and --auto-box cut a photo: give an image file as QUERY, not a catalog id.",
        ),
        (
            ["x.jpg", "--box", "1,2"],
            "shirtsim: similar: argument --box: a box is four fractions x0,y0,x1,y1 "
            "(for example 0.1,0.2,0.8,0.9), not '1,2' (see --help)",
        ),
        (
            ["x.jpg", "--box", "0.5,0,0.2,1"],
            "shirtsim: similar: argument --box: a box needs 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, "
            "not 0.5,0,0.2,1 (see --help)",
        ),
        (
            ["x.jpg", "--box", "0,0,1,1", "--auto-box"],
            "shirtsim: similar: argument --auto-box: not allowed with argument --box (see --help)",
        ),
    ],
)
def test_box_flags_that_cannot_work_exit_2_with_one_line(fake_indexed, cli, args, message):
    code, out, err = cli("similar", *args)
    assert (code, out, err) == (2, "", message + "\n")


def test_commands_that_write_never_replace_work_unless_forced(cli, tmp_path):
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "1001.jpg").write_bytes(b"the store's own photo")
    (shop / "labels.csv").write_text("id,colour\n1001,red\n")
    code, out, err = cli("make-demo-catalog", shop, "--count", "2")
    assert (code, out) == (2, "") and err == (
        f"shirtsim: {shop} is not empty: pass --force to write into it (files of the same name are replaced).\n"
    )
    assert (shop / "1001.jpg").read_bytes() == b"the store's own photo"
    assert (shop / "labels.csv").read_text() == "id,colour\n1001,red\n"
    code, out, _ = cli("make-demo-catalog", shop, "--count", "2", "--force")
    assert code == 0 and (shop / "1002.jpg").is_file()
    code, _, err = cli("download-seed-shirts", shop, "--url", "http://127.0.0.1:9/shirts.zip")
    assert code == 2 and err.startswith(f"shirtsim: {shop} is not empty: pass --force")
    basis = tmp_path / "basis.npy"
    basis.write_bytes(b"an earlier fit")
    for command in ("fit-texture-basis", "fit-colour-directions"):
        code, _, err = cli(command, "--out", basis)
        assert (code, err) == (2, f"shirtsim: {basis} exists: pass --force to replace it.\n"), command
    code, _, err = cli("fit-texture-basis")  # the shipped file, for the packaged weights
    assert code == 2 and err.endswith(
        "texture_basis.npy exists (the basis shipped for the packaged weights): pass --force to replace it.\n"
    )
    assert basis.read_bytes() == b"an earlier fit"


def test_outside_text_reaches_the_terminal_on_one_line_with_control_characters_escaped(fake_model, cli, small_catalog):
    (small_catalog / "labels.csv").write_text(
        'id,"col\nour\x1b[31m",pattern\n1001,"re\nd",x\n1002,blue,y\n', encoding="utf-8"
    )
    code, _, err = cli("similar", "1001", "--catalog", small_catalog, "--filter", "sleeve=long")
    assert code == 2 and err.count("\n") == 1 and "\x1b" not in err
    assert err == "shirtsim: --filter: no label column 'sleeve'; labels.csv has 'col\\nour\\x1b[31m', 'pattern'.\n"
    code, out, err = cli("evaluate", "--catalog", small_catalog, "--columns", "col\nour\x1b[31m")
    assert code == 0 and "\x1b" not in out and "col%0Aour%1B[31m" in out


def test_a_filter_no_shirt_passes_says_so_and_lists_nothing(fake_model, cli, small_catalog):
    (small_catalog / "labels.csv").write_text("id,colour\n1001,red\n1002,blue\n", encoding="utf-8")
    code, out, err = cli("similar", "1001", "--catalog", small_catalog, "--filter", "colour=green", "--json")
    assert (code, out) == (0, "[]\n")
    assert err == "note: no shirt passes the rules (--filter colour=green): the list is empty.\n"


def test_a_cache_folder_inside_the_catalog_is_refused(cli, small_catalog, monkeypatch):
    monkeypatch.setenv("SHIRTSIM_CACHE_DIR", str(small_catalog / "cache"))
    code, _, err = cli("similar", "1001", "--catalog", small_catalog)
    assert code == 2 and err == (
        f"shirtsim: The cache folder {small_catalog / 'cache'} is inside the catalog {small_catalog}: shirtsim "
        "never writes into a catalog. Point SHIRTSIM_CACHE_DIR at a folder outside it.\n"
    )
    assert not (small_catalog / "cache").exists()
