"""Tools for forks of this template: `make init` (rename everything from project.yaml) and the docs build."""
