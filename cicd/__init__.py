"""The logic GitHub Actions workflows call, kept in code that tests exercise locally.

Each module is a thin ``python -m cicd.<module>`` command over pure functions:

- ``gha``: step outputs, job summaries and workflow commands (notices), written safely.
- ``github``: a small GitHub REST client with an injectable transport (fakes in tests).
- ``cloud``: which cloud settings a job needs and whether this repository configured them.
- ``report``: the pull-request metrics/plots report, rendered to Markdown with deltas vs the base.
- ``plots``: DVC plot definitions rendered to PNG images with matplotlib.
- ``comments``: one pull-request comment per marker, created once and updated in place.
- ``pr_comment``: the trusted ``workflow_run`` job that turns a CI run's report artifact into that comment.
- ``deployments``: GitHub Deployments records; the staging gate and rollback lookups.
- ``images``: image names and commit -> digest resolution against the registry.
- ``promote``: the promotion workflow's prepare / record / summary steps.
- ``publish_model``: copy the model artifact to S3 under its digest.
- ``tfplan``: Terraform plan comments and the checks before applying a saved plan.
- ``expressions`` and ``simulate``: evaluate workflow ``if:`` conditions to show what a fork would run.
"""
