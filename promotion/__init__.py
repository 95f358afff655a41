"""Promotion: take one image digest to one target and environment, verify it, roll back on failure.

One module per target (k8s, kserve, sagemaker_endpoint, asg); ``python -m promotion --help``.
"""
