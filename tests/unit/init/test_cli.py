"""``python -m templatekit``: flags, prompts on a terminal, dry runs and refusals, on a synthetic tree."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from templatekit import cli
from templatekit.config import load

from .test_rewrite import OLD, tree  # noqa: F401 - the fixture is reused here


class Terminal(io.StringIO):
    """Typed answers, seen by the CLI as a terminal."""

    def isatty(self) -> bool:
        return True


def run(root: Path, *argv: str, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--root", str(root), *argv], stdin=stdin or io.StringIO(), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def repo(tree: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    """The synthetic tree with the CLI pointed at its own small table of places."""
    from templatekit import rewrite

    from .test_rewrite import ENV_DIRS, PLACES

    monkeypatch.setattr(rewrite.plan, "__defaults__", (PLACES, ENV_DIRS))
    return tree


def test_flags_rename_without_prompting(repo: Path) -> None:
    code, out, err = run(repo, "init", "--project", "churn", "--aws-region", "us-east-2")
    assert (code, err) == (0, "")
    assert "file(s) changed" in out
    config = load(repo)
    assert (config.project, config.aws_region, config.model_name) == ("churn", "us-east-2", "penguins")
    assert 'name = "churn"' in (repo / "app.toml").read_text()
    code, out, _ = run(repo, "init", "--project", "churn")
    assert code == 0 and out.startswith("Nothing to change")


def test_dry_run_prints_a_diff_and_writes_nothing(repo: Path) -> None:
    before = (repo / "app.toml").read_text()
    code, out, _ = run(repo, "init", "--dry-run", "--model-name", "churn-model")
    assert code == 0
    assert "+model: churn-model" in out and "nothing was written" in out
    assert (repo / "app.toml").read_text() == before
    assert load(repo) == OLD


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        (
            "--aws-account-id",
            "12345",
            "--aws-account-id: aws.account_id: '12345' is invalid: must be exactly 12 digits",
        ),
        ("--aws-region", "europe-1", "--aws-region: aws.region: 'europe-1' is invalid"),
        ("--project", "My_Project", "--project: project: 'My_Project' is invalid: must be a DNS label"),
        ("--github-repository", "just-a-name", "--github-repository: github_repository: 'just-a-name'"),
        ("--image", "ghcr.io/x/y:latest", "--image: image: 'ghcr.io/x/y:latest' is invalid"),
        ("--environments", "staging,Prod", "--environments: environments[1]: 'Prod' is invalid"),
    ],
)
def test_invalid_flag_is_refused_naming_the_field(repo: Path, flag: str, value: str, message: str) -> None:
    before = (repo / "project.yaml").read_text()
    code, _, err = run(repo, "init", "--project", "churn", flag, value)
    assert code == 2
    assert message in err and "Nothing was written" in err
    assert (repo / "project.yaml").read_text() == before


def test_prompts_on_a_terminal_and_asks_again_after_a_bad_answer(repo: Path) -> None:
    answers = Terminal(
        "\n".join(
            [
                "churn",  # project
                "",  # model name: keep penguins
                "octo/churn",  # github repository
                "",  # image: the suggestion follows the repository
                "1234",  # account id: refused, asked again
                "210987654321",
                "",  # region: keep
                "",  # environments: keep
                "y",  # confirm
            ]
        )
        + "\n"
    )
    code, out, err = run(repo, "init", stdin=answers)
    assert (code, err) == (0, ""), out
    assert "aws.account_id: '1234' is invalid" in out
    assert "[ghcr.io/octo/churn]" in out  # suggested image
    config = load(repo)
    assert config.image == "ghcr.io/octo/churn"
    assert config.aws_account_id == "210987654321"
    assert config.model_name == "penguins"


def test_declining_the_confirmation_writes_nothing(repo: Path) -> None:
    code, out, _ = run(repo, "init", "--project", "churn", stdin=Terminal("\n" * 6 + "n\n"))
    assert code == 1 and "Nothing was written" in out
    assert load(repo) == OLD


def test_no_input_never_prompts(repo: Path) -> None:
    code, out, _ = run(repo, "init", "--no-input", "--project", "churn", stdin=Terminal(""))
    assert code == 0 and "[" not in out
    assert load(repo).project == "churn"


def test_check_reports_drift(repo: Path) -> None:
    assert run(repo, "check")[0] == 0
    (repo / "infra.tfvars").write_text('account_id = "999999999999"\nregion = "eu-west-1"\n')
    code, _, err = run(repo, "check")
    assert code == 1
    assert "drift: infra.tfvars: holds '999999999999' where project.yaml gives '123456789012'" in err


def test_a_place_that_no_longer_matches_is_an_error_not_a_crash(repo: Path) -> None:
    (repo / "app.toml").write_text("[tool]\n")
    code, _, err = run(repo, "init", "--project", "churn")
    assert code == 1
    assert "app.toml: the pattern for {project} matched nothing" in err and "Nothing was written" in err


def test_a_ghcr_image_follows_a_renamed_repository(repo: Path) -> None:
    assert run(repo, "init", "--github-repository", "Octo/Churn")[0] == 0
    assert load(repo).image == "ghcr.io/octo/churn"  # lower case: registries refuse capitals
    assert run(repo, "init", "--github-repository", "octo/other", "--image", "quay.io/octo/x")[0] == 0
    assert load(repo).image == "quay.io/octo/x"


def test_changing_environments_lists_what_is_left_to_do(repo: Path) -> None:
    code, out, _ = run(repo, "init", "--environments", "dev,staging,production")
    assert code == 0
    assert "environments.dev in sagemaker/config.yaml" in out and "'infra-dev'" in out
    assert (repo / "deploy" / "dev" / "values.yaml").is_file()
