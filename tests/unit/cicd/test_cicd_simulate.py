"""The fork simulation finds unguarded cloud steps and silent skips in synthetic workflows."""

from __future__ import annotations

from cicd import simulate

GUARDED = {
    "on": {"push": {"branches": ["main"]}},
    "jobs": {
        "build": {
            "steps": [
                {
                    "id": "aws",
                    "env": {"MODEL_BUCKET": "${{ vars.MODEL_BUCKET }}"},
                    "run": "python -m cicd.cloud --purpose publish --require MODEL_BUCKET",
                },
                {"if": "steps.aws.outputs.configured == 'true'", "run": "make ci-publish-model"},
            ]
        }
    },
}
PUSH = simulate.Scenario("push", "push", "refs/heads/main")


def test_a_guarded_cloud_step_is_skipped_with_a_notice() -> None:
    runs = simulate.simulate(GUARDED, "w.yml", PUSH)
    (run,) = runs
    assert run.ran and [s.ran for s in run.steps] == [True, False]
    assert run.steps[1].cloud
    assert run.steps[0].notices[0].startswith("::notice")
    assert list(simulate.problems(runs)) == []


def test_the_same_workflow_runs_the_cloud_step_when_configured() -> None:
    scenario = simulate.Scenario("push", "push", "refs/heads/main", vars={"MODEL_BUCKET": "bucket-1"})
    (run,) = simulate.simulate(GUARDED, "w.yml", scenario)
    assert [s.ran for s in run.steps] == [True, True]


def test_an_unguarded_cloud_step_is_a_problem() -> None:
    workflow = {
        "on": ["push"],
        "jobs": {"deploy": {"steps": [{"uses": "aws-actions/configure-aws-credentials@" + "0" * 40}]}},
    }
    problems = list(simulate.problems(simulate.simulate(workflow, "w.yml", PUSH)))
    assert problems == [
        "w.yml / deploy: cloud step 'aws-actions/configure-aws-credentials@"
        + "0" * 40
        + "' would run without cloud settings"
    ]


def test_a_silent_skip_is_a_problem() -> None:
    workflow = {
        "on": ["push"],
        "jobs": {"deploy": {"steps": [{"if": "vars.ROLE != ''", "run": "make tf-apply"}]}},
    }
    problems = list(simulate.problems(simulate.simulate(workflow, "w.yml", PUSH)))
    assert problems == ["w.yml / deploy: cloud steps are skipped without a notice saying why"]


def test_needs_and_triggers_are_followed() -> None:
    workflow = {
        "on": {"pull_request": {"paths": ["terraform/**"]}},
        "jobs": {"a": {"if": "github.event_name == 'push'", "steps": []}, "b": {"needs": "a", "steps": []}},
    }
    pr = simulate.Scenario("pr", "pull_request", "refs/pull/1/merge", changed_paths=("terraform/main.tf",))
    runs = simulate.simulate(workflow, "w.yml", pr)
    assert [(r.job, r.ran) for r in runs] == [("a", False), ("b", False)]
    docs_only = simulate.Scenario("pr", "pull_request", "refs/pull/1/merge", changed_paths=("README.md",))
    assert simulate.simulate(workflow, "w.yml", docs_only) == []
