"""The fuzz harness itself (scripts/fuzz.sh): a target with a planted bug
must make it fail and leave the input that triggers it, for each kind of
finding the strict build promises to stop on (undefined behaviour, a leak, a
violated property); the same target without a bug must pass. Without this a
fuzz run that "found nothing" would prove nothing."""
import os
import signal
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


def fuzz(tmp_path, plant, seconds):
    env = dict(os.environ, FUZZ_TARGETS="selftest/fuzz_planted", FUZZ_OUT=str(tmp_path / "fz"))
    env.pop("SK_FUZZ_PLANT", None)
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    if plant:
        env["SK_FUZZ_PLANT"] = plant
    p = subprocess.Popen([os.path.join(ROOT, "scripts/fuzz.sh"), str(seconds)], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=240)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    return p.returncode, out, tmp_path / "fz" / "artifacts"


@pytest.mark.parametrize("plant,report", [
    ("ub", "is outside the range of representable values"),
    ("leak", "LeakSanitizer: detected memory leaks"),
    ("abort", "deadly signal"),
])
def test_a_planted_bug_fails_the_run_and_saves_its_input(tmp_path, plant, report):
    rc, out, artifacts = fuzz(tmp_path, plant, 60)
    assert rc == 1, out
    assert "fuzz_planted: FINDING" in out, out
    saved = [a for a in os.listdir(artifacts) if a.startswith("fuzz_planted-")]
    assert len(saved) == 1, (saved, out)
    with open(artifacts / saved[0], "rb") as f:
        assert f.read(1) == b"!"  # the input that reaches the bug
    log = (tmp_path / "fz" / "logs" / "fuzz_planted.log").read_text(errors="replace")
    assert report in log, log
    # Replaying the saved input alone reproduces the finding.
    env = dict(os.environ, SK_FUZZ_PLANT=plant)
    r = subprocess.run([str(tmp_path / "fz" / "selftest" / "fuzz_planted"),
                        str(artifacts / saved[0])], env=env, capture_output=True, timeout=60)
    assert r.returncode != 0


def test_a_clean_target_passes(tmp_path):
    rc, out, artifacts = fuzz(tmp_path, None, 2)
    assert rc == 0, out
    assert "fuzz_planted:" in out and "no finding" in out, out
    assert os.listdir(artifacts) == []
