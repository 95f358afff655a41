"""Every place outside project.yaml that holds one of its names: one line per place.

A place is a file (``{env}`` in the path repeats it for each environment), a regular expression whose
group named ``value`` holds the name, and the text that group must hold, written with the variables of
``ProjectConfig.variables()``. `make init` rewrites each group; the test in tests/unit/init fails when a
group holds something else (drift) or a pattern matches nothing (the file changed shape). Patterns run in
MULTILINE mode and replace every match; ``count`` pins the number of matches where that matters.

To add a place: add one ``Place(...)`` line below, run ``make init-check``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    path: str
    pattern: str
    value: str
    count: int | None = None
    required: bool = True  # False: a glob's files may hold none (the glob must still match a file)


def word(path: str, name: str, required: bool = True) -> Place:
    """Every whole-word occurrence of ``name``'s current value in ``path`` (a file or a glob).

    Letters, digits and ``_`` continue a word; ``-``, ``.``, ``/`` and ``:`` end it, so ``penguins`` is
    found in ``penguins-kserve`` and ``penguins.example.com`` but not in ``palmerpenguins``. Use it where a
    name recurs in many shapes (manifests); prefer an anchored pattern where the name sits under one key.
    """
    pattern = rf"(?<![A-Za-z0-9_])(?P<value><<{name}>>)(?![A-Za-z0-9_])"
    return Place(path, pattern, "{" + name + "}", required=required)


def words(path: str, *names: str) -> tuple[Place, ...]:
    """``word`` for several names, longest-holding first (an image holds the repository and project);
    each may be absent, since a folder of manifests need not hold every name."""
    return tuple(word(path, name, required=False) for name in names)


# The order names are looked for in free text: a value that contains another goes first.
ALL_NAMES = ("image", "github_repository", "aws_account_id", "aws_region", "project", "model_name")

# Folders that exist once per environment. Adding an environment copies the first one's folders (with
# the name replaced inside); removing one deletes them. terraform/envs/{env} holds only terraform.tfvars
# and backend.hcl; the root module they configure, terraform/service, is shared by every environment.
ENVIRONMENT_DIRS: tuple[str, ...] = ("k8s/overlays/{env}", "kserve/overlays/{env}", "terraform/envs/{env}")

# Never walked when copying environment folders or matching globs.
SKIP_DIRS = frozenset({".terraform", "__pycache__", ".pytest_cache", "node_modules", ".git"})

# a workflow_dispatch input named environment, and the list of its choices
_ENV_CHOICE = r"^[ \t]+environment:\n(?:[ \t]+\w+:.*\n){0,4}?[ \t]+options: (?P<value>\[.*\])$"

# a region name, and the availability zones named after it ("eu-west-1a"), whatever region it is
_REGION = (
    r"(?<![A-Za-z0-9_-])(?P<value>(?:us-gov|af|ap|ca|cn|eu|il|me|mx|sa|us)"
    r"-(?:central|north|south|east|west|northeast|northwest|southeast|southwest)-\d{1,2})(?=[a-z]?(?![A-Za-z0-9_]))"
)


def tfvar(path: str, key: str, value: str) -> Place:
    """``key = "text"`` or ``key = [list]`` at the start of a line of a .tfvars or .hcl file."""
    held = r"\[[^\]\n]*\]" if value.startswith("{environments") else r'"[^"\n]*"'
    return Place(path, rf"^{key}[ \t]*=[ \t]*(?P<value>{held})", value if held[0] == "\\" else f'"{value}"')


# a test's assertion on the artifact's name
_META_NAME = r'meta\["name"\] == "(?P<value>[^"]+)"'

PLACES: tuple[Place, ...] = (
    # Python distribution
    Place("pyproject.toml", r'^\[project\]\nname = "(?P<value>[^"]*)"', "{project}", count=1),
    # promotion accepts exactly the configured environments
    Place("promotion/base.py", r"^ENVIRONMENTS = (?P<value>\([^)]*\))", "{environments_py}", count=1),
    word("serving/protocols/kserve_v2.py", "project"),  # the server name V2 metadata reports
    # the training pipeline names its artifact
    Place(
        "params.yaml",
        r"^model:\n(?:[ \t]+.*\n|#.*\n)*?[ \t]+name: (?P<value>[^\s#]+)",
        "{model_name}",
        count=1,
    ),
    word("training/sources.py", "project"),  # the user agent of downloads
    word("promotion/refs.py", "image"),
    Place("promotion/kserve.py", r'^ISVC_NAME = "(?P<value>[^"]*)"', "{model_name}", count=1),
    word("promotion/aws.py", "project"),  # the user agent AWS logs show
    # Kubernetes and KServe manifests: names, namespaces, labels, image, IAM role, bucket, region
    *words("k8s/**/*.yaml", *ALL_NAMES),
    *words("kserve/**/*.yaml", *ALL_NAMES),
    # the image's OCI labels
    *words("Dockerfile", "github_repository", "project"),
    # workflow inputs and matrices that list the environments
    Place(".github/workflows/promote.yml", _ENV_CHOICE, "{environments_flow}", count=1),
    Place(".github/workflows/infra.yml", _ENV_CHOICE, "{environments_flow}", count=1),
    Place(
        ".github/workflows/infra.yml",
        r"^[ \t]+environment: (?P<value>\[.*\])$",
        "{environments_flow}",
        count=1,
    ),
    # CI helpers: the user agent of GitHub API calls, the markers that find the bot's own PR comments
    word("cicd/github.py", "project"),
    word("cicd/report.py", "project"),
    word("cicd/tfplan.py", "project"),
    # Terraform: each root's tfvars and backend config, and the modules' examples in descriptions
    tfvar("terraform/bootstrap/terraform.tfvars", "project", "{project}"),
    tfvar("terraform/bootstrap/terraform.tfvars", "aws_account_id", "{aws_account_id}"),
    tfvar("terraform/account/terraform.tfvars", "project", "{project}"),
    tfvar("terraform/account/terraform.tfvars", "model_name", "{model_name}"),
    tfvar("terraform/account/terraform.tfvars", "github_repository", "{github_repository}"),
    tfvar("terraform/account/terraform.tfvars", "aws_account_id", "{aws_account_id}"),
    tfvar("terraform/account/terraform.tfvars", "environments", "{environments_json}"),
    tfvar("terraform/envs/{env}/terraform.tfvars", "project", "{project}"),
    tfvar("terraform/envs/{env}/terraform.tfvars", "model_name", "{model_name}"),
    tfvar("terraform/envs/{env}/terraform.tfvars", "environment", "{env}"),
    tfvar("terraform/envs/{env}/terraform.tfvars", "aws_account_id", "{aws_account_id}"),
    Place("terraform/envs/{env}/backend.hcl", r'^key[ \t]*=[ \t]*"envs/(?P<value>[^/"]+)/', "{env}", count=1),
    Place("terraform/**/*.tfvars", _REGION, "{aws_region}"),
    Place("terraform/**/*.hcl", _REGION, "{aws_region}"),
    *words("terraform/**/*.tfvars", "aws_account_id"),  # inside ARNs
    *words("terraform/**/*.hcl", "aws_account_id", "project"),  # state bucket and lock table names
    *words("terraform/**/*.tf", "image", "github_repository", "aws_account_id", "aws_region", "project"),
    *words("terraform/**/*.md", "image", "github_repository", "aws_account_id", "aws_region", "project"),
    *words("k8s/README.md", "image", "github_repository", "aws_account_id", "project"),
    # README badges and links
    *words("README.md", "github_repository", "image", "project"),
    # examples in the docs (not model_name: the docs also speak of the penguins data set)
    *words("docs/*.md", "image", "github_repository", "aws_account_id", "project"),
    # tests that assert the deployed names (the rest read project.yaml or use made-up names)
    *(
        place
        for path in (
            "infra/test_k8s_manifests.py",
            "infra/test_kserve_manifests.py",
            "unit/promotion/test_k8s_render.py",
            "unit/promotion/test_k8s_promotion.py",
            "unit/promotion/test_kserve_promotion.py",
            "unit/serving/test_serving_app.py",
        )
        for place in words(f"tests/{path}", "image", "model_name")
    ),
    *words("tests/unit/promotion/test_sagemaker_endpoint.py", "image", "project"),
    *words("tests/integration/test_sagemaker_moto.py", "image", "project"),
    word("tests/contract/payloads/kserve_v2/server_metadata.json", "project", required=False),
    Place("tests/integration/test_pipeline.py", _META_NAME, "{model_name}", required=False),
    Place(
        "tests/integration/test_sagemaker_container_contract.py", _META_NAME, "{model_name}", required=False
    ),
    Place("tests/unit/training/test_stage_train.py", _META_NAME, "{model_name}", required=False),
    Place(
        "tests/unit/promotion/test_sagemaker_training.py",
        r"\[\"model\.name\"\] == '\"(?P<value>[^\"]+)\"'",
        "{model_name}",
        required=False,
    ),
    # the npm project that pins the linters
    word("tools/package.json", "project"),
    word("tools/package-lock.json", "project"),
)
