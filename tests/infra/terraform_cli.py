"""Run the terraform CLI offline: provider from a local filesystem mirror, in a throwaway copy of the tree.

Used by the tests in tests/infra/test_terraform*.py and by ``make tf-validate``
(``python -m tests.infra.terraform_cli validate``). Nothing here touches the checkout: roots are copied
to a temporary directory (``.terraform/``, lock files and state land there), and a CLI configuration
written next to them installs ``hashicorp/aws`` only from the mirror, never from the network.

The mirror is found at run time: ``$TF_PROVIDER_MIRROR`` if set, else ``.tools/tf-mirror`` (``make tf-mirror``),
the usual plugin folders and any ``/*/tf-plugins`` or ``/*/*/tf-plugins`` folder that holds ``hashicorp/aws``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
FIXTURES_DIR = REPO / "tests" / "infra" / "fixtures"
# Copied into the workspace with these paths relative to the repository, so module sources resolve.
COPIED = (TERRAFORM_DIR, FIXTURES_DIR)
_IGNORED = shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate", "*.tfstate.*", "*.tfplan")

# Provider source address as the CLI configuration's include/exclude syntax requires it.
_AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
_ALL_DIRECT = "registry.terraform.io/*/*"


class TerraformUnavailable(RuntimeError):
    """terraform or the provider mirror is missing; the message says which and how to provide it."""


def terraform_binary() -> str:
    path = shutil.which("terraform")
    if path is None:
        raise TerraformUnavailable(
            "terraform is not installed (it is on the CI image; see terraform/README.md)"
        )
    return path


def _has_aws_provider(folder: Path) -> bool:
    return any(folder.glob("*/hashicorp/aws/*/*_*"))


def find_provider_mirror() -> Path:
    """A folder laid out as <host>/hashicorp/aws/<version>/<os>_<arch>/ (Terraform's unpacked mirror layout)."""
    home = Path.home()
    candidates: list[str] = []
    if os.environ.get("TF_PROVIDER_MIRROR"):
        candidates.append(os.environ["TF_PROVIDER_MIRROR"])
    candidates += [
        str(REPO / ".tools" / "tf-mirror"),
        str(home / ".terraform.d" / "plugins"),
        str(home / ".local" / "share" / "terraform" / "plugins"),
        "/usr/local/share/terraform/plugins",
        "/usr/share/terraform/plugins",
        *sorted(glob.glob("/*/tf-plugins")),
        *sorted(glob.glob("/*/*/tf-plugins")),
    ]
    for candidate in candidates:
        folder = Path(candidate)
        if folder.is_dir() and _has_aws_provider(folder):
            return folder
    raise TerraformUnavailable(
        "no local mirror of the hashicorp/aws provider found (run `make tf-mirror`, or set TF_PROVIDER_MIRROR "
        "to a folder laid out as <host>/hashicorp/aws/<version>/<os>_<arch>/); these checks run offline only"
    )


def write_cli_config(directory: Path, mirror: Path | None) -> Path:
    """A CLI configuration that installs hashicorp/aws from ``mirror`` and nothing from the network.

    Without a mirror it only sets a plugin cache, and providers come from their registry as usual.
    """
    cache = directory / "plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    text = f"plugin_cache_dir = {json.dumps(str(cache))}\n"
    if mirror is not None:
        text += (
            "provider_installation {\n"
            "  filesystem_mirror {\n"
            f"    path    = {json.dumps(str(mirror))}\n"
            f"    include = [{json.dumps(_AWS_PROVIDER)}]\n"
            "  }\n"
            "  direct {\n"
            f"    exclude = [{json.dumps(_ALL_DIRECT)}]\n"
            "  }\n"
            "}\n"
        )
    config = directory / "terraform.tfrc"
    config.write_text(text, encoding="utf-8")
    return config


def terraform_roots() -> list[str]:
    """Every folder holding .tf files under terraform/ and tests/infra/fixtures/, relative to the repo."""
    roots: set[str] = set()
    for base in COPIED:
        for tf in base.rglob("*.tf"):
            if ".terraform" not in tf.parts:
                roots.add(tf.parent.relative_to(REPO).as_posix())
    return sorted(roots)


@dataclass(frozen=True)
class Result:
    root: str
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return (self.stdout + "\n" + self.stderr).strip()


class TerraformError(RuntimeError):
    def __init__(self, result: Result) -> None:
        # The end of the output holds the error; a plan can be thousands of lines long.
        tail = result.output[-6000:]
        super().__init__(
            f"terraform {' '.join(result.args)} in {result.root} exited {result.returncode}:\n{tail}"
        )
        self.result = result


class Workspace:
    """A private copy of terraform/ and the test fixtures, with an offline CLI configuration.

    ``offline=False`` falls back to the provider registry when no local mirror exists (a CI runner with
    network access); the tests always run offline.
    """

    def __init__(self, directory: Path, *, offline: bool = True) -> None:
        self.terraform = terraform_binary()
        try:
            self.mirror: Path | None = find_provider_mirror()
        except TerraformUnavailable:
            if offline:
                raise
            self.mirror = None
        self.directory = directory
        self.tree = directory / "tree"
        for source in COPIED:
            shutil.copytree(source, self.tree / source.relative_to(REPO), ignore=_IGNORED, dirs_exist_ok=True)
        self.cli_config = write_cli_config(directory, self.mirror)
        self._init_locks: dict[str, threading.Lock] = {}
        self._initialised: set[str] = set()
        self._guard = threading.Lock()

    def path(self, root: str) -> Path:
        return self.tree / root

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        # Start from a clean slate: no credentials, endpoints or log settings leak in from the caller.
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
        env = {key: os.environ[key] for key in keep if key in os.environ}
        env.update(
            {
                "TF_CLI_CONFIG_FILE": str(self.cli_config),
                "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0",
                "CHECKPOINT_DISABLE": "1",  # no version check over the network
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        env.update(extra or {})
        return env

    def run(
        self,
        root: str,
        *args: str,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        timeout: float = 900,
    ) -> Result:
        proc = subprocess.run(
            [self.terraform, *args],
            cwd=self.path(root),
            env=self.environment(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = Result(root, tuple(args), proc.returncode, proc.stdout, proc.stderr)
        if check and result.returncode != 0:
            raise TerraformError(result)
        return result

    def init(self, root: str) -> None:
        """``terraform init -backend=false`` once per root (thread-safe)."""
        with self._guard:
            lock = self._init_locks.setdefault(root, threading.Lock())
        with lock:
            if root not in self._initialised:
                self.run(root, "init", "-backend=false", "-input=false", "-no-color")
                self._initialised.add(root)

    def validate(self, root: str) -> dict:
        """Init, then ``terraform validate -json``; returns the parsed report (``valid``, ``diagnostics``)."""
        self.init(root)
        result = self.run(root, "validate", "-json", "-no-color", check=False)
        try:
            report = json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            raise TerraformError(result) from exc
        return dict(report)

    def validate_all(self, roots: Iterable[str], threads: int = 2) -> dict[str, dict]:
        roots = list(roots)
        # Terraform's plugin cache is not safe for concurrent writers: fill it with one init first.
        if roots:
            self.init(roots[0])
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return dict(zip(roots, pool.map(self.validate, roots), strict=True))


def fmt_check(paths: Sequence[Path] = COPIED) -> Result:
    """``terraform fmt -check -recursive -diff`` over the real files (fmt needs no providers)."""
    terraform = terraform_binary()
    proc = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", "-no-color", *map(str, paths)],
        cwd=REPO,
        env={**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Result(".", ("fmt", "-check"), proc.returncode, proc.stdout, proc.stderr)


def describe_diagnostics(report: Mapping) -> str:
    lines = []
    for diag in report.get("diagnostics", []):
        where = diag.get("range", {})
        place = f"{where.get('filename', '?')}:{where.get('start', {}).get('line', '?')}"
        lines.append(f"{diag.get('severity')}: {place}: {diag.get('summary')}: {diag.get('detail', '')}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.infra.terraform_cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fmt", help="terraform fmt -check over terraform/ and the test fixtures")
    validate = sub.add_parser("validate", help="terraform validate every root, offline, in a temporary copy")
    validate.add_argument("roots", nargs="*", help="roots relative to the repository (default: all)")
    validate.add_argument("--threads", type=int, default=2)
    validate.add_argument(
        "--offline",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="insist on the local provider mirror (default: use it when present, else the registry)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "fmt":
            result = fmt_check()
            print(result.output or "terraform fmt: every file is formatted")
            return 0 if result.returncode == 0 else 1
        with tempfile.TemporaryDirectory(prefix="tf-validate-") as tmp:
            workspace = Workspace(Path(tmp), offline=args.offline)
            if workspace.mirror is None:
                print("notice: no local provider mirror; terraform installs providers from their registry")
            reports = workspace.validate_all(args.roots or terraform_roots(), threads=args.threads)
    except (TerraformUnavailable, TerraformError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for root, report in reports.items():
        ok = report.get("valid") and not report.get("warning_count")
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {root}")
        if not ok:
            print(describe_diagnostics(report))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
