"""environment.yml and pyproject.toml must ask for the same packages."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", requirement.strip()).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    every = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    return dict(_split(r) for r in every)


def conda_requirements() -> dict[str, str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = lines.index("dependencies:")
    found = {}
    for line in lines[start + 1:]:
        item = re.match(r"^  - (\S.*)$", line)  # top-level items only, not the pip: list
        if item and not item.group(1).startswith(("python", "pip")):
            name, spec = _split(item.group(1))
            found[CONDA_NAMES.get(name, name)] = spec
    return found


def test_environment_yml_and_pyproject_agree():
    assert conda_requirements() == pyproject_requirements()


def test_torch_is_pinned_to_the_local_cpu_wheel():
    assert pyproject_requirements()["torch"] == "==2.13.0"
    assert "torch==2.13.0" in (ROOT / "setup.sh").read_text()


def test_readme_commands_exist():
    readme = (ROOT / "README.md").read_text()
    for command in ("./setup.sh", "./test.sh"):
        assert command in readme
        assert (ROOT / command).stat().st_mode & 0o111, f"{command} is not executable"
    assert "./test.sh" in (ROOT / ".ci" / "run").read_text()


def test_readme_names_files_that_exist():
    """It named benchmarks/results/widget_times.json, which no run writes. Paths
    under tests/output/ are what a test run writes, so they are left out."""
    readme = (ROOT / "README.md").read_text()
    named = set(re.findall(r"\b((?:benchmarks|scripts|docs|tests|course_utils|solutions|notebooks)"
                           r"/[\w./-]*\.(?:py|json|txt|md|ipynb|sh))\b", readme))
    assert named, "no file paths found in README.md"
    missing = sorted(p for p in named if not p.startswith("tests/output/") and "*" not in p
                     and not (ROOT / p).exists())
    assert not missing, f"README.md names files that do not exist: {missing}"
